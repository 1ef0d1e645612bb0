"""A synthetic patient population in mesokg's patient model, for benchmarks.

    python benchmarks/generate.py 100000 -o patients.nt [--seed 0] [--invalid-share 0.05] [--format nt|ttl]

Every patient is a `mesokg:Patient` with a birth date, a sex, a reason for the visit (sometimes recorded as a
condition), comorbidities (some given only as ICD-10-CM codes), medications, allergies, pregnancy or lactation
for some women of child-bearing age, and a course of 1-3 treatment sessions (planned, some already performed)
of a treatment of the knowledge base. A configurable share of the patients are made invalid in one of the ways
the patient shapes catch (`INVALID_KINDS`), so that the number of non-conforming patients is known in advance.

A valid patient never has an absolutely contraindicated planned session (that is a `sh:Violation` of the
shapes); relatively contraindicated ones (warnings) occur as they come. Which treatment is contraindicated for
whom is not written down here: it is taken from the knowledge base by running the shapes' own clinical rule
(mesokg:ContraindicationRule) once, on one probe patient per fact, in an embedded Oxigraph store.

Output is streamed (one patient at a time) and byte-identical for the same arguments and knowledge base.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

MESOKG = "https://w3id.org/mesokg/"
BENCH = "https://example.org/bench/"
ICD10CM = "http://purl.bioontology.org/ontology/ICD10CM/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
PREFIXES = {"mesokg": MESOKG, "xsd": XSD, "ICD10CM": ICD10CM, "bench": BENCH}
GENERATOR_VERSION = "1"

# ---- the population ------------------------------------------------------------------------------------------
# All figures below are illustrative, not epidemiological data: they are chosen so that every part of the
# patient model and every branch of the clinical rule turns up at a plausible-looking rate.

# Ages are at REFERENCE_DATE (fixed, so that the output never depends on the day it is generated); planned
# sessions fall after it, performed ones before it.
REFERENCE_DATE = date(2026, 1, 1)
AGE_MIN, AGE_MODE, AGE_MAX = 18, 38, 80
OLDER_AGE = 60  # from this age comorbidities and medications are OLDER_FACTOR times as common
OLDER_FACTOR = 2.0
SEX_WEIGHTS = {"female": 0.74, "male": 0.24, "other-sex": 0.01, "unknown-sex": 0.01}

CHILD_BEARING_AGES = (18, 45)
PREGNANCY_SHARE = 0.03  # of women of child-bearing age
LACTATION_SHARE = 0.02


@dataclass(frozen=True)
class Concern:
    """Why a patient comes: a condition of the knowledge base, the treatments used for it, where they go."""

    condition: str
    weight: float
    treatments: tuple[str, ...]
    sites: tuple[str, ...]
    sexes: tuple[str, ...] | None = None  # None: any sex


CONCERNS = (
    Concern("cellulite", 0.17, ("methylxanthine-cellulite-mesotherapy",), ("thighs", "buttocks", "abdomen")),
    Concern("localized-adiposity", 0.09, ("phosphatidylcholine-deoxycholate-lipolysis",), ("abdomen", "flanks")),
    Concern("submental-fat", 0.05, ("deoxycholic-acid-submental-injection",), ("submental area",)),
    Concern(
        "skin-ageing",
        0.16,
        ("hyaluronic-acid-skin-booster", "polyrevitalising-skin-mesotherapy"),
        ("face", "neck", "hands"),
    ),
    Concern("fine-lines-and-wrinkles", 0.07, ("polyrevitalising-skin-mesotherapy",), ("face", "neck")),
    Concern("acne-scar", 0.07, ("acne-scar-mesotherapy",), ("cheeks", "temples")),
    Concern(
        "melasma",
        0.06,
        ("tranexamic-acid-microinjection", "vitamin-c-glutathione-brightening"),
        ("cheeks", "forehead", "upper lip"),
    ),
    Concern("hyperpigmentation", 0.05, ("vitamin-c-glutathione-brightening",), ("face", "hands")),
    Concern(
        "androgenetic-alopecia",
        0.08,
        ("dutasteride-hair-mesotherapy", "revitalising-hair-mesotherapy"),
        ("scalp",),
        sexes=("male",),
    ),
    Concern("female-pattern-hair-loss", 0.06, ("revitalising-hair-mesotherapy",), ("scalp",), sexes=("female",)),
    Concern(
        "musculoskeletal-pain",
        0.09,
        ("lidocaine-piroxicam-analgesic-mesotherapy", "procaine-ketoprofen-analgesic-mesotherapy"),
        ("lower back", "knee", "shoulder", "neck"),
    ),
)
CONCERN_RECORDED_SHARE = 0.5  # how often the reason for the visit is also recorded as a condition

# comorbidity -> share of patients younger than OLDER_AGE who have it
COMORBIDITY_PREVALENCE = {
    "type-2-diabetes-mellitus": 0.05,
    "type-1-diabetes-mellitus": 0.005,
    "rheumatoid-arthritis": 0.008,
    "systemic-lupus-erythematosus": 0.002,
    "systemic-sclerosis": 0.0005,
    "alopecia-areata": 0.002,
    "primary-immunodeficiency": 0.0005,
    "von-willebrand-disease": 0.001,
    "haemophilia": 0.0002,
    "deep-vein-thrombosis": 0.002,
    "pulmonary-embolism": 0.0007,
    "history-of-thromboembolism": 0.01,
    "thrombophilia": 0.004,
    "keloid": 0.01,
    "inflammatory-skin-disease-at-injection-site": 0.01,
    "skin-infection-at-injection-site": 0.002,
    "subarachnoid-haemorrhage": 0.0002,
    "pheochromocytoma": 0.0001,
    "coronary-artery-bypass-graft-surgery": 0.002,
}
# ICD-10-CM codes a comorbidity may be recorded as instead of its class: each is mapped in
# ontology/mappings/*.sssom.tsv or lies below a mapped code (checked against the knowledge base when generating).
ICD10CM_CODES = {
    "type-2-diabetes-mellitus": ("E11.9", "E11.65", "E11.22"),
    "type-1-diabetes-mellitus": ("E10.9", "E10.65"),
    "systemic-lupus-erythematosus": ("M32.9", "M32.10"),
    "systemic-sclerosis": ("M34.9",),
    "alopecia-areata": ("L63.9", "L63.0"),
    "pulmonary-embolism": ("I26.99", "I26.90"),
    "von-willebrand-disease": ("D68.00", "D68.09"),
}
CODED_SHARE = 0.4  # of comorbidities that have codes

# substance -> share of patients younger than OLDER_AGE who take it
MEDICATION_PREVALENCE = {
    "warfarin": 0.006,
    "apixaban": 0.008,
    "rivaroxaban": 0.006,
    "acetylsalicylic-acid": 0.03,
    "clopidogrel": 0.006,
    "methotrexate": 0.003,
    "prednisolone": 0.005,
}
# substance or substance class -> share of patients allergic to it
ALLERGY_PREVALENCE = {
    "lidocaine": 0.008,
    "AmideLocalAnaesthetic": 0.002,
    "procaine": 0.003,
    "acetylsalicylic-acid": 0.01,
    "NonSteroidalAntiInflammatoryDrug": 0.004,
    "hyaluronic-acid": 0.002,
    "tranexamic-acid": 0.001,
    "cyanocobalamin": 0.002,
    "phosphatidylcholine": 0.002,
}

SESSION_COUNT_WEIGHTS = {1: 0.4, 2: 0.35, 3: 0.25}
PERFORMED_SHARE = 0.25  # of sessions, already performed
PLANNED_WITHIN_DAYS = 180
PERFORMED_WITHIN_DAYS = 365

# ---- invalid records -----------------------------------------------------------------------------------------
# Terms that must not exist in the knowledge base (checked when generating).
UNKNOWN_CONDITION = "gout"
UNRESOLVABLE_CODE = "J45.909"  # asthma: a valid ICD-10-CM code that nothing in the graph is mapped to
UNKNOWN_ALLERGEN = "penicillin"
NOT_A_SUBSTANCE = ("pregnancy", "hyaluronic-acid-skin-booster")
NOT_A_TREATMENT = ("lidocaine", "hyaluronic-acid")
SEX_OUTSIDE_VALUE_SET = ("woman", "man")


# ---- the record ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConditionEntry:
    """A condition: typed by a class of the knowledge base, or carrying only an ICD-10-CM code."""

    cls: str | None  # the class (for a coded condition: the class its code resolves to), None if none
    code: str | None = None


@dataclass(frozen=True)
class MedicationEntry:
    substance: str
    typed: bool = True  # typed mesokg:MedicationUse


@dataclass(frozen=True)
class Session:
    treatment: str | None
    day: date
    status: str | None  # planned, performed or missing
    site: str


@dataclass
class PatientRecord:
    """One patient, before it is written as triples; `invalid` names the way it was made invalid, if any."""

    index: int
    birth: date | str | None  # a str is written as a plain literal, not an xsd:date
    sex: str | None
    conditions: list[ConditionEntry] = field(default_factory=list)
    medications: list[MedicationEntry] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    invalid: str | None = None

    @property
    def name(self) -> str:
        return f"p{self.index:06d}"

    @property
    def iri(self) -> str:
        return BENCH + self.name

    def facts(self) -> list[Fact]:
        """What the clinical rule looks at: condition classes, medications and allergens."""
        found: list[Fact] = [("condition", c.cls) for c in self.conditions if c.cls is not None]
        found += [("medication", m.substance) for m in self.medications]
        found += [("allergy", a) for a in self.allergies]
        return found

    def add_fact(self, fact: Fact) -> None:
        kind, name = fact
        if kind == "condition":
            self.conditions.append(ConditionEntry(name))
        elif kind == "medication":
            self.medications.append(MedicationEntry(name))
        else:
            self.allergies.append(name)


Fact = tuple[str, str]  # (condition | medication | allergy, local name in the mesokg namespace)


# ---- what the knowledge base says ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ClinicalTable:
    """For every fact the generator uses, the treatments contraindicated by it and how strongly."""

    treatments: tuple[str, ...]
    strengths: dict[Fact, dict[str, str]]  # fact -> treatment -> absolute | relative

    def strength(self, facts: Iterable[Fact], treatment: str) -> str | None:
        """The strongest contraindication of `treatment` for a patient with `facts`, or None."""
        found = {self.strengths.get(fact, {}).get(treatment) for fact in facts}
        return "absolute" if "absolute" in found else "relative" if "relative" in found else None

    def absolute_pairs(self) -> list[tuple[Fact, str]]:
        """(fact, treatment) pairs with an absolute contraindication, leaving out pregnancy and lactation."""
        return sorted(
            (fact, treatment)
            for fact, by_treatment in self.strengths.items()
            for treatment, strength in by_treatment.items()
            if strength == "absolute" and fact[1] not in ("pregnancy", "lactation")
        )


def all_facts() -> list[Fact]:
    """Every fact a generated valid record can carry."""
    conditions = [c.condition for c in CONCERNS] + list(COMORBIDITY_PREVALENCE) + ["pregnancy", "lactation"]
    facts: list[Fact] = [("condition", c) for c in conditions]
    facts += [("medication", s) for s in MEDICATION_PREVALENCE]
    facts += [("allergy", s) for s in ALLERGY_PREVALENCE]
    return sorted(set(facts))


def check_terms(kb: Graph) -> None:
    """Fail loudly if a constant above no longer matches the knowledge base."""
    from mesokg.resolve import ResolutionError, resolve

    def names(value: str, kind: str) -> bool:
        try:
            resolve(kb, value, kind)
        except ResolutionError:
            return False
        return True

    wanted = [(f"mesokg:{c}", "condition") for kind, c in all_facts() if kind == "condition"]
    wanted += [(f"mesokg:{s}", "substance") for s in MEDICATION_PREVALENCE]
    wanted += [(f"mesokg:{t}", "treatment") for c in CONCERNS for t in c.treatments]
    for allergen in ALLERGY_PREVALENCE:
        if not (names(f"mesokg:{allergen}", "substance") or names(f"mesokg:{allergen}", "role")):
            raise ValueError(f"allergen {allergen} is neither a substance nor a substance class of the graph")
    for value, kind in wanted:
        if not names(value, kind):
            raise ValueError(f"{value} is not a {kind} of the graph")
    for cls, codes in ICD10CM_CODES.items():
        for code in codes:
            if resolve(kb, f"ICD10CM:{code}", "condition") != URIRef(MESOKG + cls):
                raise ValueError(f"ICD10CM:{code} does not resolve to mesokg:{cls}")
    unknown = [(f"mesokg:{UNKNOWN_CONDITION}", "condition"), (f"ICD10CM:{UNRESOLVABLE_CODE}", "condition")]
    unknown += [(f"mesokg:{UNKNOWN_ALLERGEN}", "substance"), (f"mesokg:{UNKNOWN_ALLERGEN}", "role")]
    unknown += [(f"mesokg:{s}", "substance") for s in NOT_A_SUBSTANCE]
    unknown += [(f"mesokg:{t}", "treatment") for t in NOT_A_TREATMENT]
    for value, kind in unknown:
        if names(value, kind):
            raise ValueError(f"{value} is meant to be unknown but is a {kind} of the graph")


def probe_ntriples(facts: list[Fact], treatments: tuple[str, ...]) -> str:
    """Patient k has only the fact facts[k - 1] and a planned session -sj of treatments[j - 1], for every j."""
    lines = []
    for k, fact in enumerate(facts, start=1):
        probe = PatientRecord(k, None, None)
        probe.add_fact(fact)
        probe.sessions = [Session(t, REFERENCE_DATE, "planned", "probe") for t in treatments]
        lines += [f"{s} {p} {o} .\n" for s, p, o in record_triples(probe)]
    return "".join(lines)


def run_rule(kb: Graph, probes: str) -> dict[str, set[str]]:
    """Run the shapes' clinical rule on the knowledge base plus `probes`: strength -> flagged session IRIs."""
    import pyoxigraph as ox

    from mesokg.rule import patient_shapes, rule_query

    store = ox.Store()
    store.load(kb.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    store.load(probes.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
    query = rule_query(patient_shapes())
    flagged = {}
    for strength in ("absolute", "relative"):
        # the strength is a parameter of the rule; a trailing VALUES binds it for the whole query
        bound = f"{query}\nVALUES ?contraindicationStrength {{ <{MESOKG}{strength}> }}"
        flagged[strength] = {row["this"].value for row in store.query(bound)}
    return flagged


def clinical_table(kb: Graph) -> ClinicalTable:
    """Which treatments each fact contraindicates, according to the knowledge base and the clinical rule."""
    check_terms(kb)
    treatments = tuple(sorted(str(t)[len(MESOKG) :] for t in kb.subjects(RDF.type, URIRef(MESOKG + "Treatment"))))
    facts = all_facts()
    flagged = run_rule(kb, probe_ntriples(facts, treatments))
    strengths: dict[Fact, dict[str, str]] = {fact: {} for fact in facts}
    for strength in ("relative", "absolute"):  # absolute last, so that it wins
        for session in flagged[strength]:
            k, j = (int(part) for part in session[len(BENCH) + 1 :].split("-s"))
            strengths[facts[k - 1]][treatments[j - 1]] = strength
    return ClinicalTable(treatments, strengths)


@cache
def bundled_table() -> ClinicalTable:
    """The clinical table of the bundled knowledge base (built once per process)."""
    from mesokg.graph import build_graph

    return clinical_table(build_graph())


# ---- making records ------------------------------------------------------------------------------------------
def weighted(rng: random.Random, weights: dict) -> object:
    """One key of `weights`, drawn with probability proportional to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def draw_birth(rng: random.Random) -> date:
    age_years = rng.triangular(AGE_MIN, AGE_MAX, AGE_MODE)
    return REFERENCE_DATE - timedelta(days=round(age_years * 365.2425))


def age_at_reference(birth: date) -> int:
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day)
    return REFERENCE_DATE.year - birth.year - before_birthday


def draw_concern(rng: random.Random, sex: str) -> Concern:
    allowed = [c for c in CONCERNS if c.sexes is None or sex in c.sexes]
    return rng.choices(allowed, weights=[c.weight for c in allowed])[0]


def draw_conditions(rng: random.Random, concern: Concern, sex: str, age: int) -> list[ConditionEntry]:
    """The reason for the visit (sometimes), comorbidities (some as codes), pregnancy or lactation."""
    found = [ConditionEntry(concern.condition)] if rng.random() < CONCERN_RECORDED_SHARE else []
    factor = OLDER_FACTOR if age >= OLDER_AGE else 1.0
    for cls, prevalence in COMORBIDITY_PREVALENCE.items():
        if rng.random() < prevalence * factor:
            codes = ICD10CM_CODES.get(cls)
            coded = codes is not None and rng.random() < CODED_SHARE
            found.append(ConditionEntry(cls, rng.choice(codes)) if coded else ConditionEntry(cls))
    if sex == "female" and CHILD_BEARING_AGES[0] <= age <= CHILD_BEARING_AGES[1]:
        state = rng.random()
        if state < PREGNANCY_SHARE:
            found.append(ConditionEntry("pregnancy"))
        elif state < PREGNANCY_SHARE + LACTATION_SHARE:
            found.append(ConditionEntry("lactation"))
    return found


def draw_present(rng: random.Random, prevalence: dict[str, float], factor: float = 1.0) -> list[str]:
    return [name for name, share in prevalence.items() if rng.random() < share * factor]


def draw_sessions(
    rng: random.Random, concern: Concern, facts: list[Fact], birth: date, table: ClinicalTable
) -> list[Session]:
    """A course of one treatment for the concern, never absolutely contraindicated while planned.

    When every treatment for the concern is absolutely contraindicated (pregnancy, say), the course was
    performed in the past instead."""
    safe = [t for t in concern.treatments if table.strength(facts, t) != "absolute"]
    treatment = rng.choice(safe or list(concern.treatments))
    sessions = []
    for _ in range(weighted(rng, SESSION_COUNT_WEIGHTS)):
        performed = not safe or rng.random() < PERFORMED_SHARE
        if performed:
            day = max(REFERENCE_DATE - timedelta(days=rng.randint(1, PERFORMED_WITHIN_DAYS)), birth)
        else:
            day = REFERENCE_DATE + timedelta(days=rng.randint(1, PLANNED_WITHIN_DAYS))
        status = "performed" if performed else "planned"
        sessions.append(Session(treatment, day, status, rng.choice(concern.sites)))
    return sorted(sessions, key=lambda s: s.day)


def valid_record(index: int, rng: random.Random, table: ClinicalTable) -> PatientRecord:
    """A well-formed patient whose planned sessions are not absolutely contraindicated."""
    birth = draw_birth(rng)
    age = age_at_reference(birth)
    sex = weighted(rng, SEX_WEIGHTS)
    concern = draw_concern(rng, sex)
    factor = OLDER_FACTOR if age >= OLDER_AGE else 1.0
    record = PatientRecord(index, birth, sex, draw_conditions(rng, concern, sex, age))
    record.medications = [MedicationEntry(s) for s in draw_present(rng, MEDICATION_PREVALENCE, factor)]
    record.allergies = draw_present(rng, ALLERGY_PREVALENCE)
    record.sessions = draw_sessions(rng, concern, record.facts(), birth, table)
    return record


# ---- making records invalid ----------------------------------------------------------------------------------
Mutation = Callable[[PatientRecord, random.Random, ClinicalTable], None]


def _first_session(record: PatientRecord, **changes) -> None:
    record.sessions[0] = replace(record.sessions[0], **changes)


def _birth_in_future(record: PatientRecord, rng: random.Random, _: ClinicalTable) -> None:
    birth = record.birth if isinstance(record.birth, date) else REFERENCE_DATE
    record.birth = date(2990 + rng.randint(0, 9), birth.month, min(birth.day, 28))


def _birth_not_a_date(record: PatientRecord, _: random.Random, __: ClinicalTable) -> None:
    assert isinstance(record.birth, date)
    record.birth = record.birth.strftime("%d/%m/%Y")


def _pregnant_male(record: PatientRecord, _: random.Random, __: ClinicalTable) -> None:
    record.sex = "male"
    if ("condition", "pregnancy") not in record.facts():
        record.add_fact(("condition", "pregnancy"))


def _session_before_birth(record: PatientRecord, rng: random.Random, _: ClinicalTable) -> None:
    assert isinstance(record.birth, date)
    _first_session(record, day=record.birth - timedelta(days=rng.randint(1, 365)), status="performed")


def _contraindicated_plan(record: PatientRecord, rng: random.Random, table: ClinicalTable) -> None:
    """Plan a treatment that one of the patient's facts (added if need be) absolutely contraindicates."""
    fact, treatment = rng.choice(table.absolute_pairs())
    if fact not in record.facts():
        record.add_fact(fact)
    day = REFERENCE_DATE + timedelta(days=rng.randint(1, PLANNED_WITHIN_DAYS))
    _first_session(record, treatment=treatment, day=day, status="planned")


INVALID_KINDS: dict[str, Mutation] = {
    "missing birth date": lambda r, _, __: setattr(r, "birth", None),
    "birth date not a date": _birth_not_a_date,
    "birth date in the future": _birth_in_future,
    "missing sex": lambda r, _, __: setattr(r, "sex", None),
    "sex outside the value set": lambda r, rng, _: setattr(r, "sex", rng.choice(SEX_OUTSIDE_VALUE_SET)),
    "pregnancy with male sex": _pregnant_male,
    "unknown condition": lambda r, _, __: r.conditions.append(ConditionEntry(UNKNOWN_CONDITION)),
    "unresolvable code": lambda r, _, __: r.conditions.append(ConditionEntry(None, UNRESOLVABLE_CODE)),
    "medication not a substance": lambda r, rng, _: r.medications.append(MedicationEntry(rng.choice(NOT_A_SUBSTANCE))),
    "medication use not typed": lambda r, rng, _: r.medications.append(
        MedicationEntry(rng.choice(sorted(MEDICATION_PREVALENCE)), typed=False)
    ),
    "unknown allergen": lambda r, _, __: r.allergies.append(UNKNOWN_ALLERGEN),
    "session without treatment": lambda r, _, __: _first_session(r, treatment=None),
    "session treatment not a treatment": lambda r, rng, _: _first_session(r, treatment=rng.choice(NOT_A_TREATMENT)),
    "session without status": lambda r, _, __: _first_session(r, status=None),
    "session before birth": _session_before_birth,
    "absolutely contraindicated planned session": _contraindicated_plan,
}


def is_invalid(index: int, share: Fraction) -> bool:
    """Whether the index-th patient (0-based) is made invalid: evenly spread, exactly floor(n * share) of n."""
    return (index + 1) * share.numerator // share.denominator > index * share.numerator // share.denominator


def records(
    n: int, seed: int = 0, invalid_share: float = 0.05, table: ClinicalTable | None = None
) -> Iterator[PatientRecord]:
    """The population, one patient at a time.

    Invalid kinds take turns, so every kind occurs once there are as many invalid patients as kinds. The
    changes that make a record invalid draw from a random stream of their own, so the other records are the
    same whatever the invalid share: population(n, s, x) is population(n, s, 0) with some records broken.
    """
    if not 0 <= invalid_share <= 1:
        raise ValueError("invalid_share must be between 0 and 1")
    table = table or bundled_table()
    share = Fraction(invalid_share).limit_denominator(1_000_000)
    rng, breaker = random.Random(seed), random.Random(f"{seed}/invalid")
    kinds = list(INVALID_KINDS)
    made_invalid = 0
    for index in range(n):
        record = valid_record(index + 1, rng, table)
        if is_invalid(index, share):
            record.invalid = kinds[made_invalid % len(kinds)]
            INVALID_KINDS[record.invalid](record, breaker, table)
            made_invalid += 1
        yield record


# ---- writing -------------------------------------------------------------------------------------------------
def m(local: str) -> str:
    return f"<{MESOKG}{local}>"


def date_literal(day: date) -> str:
    return f'"{day.isoformat()}"^^<{XSD}date>'


def record_triples(record: PatientRecord) -> list[tuple[str, str, str]]:
    """The record as N-Triples terms, grouped by subject (the patient first)."""
    patient = f"<{record.iri}>"
    head = [(patient, RDF_TYPE, m("Patient"))]
    if isinstance(record.birth, date):
        head.append((patient, m("birthDate"), date_literal(record.birth)))
    elif record.birth is not None:
        head.append((patient, m("birthDate"), f'"{record.birth}"'))
    if record.sex is not None:
        head.append((patient, m("sex"), m(record.sex)))
    parts: list[tuple[str, str, str]] = []
    for k, condition in enumerate(record.conditions, start=1):
        node = f"_:{record.name}c{k}"
        head.append((patient, m("hasCondition"), node))
        if condition.code is not None:
            parts.append((node, m("code"), f"<{ICD10CM}{condition.code}>"))
        else:
            parts.append((node, RDF_TYPE, m(condition.cls)))
    for k, medication in enumerate(record.medications, start=1):
        node = f"_:{record.name}m{k}"
        head.append((patient, m("takesMedication"), node))
        if medication.typed:
            parts.append((node, RDF_TYPE, m("MedicationUse")))
        parts.append((node, m("medication"), m(medication.substance)))
    for k, allergen in enumerate(record.allergies, start=1):
        node = f"_:{record.name}a{k}"
        head.append((patient, m("hasAllergy"), node))
        parts += [(node, RDF_TYPE, m("AllergyRecord")), (node, m("substance"), m(allergen))]
    for k, session in enumerate(record.sessions, start=1):
        node = f"<{record.iri}-s{k}>"
        head.append((patient, m("hasSession"), node))
        parts += session_triples(node, session)
    return head + parts


def session_triples(node: str, session: Session) -> list[tuple[str, str, str]]:
    found = [(node, RDF_TYPE, m("TreatmentSession"))]
    if session.treatment is not None:
        found.append((node, m("treatment"), m(session.treatment)))
    found.append((node, m("sessionDate"), date_literal(session.day)))
    if session.status is not None:
        found.append((node, m("sessionStatus"), m(session.status)))
    found.append((node, m("bodySite"), f'"{session.site}"'))
    return found


LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")


def compact(term: str) -> str:
    """An N-Triples term in Turtle: prefixed names where they are safe, `a` for rdf:type."""
    if term == RDF_TYPE:
        return "a"
    if term.startswith("<"):
        iri = term[1:-1]
        for prefix, namespace in PREFIXES.items():
            if iri.startswith(namespace) and LOCAL_NAME.fullmatch(iri[len(namespace) :]):
                return f"{prefix}:{iri[len(namespace) :]}"
        return term
    if term.endswith(f"^^<{XSD}date>"):
        return term[: -len(f"<{XSD}date>")] + "xsd:date"
    return term


def turtle_block(triples: list[tuple[str, str, str]]) -> str:
    """Triples grouped by subject, written as Turtle statements with `;`."""
    lines: list[str] = []
    for k, (s, p, o) in enumerate(triples):
        same_as_before = k > 0 and triples[k - 1][0] == s
        same_as_next = k + 1 < len(triples) and triples[k + 1][0] == s
        start = f"    {compact(p)}" if same_as_before else f"{compact(s)} {compact(p)}"
        lines.append(f"{start} {compact(o)} {';' if same_as_next else '.'}")
    return "\n".join(lines) + "\n"


def turtle_header() -> str:
    return "".join(f"@prefix {prefix}: <{namespace}> .\n" for prefix, namespace in PREFIXES.items()) + "\n"


@dataclass
class Summary:
    """What a generated population holds, counted while it streams out."""

    patients: int = 0
    triples: int = 0
    invalid: int = 0
    invalid_kinds: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)  # expected `mesokg screen` statuses of planned sessions

    def add(self, record: PatientRecord, triples: int, table: ClinicalTable) -> None:
        self.patients += 1
        self.triples += triples
        if record.invalid is not None:
            self.invalid += 1
            self.invalid_kinds[record.invalid] += 1
        facts = record.facts()
        for session in record.sessions:
            if session.status == "planned" and session.treatment in table.treatments:
                strength = table.strength(facts, session.treatment)
                self.findings[{"absolute": "contraindicated", "relative": "caution"}.get(strength, "none")] += 1

    def as_dict(self) -> dict:
        return {
            "patients": self.patients,
            "triples": self.triples,
            "invalid": self.invalid,
            "invalid_kinds": dict(sorted(self.invalid_kinds.items())),
            "findings": dict(sorted(self.findings.items())),
        }


class Population:
    """A generated population: `lines()` streams it as N-Triples or Turtle and fills `summary` as it goes."""

    def __init__(self, n: int, seed: int = 0, invalid_share: float = 0.05, table: ClinicalTable | None = None):
        self.n, self.seed, self.invalid_share = n, seed, invalid_share
        self.table = table or bundled_table()
        self.summary = Summary()

    def lines(self, fmt: str = "nt") -> Iterator[str]:
        """The population as text, one patient (N-Triples: one triple) per item, each ending in a newline."""
        if fmt == "ttl":
            yield turtle_header()
        for record in records(self.n, self.seed, self.invalid_share, self.table):
            triples = record_triples(record)
            self.summary.add(record, len(triples), self.table)
            if fmt == "ttl":
                yield turtle_block(triples)
            else:
                yield from (f"{s} {p} {o} .\n" for s, p, o in triples)


def generate(n: int, seed: int = 0, invalid_share: float = 0.05) -> Iterator[str]:
    """N-Triples lines (each ending in a newline) of a population of `n` patients."""
    return Population(n, seed, invalid_share).lines("nt")


def source_digest() -> str:
    """A digest of what a population depends on: this file, and the ontology and shapes it is read from."""
    from mesokg.resources import ontology_dir

    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(p for p in ontology_dir().rglob("*") if p.is_file()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def write_population(path: Path, n: int, seed: int, invalid_share: float, fmt: str) -> dict:
    """Write the population to `path` and return its summary, with the parameters that made it."""
    population = Population(n, seed, invalid_share)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(population.lines(fmt))
    params = {"seed": seed, "invalid_share": invalid_share, "format": fmt, "generator": GENERATOR_VERSION}
    return {**params, "source_digest": source_digest(), **population.summary.as_dict()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a synthetic patient population for mesokg benchmarks.")
    parser.add_argument("n", type=int, help="number of patients")
    parser.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--invalid-share", type=float, default=0.05, help="share of invalid patients (default 0.05)")
    parser.add_argument("--format", choices=("nt", "ttl"), default="nt", help="N-Triples (default) or Turtle")
    parser.add_argument("--summary", type=Path, help="also write the summary (counts, expected results) as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.n < 0:
        raise SystemExit("generate.py: error: n must not be negative")
    summary = write_population(args.output, args.n, args.seed, args.invalid_share, args.format)
    if args.summary is not None:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(
        f"wrote {args.output}: {summary['patients']} patients, {summary['triples']} triples, "
        f"{summary['invalid']} invalid",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
