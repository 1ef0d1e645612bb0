"""The qualifiers of the clinical rule on the fixture world: a contraindication exception, a dose-limited
medication therapy and an age group (tests/fixtures/qualifiers.ttl), screened by both screening engines and
validated by both SHACL engines with the same answers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, make_world
from rdflib import Graph

from mesokg.graph import build_graph
from mesokg.screening import screen
from mesokg.validation import validate

PATIENTS = Path(__file__).parent / "data" / "qualifiers" / "patients.ttl"
EX = "https://example.org/"
M = "https://w3id.org/mesokg/"

# (patient, treatment) -> (status, the contraindicated conditions the reasons name)
EXPECTED = {
    ("excepted", "fx-vitamin-treatment"): ("none", set()),  # the exception removes the disorder's caution
    ("other", "fx-vitamin-treatment"): ("caution", {"fx-disorder"}),  # a sibling of the exception keeps it
    ("teen", "fx-vitamin-treatment"): ("caution", {"fx-minor"}),  # 17 at the session date (the day before 18)
    ("teen", "fx-lipo-treatment"): ("none", set()),  # 18 on the session date
    ("low", "fx-vitamin-treatment"): ("none", set()),  # 4 mg x 4 = 16 mg prednisolone-equivalent < 20
    ("high", "fx-vitamin-treatment"): ("caution", {"fx-high-dose-therapy"}),  # 5 mg x 4 = 20 mg reaches it
    ("nodose", "fx-vitamin-treatment"): ("caution", {"fx-high-dose-therapy"}),  # an unknown dose counts
}


@pytest.fixture(scope="module")
def qualifier_kb(tmp_path_factory) -> Graph:
    return build_graph(make_world(tmp_path_factory.mktemp("qualifiers") / "world", FIXTURES / "qualifiers.ttl"))


def findings(outcome) -> dict:
    return {
        (p.patient.removeprefix(EX), f.treatment.removeprefix(M)): (
            f.status,
            {r.contraindicatedIn.removeprefix(M) for r in f.reasons},
        )
        for p in outcome.patients
        for f in p.findings
    }


@pytest.mark.parametrize("engine", ["rdflib", "sparql"])
def test_exception_dose_and_age_decide_the_status(qualifier_kb: Graph, engine: str):
    assert findings(screen([PATIENTS], qualifier_kb, engine=engine)) == EXPECTED


def test_age_reasons_are_named_as_age(qualifier_kb: Graph):
    outcome = screen([PATIENTS], qualifier_kb, engine="sparql")
    kinds = {(p.patient.removeprefix(EX), r.kind) for p in outcome.patients for f in p.findings for r in f.reasons}
    assert ("teen", "age") in kinds and ("high", "medication") in kinds and ("other", "condition") in kinds


def test_screening_for_a_treatment_uses_todays_age(qualifier_kb: Graph, tmp_path: Path):
    """Without a session there is no session date: the age is taken today."""
    from datetime import date

    born = date.today().replace(year=date.today().year - 10)
    path = tmp_path / "child.ttl"
    path.write_text(
        "@prefix mesokg: <https://w3id.org/mesokg/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        f'<{EX}child> a mesokg:Patient ; mesokg:birthDate "{born.isoformat()}"^^xsd:date ; mesokg:sex mesokg:male .\n'
    )
    for engine in ("rdflib", "sparql"):
        (patient,) = screen([path], qualifier_kb, "mesokg:fx-lipo-treatment", engine=engine).patients
        (finding,) = patient.findings
        assert (finding.status, {r.contraindicatedIn.removeprefix(M) for r in finding.reasons}) == (
            "caution",
            {"fx-minor"},
        ), engine


@pytest.mark.slow  # runs the pySHACL reference
def test_both_shacl_engines_agree_on_the_qualifiers(qualifier_kb: Graph):
    fast = validate([PATIENTS], qualifier_kb, engine="sparql")
    reference = validate([PATIENTS], qualifier_kb, engine="pyshacl")
    assert fast.engine == "sparql"

    def canonical(result) -> tuple:
        return (result.focus, result.shape, result.component, result.severity)

    assert Counter(map(canonical, fast.results)) == Counter(map(canonical, reference.results))
    warned = {r.patient.removeprefix(EX) for r in reference.results if r.severity == "Warning"}
    assert warned == {"other", "teen", "high", "nodose"}
