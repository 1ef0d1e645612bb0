"""FHIR bundles end to end: import, validate and screen, with the codes of every reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from mesokg.cli import cli

M = "https://w3id.org/mesokg/"
EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"
PREGNANT = EXAMPLES / "pregnant-type-2-diabetes-warfarin.json"
FHIR_NAMED = {"SNOMEDCT", "ICD10CM", "ICD11", "ATC", "RXNORM"}  # code systems with a FHIR system URI


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def findings(output: str) -> dict[str, dict]:
    return {f["treatment"]: f for p in json.loads(output)["patients"] for f in p["findings"]}


def test_pregnant_diabetic_on_warfarin_screened_directly_reports_every_reason_with_its_code():
    result = invoke("screen", str(PREGNANT), "-f", "json")
    assert result.exit_code == 1, result.output
    [finding] = findings(result.output).values()
    assert finding["status"] == "contraindicated"
    by_concept = {}
    for reason in finding["reasons"]:
        by_concept.setdefault(reason["concept"], []).append(reason)
    assert set(by_concept) == {M + "pregnancy", M + "type-2-diabetes-mellitus", M + "warfarin"}
    expected_codes = {
        M + "pregnancy": ("SNOMEDCT:77386006", "SNOMEDCT:77386006"),
        M + "type-2-diabetes-mellitus": ("SNOMEDCT:44054006", "ICD10CM:E11"),
        M + "warfarin": ("ATC:B01AA03", "ATC:B01AA03"),
    }
    for concept, (record_code, mapped_code) in expected_codes.items():
        for reason in by_concept[concept]:
            assert record_code in reason["recordCodes"], reason
            assert mapped_code in {c["curie"] for c in reason["codes"]}, reason
            fhir_named = [c for c in reason["codes"] if c["curie"].split(":")[0] in FHIR_NAMED]
            assert fhir_named and all(c["system"] and c["code"] for c in fhir_named), reason
    assert {r["strength"] for r in by_concept[M + "pregnancy"]} == {"absolute"}
    assert {r["kind"] for r in by_concept[M + "warfarin"]} == {"medication"}
    diabetes = by_concept[M + "type-2-diabetes-mellitus"]
    icd10 = next(c for r in diabetes for c in r["codes"] if c["curie"] == "ICD10CM:E11")
    assert icd10["system"] == "http://hl7.org/fhir/sid/icd-10-cm" and icd10["display"] == "Type 2 diabetes mellitus"


def test_import_then_screen_gives_what_screening_the_bundle_gives(tmp_path: Path):
    out = tmp_path / "patient.ttl"
    imported = invoke("import-fhir", str(PREGNANT), "-o", str(out))
    assert imported.exit_code == 0, imported.output
    graph = Graph().parse(out)
    assert (None, RDF.type, URIRef(M + "Patient")) in graph
    assert (None, URIRef(M + "medication"), URIRef(M + "warfarin")) in graph  # codes resolved on import
    assert (None, RDF.type, URIRef(M + "Treatment")) not in graph  # the knowledge base is not copied in
    direct, via_turtle = invoke("screen", str(PREGNANT), "-f", "json"), invoke("screen", str(out), "-f", "json")
    assert findings(direct.output) == findings(via_turtle.output)


# bundle -> (exit code of validate, exit code of screen, the statuses its planned sessions get)
KNOWN_OUTCOMES = {
    "healthy-skin-booster.json": (0, 0, {"none"}),
    "pregnant-type-2-diabetes-warfarin.json": (1, 1, {"contraindicated"}),  # pregnancy: absolute
    "resolved-diabetes-apixaban-lidocaine-allergy.json": (1, 1, {"contraindicated"}),  # lidocaine allergy
}


def test_every_example_bundle_has_a_known_outcome():
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(KNOWN_OUTCOMES)


@pytest.mark.parametrize("name", sorted(KNOWN_OUTCOMES))
def test_every_example_bundle_imports_validates_and_screens_with_its_known_outcome(name: str):
    path = EXAMPLES / name
    validated, screened, statuses = KNOWN_OUTCOMES[name]
    imported = invoke("import-fhir", str(path))
    assert imported.exit_code == 0, imported.output
    assert (None, RDF.type, URIRef(M + "Patient")) in Graph().parse(data=imported.output, format="turtle")
    assert invoke("validate", str(path)).exit_code == validated
    assert invoke("screen", str(path)).exit_code == screened
    result = invoke("screen", str(path), "-f", "json")
    assert result.exit_code == screened
    assert {f["status"] for f in findings(result.output).values()} == statuses


def test_validate_accepts_a_bundle_and_flags_the_contraindicated_session():
    result = invoke("validate", str(PREGNANT), "-f", "json")
    assert result.exit_code == 1
    shapes = {r["shape"] for r in json.loads(result.output)["results"]}
    assert {"mesokg:PlannedSessionShape-absolute", "mesokg:PlannedSessionShape-relative"} <= shapes


def test_a_drug_known_only_by_its_atc_class_counts_as_an_anticoagulant(tmp_path: Path):
    bundle = json.loads(PREGNANT.read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "MedicationStatement":
            resource["medicationCodeableConcept"] = {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "B01AE06", "display": "bivalirudin"}]
            }
    path = tmp_path / "bivalirudin.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    [finding] = findings(invoke("screen", str(path), "-f", "json").output).values()
    medication = [r for r in finding["reasons"] if r["kind"] == "medication"]
    assert {r["contraindicatedIn"] for r in medication} >= {M + "anticoagulant-therapy"}
    assert {r["concept"] for r in medication} == {"http://purl.bioontology.org/ontology/ATC/B01AE06"}
    assert {r["conceptLabel"] for r in medication} == {"bivalirudin"}


def test_malformed_bundle_is_one_line_with_the_json_path_and_nothing_written(tmp_path: Path):
    bundle = json.loads(PREGNANT.read_text(encoding="utf-8"))
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["resource"]["birthDate"] = "31/12/1990"
    index = bundle["entry"].index(patient)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    out = tmp_path / "out.ttl"
    for args in (["import-fhir", str(path), "-o", str(out)], ["screen", str(path)], ["validate", str(path)]):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert f"$.entry[{index}].resource.birthDate" in result.output and str(path) in result.output
        assert "Traceback" not in result.output
    assert not out.exists()


def test_import_never_overwrites_its_input(tmp_path: Path):
    path = tmp_path / "bundle.json"
    path.write_bytes(PREGNANT.read_bytes())
    result = invoke("import-fhir", str(path), "-o", str(path))
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert path.read_bytes() == PREGNANT.read_bytes()


def test_a_directory_mixing_turtle_and_bundles_is_screened_whole(tmp_path: Path):
    (tmp_path / "fhir.json").write_bytes(PREGNANT.read_bytes())
    turtle = Path(__file__).parents[1] / "examples" / "patients" / "02-pregnant.ttl"
    (tmp_path / "beatriz.ttl").write_bytes(turtle.read_bytes())
    patients = json.loads(invoke("screen", str(tmp_path), "-f", "json").output)["patients"]
    assert len(patients) == 2
