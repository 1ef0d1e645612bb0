"""The mesokg vocabulary as a closed rdflib namespace.

Generated from ontology/mesokg.ttl and ontology/shapes by `python -m mesokg._gen_namespace`: do not edit.
"""

from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef

BASE = "https://w3id.org/mesokg/"  # the base IRI of every mesokg term and concept


class MESOKG(DefinedNamespace):
    _fail = True
    _NS = Namespace(BASE)

    AdverseEffectAssertion: URIRef
    AgeGroup: URIRef
    AllergyRecord: URIRef
    AmideLocalAnaesthetic: URIRef
    AminoAcid: URIRef
    AnaestheticContainingTreatment: URIRef
    AntiInflammatoryAgent: URIRef
    Anticoagulant: URIRef
    Antifibrinolytic: URIRef
    Antioxidant: URIRef
    AntiplateletAgent: URIRef
    Attribution: URIRef
    AutologousBloodProduct: URIRef
    CiomsFrequencyBand: URIRef
    ClinicalFinding: URIRef
    ClinicalUseAssertion: URIRef
    CombinedHormonalContraceptive: URIRef
    Condition: URIRef
    Contraindication: URIRef
    ContraindicationConstraintComponent: URIRef
    ContraindicationException: URIRef
    ContraindicationRule: URIRef
    ContraindicationStrength: URIRef
    Corticosteroid: URIRef
    DepigmentingAgent: URIRef
    DepigmentingTreatment: URIRef
    Disorder: URIRef
    EfficacyStatus: URIRef
    Enzyme: URIRef
    EsterLocalAnaesthetic: URIRef
    EvidenceLevel: URIRef
    FiveAlphaReductaseInhibitor: URIRef
    FrequencyBand: URIRef
    Guideline: URIRef
    HairGrowthAgent: URIRef
    HairGrowthTreatment: URIRef
    HolderStatement: URIRef
    Hypersensitivity: URIRef
    Immunosuppressant: URIRef
    Indication: URIRef
    JournalArticle: URIRef
    LipolyticAgent: URIRef
    LipolyticTreatment: URIRef
    LocalAnaesthetic: URIRef
    MedicationTherapy: URIRef
    MedicationUse: URIRef
    Methylxanthine: URIRef
    Mineral: URIRef
    MuscleRelaxant: URIRef
    NonSteroidalAntiInflammatoryDrug: URIRef
    NutritiveTreatment: URIRef
    Patient: URIRef
    PhysiologicalState: URIRef
    PregnancyContraindicatedTreatment: URIRef
    Procedure: URIRef
    ProductLabel: URIRef
    QualifiedIngredient: URIRef
    QualitativeFrequency: URIRef
    RegenerativeAgent: URIRef
    RegulatoryDocument: URIRef
    RegulatoryStatus: URIRef
    RegulatoryStatusAssertion: URIRef
    SessionSchedule: URIRef
    SessionStatus: URIRef
    Sex: URIRef
    SkinConditioningAgent: URIRef
    Source: URIRef
    StrengthBasis: URIRef
    Substance: URIRef
    Treatment: URIRef
    TreatmentSession: URIRef
    ValueSetMember: URIRef
    VasoactiveAgent: URIRef
    Vasodilator: URIRef
    Vitamin: URIRef
    absolute: URIRef
    allergen: URIRef
    amountText: URIRef
    attribution: URIRef
    birthDate: URIRef
    bodySite: URIRef
    builtFrom: URIRef
    circumstance: URIRef
    code: URIRef
    concentrationUnit: URIRef
    concentrationValue: URIRef
    condition: URIRef
    contraindicatedIn: URIRef
    contraindicationStrength: URIRef
    curationNote: URIRef
    dailyDose: URIRef
    doi: URIRef
    effect: URIRef
    efficacyStatus: URIRef
    evidenceLevel: URIRef
    exceptionTo: URIRef
    female: URIRef
    frequency: URIRef
    hasAdverseEffect: URIRef
    hasAllergy: URIRef
    hasCondition: URIRef
    hasIngredient: URIRef
    hasQualifiedIngredient: URIRef
    hasSchedule: URIRef
    hasSession: URIRef
    indicatedFor: URIRef
    inferred: URIRef
    ingredientOf: URIRef
    ingredientSubstance: URIRef
    intervalDays: URIRef
    loadedFrom: URIRef
    male: URIRef
    maximumAge: URIRef
    medication: URIRef
    minimumAge: URIRef
    minimumDailyDose: URIRef
    performed: URIRef
    planned: URIRef
    pmid: URIRef
    prednisoloneEquivalence: URIRef
    rank: URIRef
    rationale: URIRef
    regulator: URIRef
    regulatoryStatus: URIRef
    relative: URIRef
    revisionDate: URIRef
    scheduleText: URIRef
    sessionCount: URIRef
    sessionDate: URIRef
    sessionStatus: URIRef
    sex: URIRef
    sourceExcerpt: URIRef
    splSetId: URIRef
    splVersion: URIRef
    statusDate: URIRef
    strength: URIRef
    strengthBasis: URIRef
    subject: URIRef
    substance: URIRef
    takesMedication: URIRef
    therapyWith: URIRef
    treatment: URIRef
    usesProcedure: URIRef
    versionDate: URIRef
    versionNotFound: URIRef
    via: URIRef

    _extras = [
        "efficacy-debated",
        "efficacy-established",
        "efficacy-not-assessed",
        "efficacy-not-supported",
        "evidence-clinical-study",
        "evidence-expert-consensus",
        "evidence-not-graded",
        "evidence-regulatory-approval",
        "frequency-common",
        "frequency-not-known",
        "frequency-rare",
        "frequency-reported-common",
        "frequency-reported-rare",
        "frequency-uncommon",
        "frequency-very-common",
        "frequency-very-rare",
        "other-sex",
        "procedure-attributed",
        "regulatory-approved",
        "regulatory-off-label",
        "regulatory-suspended",
        "regulatory-unapproved",
        "regulatory-withdrawn",
        "strength-as-stated",
        "strength-curator-judgement",
        "substance-attributed",
        "unknown-sex",
    ]
