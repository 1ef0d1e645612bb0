"""`mesokg lookup` and code resolution across the terminologies, through their hierarchies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import simple_icd_10_cm as cm
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from mesokg.cli import cli
from mesokg.errors import MesokgError
from mesokg.mappings import read_sssom
from mesokg.resolve import ResolutionError, codes_of, lookup, resolve
from mesokg.resources import ontology_dir
from mesokg.screening import screen

M = "https://w3id.org/mesokg/"


def run(*args: str):
    return CliRunner().invoke(cli, ["lookup", *args])


@pytest.mark.parametrize(
    ("code", "concept", "label"),
    [
        ("SNOMEDCT:77386006", "pregnancy", "pregnancy"),
        ("ICD10CM:E11.65", "type-2-diabetes-mellitus", "type 2 diabetes mellitus"),
        ("ATC:B01AA03", "warfarin", "warfarin"),
    ],
)
def test_the_three_codes_of_the_issue_resolve_on_the_command_line(code: str, concept: str, label: str):
    result = run(code)
    assert result.exit_code == 0, result.output
    assert f"-> mesokg:{concept} ({label})" in result.output
    data = json.loads(run(code, "-f", "json").output)
    assert [hit["concept"] for hit in data["concepts"]] == [M + concept]


def test_a_code_below_a_mapped_code_says_which_code_matched(built_graph: Graph):
    [hit] = lookup(built_graph, "ICD10CM:E11.65")
    assert hit.matchedBy == "ICD10CM:E11, above ICD10CM:E11.65"
    assert any(c.curie == "ICD10CM:E11" and c.display == "Type 2 diabetes mellitus" for c in hit.codes)


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        ("ICD11:5A11", "type-2-diabetes-mellitus"),
        ("ICD11:4A40.0", "systemic-lupus-erythematosus"),
        ("SNOMEDCT:44054006", "type-2-diabetes-mellitus"),
        ("ATC:N01BB02", "lidocaine"),
        ("MESH:D057748", "mesotherapy"),
    ],
)
def test_codes_of_each_terminology_resolve(built_graph: Graph, code: str, concept: str):
    assert [h.concept for h in lookup(built_graph, code)] == [M + concept]


def test_an_atc_code_of_a_drug_outside_the_graph_resolves_to_its_class(built_graph: Graph):
    # B01AE06 (bivalirudin, not in the graph) sits below B01AE, direct thrombin inhibitors: narrower than anticoagulants
    [hit] = lookup(built_graph, "ATC:B01AE06")
    assert hit.concept == M + "Anticoagulant" and hit.kind == "substance class"
    assert resolve(built_graph, "ATC:B01AE06", "role") == URIRef(M + "Anticoagulant")


def test_a_broader_code_is_not_followed_to_a_narrower_concept(built_graph: Graph):
    # mesokg:keloid skos:broadMatch ICD10CM:L91.0 (hypertrophic scar): a hypertrophic scar need not be a keloid
    assert (URIRef(M + "keloid"), URIRef("http://www.w3.org/2004/02/skos/core#broadMatch"), None) in built_graph
    assert lookup(built_graph, "ICD10CM:L91.0") == []
    with pytest.raises(ResolutionError, match=r"nearest mapped code: ICD10CM:L91\.0, which is broader than"):
        resolve(built_graph, "ICD10CM:L91.0", "condition")


def test_unmapped_code_names_the_nearest_code_with_a_mapping(built_graph: Graph):
    # warfarin's ATC code is mapped, but to a substance: asked for as a condition, the error says so
    with pytest.raises(ResolutionError, match=r"nearest mapped code: ATC:B01AA03, which is mapped to mesokg:warfarin"):
        resolve(built_graph, "ATC:B01AA03", "condition")


def test_labels_and_synonyms_any_case(built_graph: Graph):
    [hit] = lookup(built_graph, "ECCHYMOSIS")
    assert hit.concept == M + "bruising" and hit.matchedBy == 'synonym "ecchymosis"'
    assert any(c.curie.startswith("SNOMEDCT:") and c.display is None for c in hit.codes)  # licensed: no label


def test_a_code_that_names_nothing_says_what_the_nearest_mapped_code_is():
    result = run("ICD10CM:L91.0")  # keloid is mapped to it as broader only
    assert result.exit_code == 1
    assert "names nothing in the graph; nearest mapped code: ICD10CM:L91.0, which is broader than" in result.output


def test_exit_codes():
    assert run("no such concept at all").exit_code == 1
    assert run("ICD10CM:J45.909").exit_code == 1  # a real code that nothing is mapped to
    bad = run("SNOMEDCT:77386007")  # check digit wrong
    assert bad.exit_code == 2 and "not a valid SNOMED CT code" in bad.output and "Traceback" not in bad.output
    assert run("ICD10CM:E99.99").exit_code == 2
    unknown = run("FOO:123")
    assert unknown.exit_code == 2 and "not a code system mesokg knows" in unknown.output


def test_invalid_code_raises_in_the_library(built_graph: Graph):
    with pytest.raises(MesokgError, match="not a valid ICD-11 MMS code"):
        lookup(built_graph, "ICD11:5A1Z")


def test_codes_of_a_concept_carry_fhir_systems(built_graph: Graph):
    codes = {c.curie: c for c in codes_of(built_graph, URIRef(M + "warfarin"))}
    assert codes["ATC:B01AA03"].system == "http://www.whocc.no/atc"
    assert codes["ATC:B01AA03"].match == "exactMatch"


# ---- issue 11: SNOMED CT substance ids, pregnancy from the ICD-10-CM O chapter, FHIR records coded by code only --
FHIR_CODES = Path(__file__).parent / "data" / "fhir-codes"
FOLLOWED = ("skos:exactMatch", "skos:closeMatch", "skos:narrowMatch")
SNOMED_ROWS = [
    row
    for path in sorted((ontology_dir() / "mappings").glob("*_snomedct.sssom.tsv"))
    for row in read_sssom(path).rows
    if row["predicate_id"] in FOLLOWED
]
NOT_NOW = ("puerper", "postpartum", "childbirth", "delivery", "delivered")


def _is_substance(graph: Graph, iri: URIRef) -> bool:
    substance = URIRef(M + "Substance")
    return any(substance in set(graph.transitive_objects(t, RDFS.subClassOf)) for t in graph.objects(iri, RDF.type))


# every substance row names the "(substance)" hierarchy in its justification (the test after this one checks it)
SUBSTANCE_ROWS = [row for row in SNOMED_ROWS if "(substance)" in row["comment"]]


@pytest.mark.parametrize("row", SUBSTANCE_ROWS, ids=lambda r: f"{r['subject_id']}->{r['object_id']}")
def test_each_substance_resolves_from_its_snomed_ct_id(built_graph: Graph, row: dict):
    subject = URIRef(M + row["subject_id"].removeprefix("mesokg:"))
    assert _is_substance(built_graph, subject)
    assert [h.concept for h in lookup(built_graph, row["object_id"])] == [str(subject)]
    assert resolve(built_graph, row["object_id"], "substance") == subject


def test_every_substance_snomed_row_is_a_substance_with_two_sources_in_its_comment(built_graph: Graph):
    rows = [r for r in SNOMED_ROWS if _is_substance(built_graph, URIRef(M + r["subject_id"].removeprefix("mesokg:")))]
    assert rows, "no substance carries a SNOMED CT id"
    for row in rows:
        assert "(1) " in row["comment"] and "(2) " in row["comment"] and "(substance)" in row["comment"], row


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        ("ICD10CM:Z3A.20", "pregnancy"),
        ("ICD10CM:O26.891", "pregnancy"),
        ("ICD10CM:O24.410", "pregnancy"),
        ("ICD10CM:O09.A0", "pregnancy"),
        ("ICD10CM:Z3A.36", "third-trimester-of-pregnancy"),
        ("ICD10CM:O26.893", "third-trimester-of-pregnancy"),
    ],
)
def test_pregnancy_codes_resolve_to_pregnancy(code: str, concept: str, built_graph: Graph):
    assert [h.concept for h in lookup(built_graph, code)] == [M + concept]
    assert resolve(built_graph, code, "condition") == URIRef(M + concept)


def test_weeks_of_gestation_and_an_o_chapter_code_resolve_to_pregnancy_on_the_command_line():
    for code, matched in (("ICD10CM:Z3A.20", "ICD10CM:Z3A"), ("ICD10CM:O26.891", "ICD10CM:O26.8")):
        result = run(code)
        assert result.exit_code == 0, result.output
        assert f"-> mesokg:pregnancy (pregnancy), condition; matched by {matched}, above {code}" in result.output


@pytest.mark.parametrize(
    "code", ["ICD10CM:O24.43", "ICD10CM:O90.81", "ICD10CM:O80", "ICD10CM:O99.893", "ICD10CM:O14.04"]
)
def test_puerperium_childbirth_and_delivery_codes_do_not_mean_pregnant_now(code: str, built_graph: Graph):
    with pytest.raises(ResolutionError):
        resolve(built_graph, code, "condition")


def _leaves(code: str) -> list[str]:
    children = cm.get_children(code)
    return [leaf for child in children for leaf in _leaves(child)] if children else [code]


def test_no_o_chapter_code_about_childbirth_or_the_puerperium_resolves_to_pregnancy(built_graph: Graph):
    """The rule of decision 0006: an O-chapter code means a current pregnancy unless its title says childbirth,
    delivery, puerperium or postpartum (a 'without delivery' code still means pregnant)."""
    pregnancy = set(built_graph.transitive_subjects(RDFS.subClassOf, URIRef(M + "pregnancy")))  # and its subclasses
    mapped = {
        str(target).rsplit("/", 1)[1]
        for concept in pregnancy
        for predicate in (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch)
        for target in built_graph.objects(concept, predicate)
        if str(target).startswith("http://purl.bioontology.org/ontology/ICD10CM/")
    }
    for leaf in _leaves("15"):
        title = cm.get_description(leaf).lower()
        if any(word in title for word in NOT_NOW) and "without delivery" not in title:
            assert not ({leaf, *cm.get_ancestors(leaf)} & mapped), f"{leaf} {title!r} resolves to pregnancy"


def test_a_fhir_condition_coded_o24_410_screens_as_pregnant(built_graph: Graph):
    (patient,) = screen(
        [FHIR_CODES / "gestational-diabetes-icd10cm-only.json"], built_graph, "mesokg:hyaluronic-acid-skin-booster"
    ).patients
    (finding,) = patient.findings
    assert finding.status == "contraindicated"
    pregnancy = [r for r in finding.reasons if r.concept == M + "pregnancy"]
    assert pregnancy and {r.strength for r in pregnancy} == {"absolute"}
    assert all("ICD10CM:O24.410" in r.recordCodes for r in pregnancy)


def test_a_fhir_allergy_coded_with_a_snomed_ct_substance_id_screens_as_that_allergy(built_graph: Graph):
    (patient,) = screen(
        [FHIR_CODES / "lidocaine-allergy-snomed-substance.json"],
        built_graph,
        "mesokg:methylxanthine-cellulite-mesotherapy",
    ).patients
    (finding,) = patient.findings
    assert finding.status == "contraindicated"
    allergy = [r for r in finding.reasons if r.kind == "allergy"]
    assert allergy and {r.concept for r in allergy} == {M + "lidocaine"}
    assert {r.contraindicatedIn.removeprefix(M) for r in allergy} >= {"amide-local-anaesthetic-hypersensitivity"}
    assert all("SNOMEDCT:387480006" in r.recordCodes for r in allergy)
