"""The mesokg vocabulary as a closed rdflib namespace.

Generated from ontology/mesokg.ttl by `python -m mesokg._gen_namespace`: do not edit.
"""

from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef


class MESOKG(DefinedNamespace):
    _fail = True
    _NS = Namespace("https://w3id.org/mesokg/")

    AdverseEffectAssertion: URIRef
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
    ClinicalFinding: URIRef
    ClinicalUseAssertion: URIRef
    Condition: URIRef
    Contraindication: URIRef
    ContraindicationStrength: URIRef
    Corticosteroid: URIRef
    DepigmentingAgent: URIRef
    DepigmentingTreatment: URIRef
    Disorder: URIRef
    EfficacyStatus: URIRef
    EsterLocalAnaesthetic: URIRef
    EvidenceLevel: URIRef
    FiveAlphaReductaseInhibitor: URIRef
    FrequencyBand: URIRef
    HairGrowthAgent: URIRef
    HairGrowthTreatment: URIRef
    Hypersensitivity: URIRef
    Immunosuppressant: URIRef
    Indication: URIRef
    LipolyticAgent: URIRef
    LipolyticTreatment: URIRef
    LocalAnaesthetic: URIRef
    MedicationTherapy: URIRef
    MedicationUse: URIRef
    Methylxanthine: URIRef
    Mineral: URIRef
    NonSteroidalAntiInflammatoryDrug: URIRef
    NutritiveTreatment: URIRef
    Patient: URIRef
    PhysiologicalState: URIRef
    PregnancyContraindicatedTreatment: URIRef
    Procedure: URIRef
    SessionStatus: URIRef
    Sex: URIRef
    SkinConditioningAgent: URIRef
    Source: URIRef
    Substance: URIRef
    Treatment: URIRef
    TreatmentSession: URIRef
    ValueSetMember: URIRef
    Vitamin: URIRef
    absolute: URIRef
    allergen: URIRef
    attribution: URIRef
    birthDate: URIRef
    bodySite: URIRef
    circumstance: URIRef
    code: URIRef
    condition: URIRef
    contraindicatedIn: URIRef
    curationNote: URIRef
    effect: URIRef
    efficacyStatus: URIRef
    evidenceLevel: URIRef
    female: URIRef
    frequency: URIRef
    hasAdverseEffect: URIRef
    hasAllergy: URIRef
    hasCondition: URIRef
    hasIngredient: URIRef
    hasSession: URIRef
    indicatedFor: URIRef
    inferred: URIRef
    ingredientOf: URIRef
    male: URIRef
    medication: URIRef
    performed: URIRef
    planned: URIRef
    rank: URIRef
    rationale: URIRef
    relative: URIRef
    sessionDate: URIRef
    sessionStatus: URIRef
    sex: URIRef
    sourceExcerpt: URIRef
    strength: URIRef
    subject: URIRef
    substance: URIRef
    takesMedication: URIRef
    therapyWith: URIRef
    treatment: URIRef
    usesProcedure: URIRef
    via: URIRef

    _extras = [
        "efficacy-debated",
        "efficacy-established",
        "efficacy-not-assessed",
        "evidence-clinical-study",
        "evidence-expert-consensus",
        "evidence-not-graded",
        "evidence-regulatory-approval",
        "frequency-common",
        "frequency-not-known",
        "frequency-rare",
        "frequency-uncommon",
        "frequency-very-common",
        "other-sex",
        "procedure-attributed",
        "substance-attributed",
        "unknown-sex",
    ]
