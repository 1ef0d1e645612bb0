"""The mesokg vocabulary as a closed rdflib namespace.

Generated from ontology/mesokg.ttl by `python -m mesokg._gen_namespace`: do not edit.
"""

from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef


class MESOKG(DefinedNamespace):
    _fail = True
    _NS = Namespace("https://w3id.org/mesokg/")

    AdverseEffectAssertion: URIRef
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
    Methylxanthine: URIRef
    Mineral: URIRef
    NonSteroidalAntiInflammatoryDrug: URIRef
    NutritiveTreatment: URIRef
    PhysiologicalState: URIRef
    PregnancyContraindicatedTreatment: URIRef
    Procedure: URIRef
    SkinConditioningAgent: URIRef
    Source: URIRef
    Substance: URIRef
    Treatment: URIRef
    ValueSetMember: URIRef
    Vitamin: URIRef
    absolute: URIRef
    allergen: URIRef
    attribution: URIRef
    circumstance: URIRef
    condition: URIRef
    contraindicatedIn: URIRef
    curationNote: URIRef
    effect: URIRef
    efficacyStatus: URIRef
    evidenceLevel: URIRef
    frequency: URIRef
    hasAdverseEffect: URIRef
    hasIngredient: URIRef
    indicatedFor: URIRef
    inferred: URIRef
    ingredientOf: URIRef
    rank: URIRef
    rationale: URIRef
    relative: URIRef
    sourceExcerpt: URIRef
    strength: URIRef
    subject: URIRef
    therapyWith: URIRef
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
        "procedure-attributed",
        "substance-attributed",
    ]
