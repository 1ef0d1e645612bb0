"""`mesokg lookup` and code resolution across the terminologies, through their hierarchies."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from mesokg.cli import cli
from mesokg.errors import MesokgError
from mesokg.lookup import codes_of, lookup
from mesokg.resolve import ResolutionError, resolve

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
    # B01AE07 (dabigatran etexilate) sits below B01AE, direct thrombin inhibitors: narrower than anticoagulants
    [hit] = lookup(built_graph, "ATC:B01AE07")
    assert hit.concept == M + "Anticoagulant" and hit.kind == "substance class"
    assert resolve(built_graph, "ATC:B01AE07", "role") == URIRef(M + "Anticoagulant")


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
