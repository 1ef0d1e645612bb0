"""Screening patients: status per treatment with reasons, the JSON contract, and agreement with SHACL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from mesokg.cli import cli
from mesokg.rule import STATUS_ORDER
from mesokg.screening import screen
from mesokg.validation import validate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "patients"
M = "https://w3id.org/mesokg/"
PATIENT = """@prefix mesokg: <https://w3id.org/mesokg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://example.org/p> a mesokg:Patient ; mesokg:birthDate "1980-01-01"^^xsd:date ; mesokg:sex mesokg:female ;
"""


def treatments(kb: Graph, where: str = "") -> set[str]:
    """Local names of the graph's treatments that match `where` (a SPARQL pattern on ?t), read from the graph
    so that the cases below state clinical expectations, not the current list of curated treatments."""
    query = "PREFIX mesokg: <https://w3id.org/mesokg/> SELECT ?t WHERE { ?t a mesokg:Treatment . " + where + " }"
    return {str(row.t).removeprefix(M) for row in kb.query(query)}


def statuses_for_every_treatment(kb: Graph, tmp_path: Path, cases: dict[str, str]) -> dict[str, dict[str, str]]:
    """case -> treatment -> status: one patient per case (with its `facts`) and a planned session of every
    treatment, all in one file and one screening run (patients and sessions are screened independently)."""
    path = tmp_path / "patients.ttl"
    every = sorted(treatments(kb))
    iris = {case: f"https://example.org/p{number}" for number, case in enumerate(cases)}
    text = []
    for case, facts in cases.items():
        iri = iris[case]
        text.append(PATIENT.replace("https://example.org/p", iri) + facts + " .\n")
        for number, treatment in enumerate(every):
            text.append(
                f"<{iri}> mesokg:hasSession <{iri}-s{number}> . <{iri}-s{number}> a mesokg:TreatmentSession ; "
                f'mesokg:treatment mesokg:{treatment} ; mesokg:sessionDate "2027-01-15"^^xsd:date ; '
                "mesokg:sessionStatus mesokg:planned .\n"
            )
    path.write_text("".join(text))
    by_iri = {iri: case for case, iri in iris.items()}
    found: dict[str, dict[str, str]] = {case: {} for case in cases}
    for patient in screen([path], kb).patients:
        for finding in patient.findings:
            found[by_iri[patient.patient]][finding.treatment.removeprefix(M)] = finding.status
    assert all(sorted(statuses) == every for statuses in found.values()), "a case was not screened for every treatment"
    return found


MESOTHERAPY = "?t mesokg:usesProcedure mesokg:mesotherapy ."
LIPOLYSIS = "?t mesokg:usesProcedure mesokg:injection-lipolysis ."
LIDOCAINE = "?t mesokg:hasIngredient mesokg:lidocaine ."
NO_LIDOCAINE = "FILTER NOT EXISTS { ?t mesokg:hasIngredient mesokg:lidocaine }"
# case -> (the patient's facts, [(which treatments, the status they get: exactly, or "at least")])
CASES = {
    "pregnant": (
        "mesokg:hasCondition [ a mesokg:pregnancy ]",
        [(MESOTHERAPY, "contraindicated", "exactly"), (LIPOLYSIS, "caution", "at least")],
    ),
    "breastfeeding": ("mesokg:hasCondition [ a mesokg:lactation ]", [("", "caution", "at least")]),
    "type 1 diabetic": (
        "mesokg:hasCondition [ a mesokg:type-1-diabetes-mellitus ]",
        [(MESOTHERAPY, "caution", "at least")],
    ),
    "lupus": ("mesokg:hasCondition [ a mesokg:systemic-lupus-erythematosus ]", [(MESOTHERAPY, "caution", "at least")]),
    "allergic to lidocaine": (
        "mesokg:hasAllergy [ a mesokg:AllergyRecord ; mesokg:substance mesokg:lidocaine ]",
        [(LIDOCAINE, "contraindicated", "exactly"), (NO_LIDOCAINE, "none", "exactly")],
    ),
    "on an anticoagulant": (
        "mesokg:takesMedication [ a mesokg:MedicationUse ; mesokg:medication mesokg:apixaban ]",
        [(MESOTHERAPY, "caution", "at least"), (LIPOLYSIS, "caution", "at least")],
    ),
    "healthy": ("mesokg:sex mesokg:female", [("", "none", "exactly")]),
}


@pytest.fixture(scope="module")
def statuses(built_graph: Graph, tmp_path_factory) -> dict[str, dict[str, str]]:
    return statuses_for_every_treatment(
        built_graph, tmp_path_factory.mktemp("cases"), {case: facts for case, (facts, _) in CASES.items()}
    )


@pytest.mark.parametrize("case", CASES)
def test_status_for_every_treatment(built_graph: Graph, statuses: dict, case: str):
    _, expectations = CASES[case]
    found = statuses[case]
    for where, status, how in expectations:
        chosen = treatments(built_graph, where)
        assert chosen, f"no treatment matches {where!r}"
        for treatment in chosen:
            if how == "exactly":
                assert found[treatment] == status, (treatment, found[treatment])
            else:
                assert STATUS_ORDER[found[treatment]] >= STATUS_ORDER[status], (treatment, found[treatment])


def test_reasons_name_the_fact_the_rule_the_path_and_the_source(built_graph: Graph):
    (patient,) = screen([EXAMPLES / "06-lidocaine-allergy.ttl"], built_graph).patients
    (finding,) = patient.findings
    assert finding.status == "contraindicated"
    by_rule = {r.contraindicatedIn.removeprefix(M): r for r in finding.reasons}
    label = by_rule["amide-local-anaesthetic-hypersensitivity"]
    assert (label.kind, label.concept, label.via) == ("allergy", M + "lidocaine", M + "lidocaine")
    assert label.source.startswith("XYLOCAINE")
    seed = by_rule["ingredient-hypersensitivity"]
    assert seed.source == "mesokg seed text" and seed.strength == "absolute"


def test_allergy_to_aspirin_covers_other_nsaids(built_graph: Graph):
    (patient,) = screen([EXAMPLES / "09-aspirin-allergy.ttl"], built_graph).patients
    (finding,) = patient.findings
    assert finding.status == "contraindicated"
    assert {r.contraindicatedIn for r in finding.reasons} == {M + "nsaid-hypersensitivity"}


def test_coded_condition_is_screened_through_its_code(built_graph: Graph):
    (patient,) = screen([EXAMPLES / "07-anticoagulant.ttl"], built_graph).patients
    (finding,) = patient.findings
    assert {(r.kind, r.concept.removeprefix(M), r.strength) for r in finding.reasons} >= {
        ("condition", "pulmonary-embolism", "absolute"),
        ("medication", "warfarin", "relative"),
    }


def test_examples_cover_every_status_and_json_follows_the_contract():
    result = CliRunner().invoke(cli, ["screen", str(EXAMPLES), "-f", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert len(data["patients"]) >= 12
    statuses = {f["status"] for p in data["patients"] for f in p["findings"]}
    assert statuses == {"contraindicated", "caution", "none"}
    finding = next(f for p in data["patients"] for f in p["findings"] if f["reasons"])
    assert {"treatment", "treatmentLabel", "status", "reasons"} <= set(finding)
    assert {"kind", "concept", "conceptLabel", "strength", "source"} <= set(finding["reasons"][0])


def test_screen_agrees_with_the_shacl_clinical_rule(built_graph: Graph):
    """One rule: the sessions SHACL flags, and with what severity, are those screening flags."""
    outcome = validate([EXAMPLES], built_graph)
    from_shacl = {
        (r.patient, r.shape.rsplit("-", 1)[-1]) for r in outcome.results if r.shape.startswith("mesokg:PlannedSession")
    }
    screened = screen([EXAMPLES], built_graph)
    from_screen = {
        (p.patient, strength)
        for p in screened.patients
        for f in p.findings
        for strength in {r.strength for r in f.reasons}
    }
    assert from_shacl and from_shacl == from_screen


def test_unknown_treatment_is_an_error():
    result = CliRunner().invoke(cli, ["screen", str(EXAMPLES / "01-healthy-adult.ttl"), "--treatment", "botox"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("mesokg: error: --treatment='botox' names no treatment")


def test_a_bad_file_does_not_hide_the_others(tmp_path: Path):
    missing = tmp_path / "missing.ttl"
    result = CliRunner().invoke(cli, ["screen", str(missing), str(EXAMPLES / "02-pregnant.ttl")])
    assert result.exit_code == 2
    assert "CONTRAINDICATED" in result.output
    assert "missing.ttl: file not found" in result.stderr
