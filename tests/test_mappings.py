"""Mappings to clinical terminologies: verified codes, loaded as skos matches, used to resolve codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import simple_icd_10_cm as cm
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from mesokg.errors import InputError
from mesokg.graph import build_graph
from mesokg.mappings import read_sssom
from mesokg.prefixes import prefix_map
from mesokg.resolve import ResolutionError, resolve
from mesokg.resources import ontology_dir

M = "https://w3id.org/mesokg/"
SETS = sorted((ontology_dir() / "mappings").glob("*.sssom.tsv"))
ICD10CM_ROWS = [row for s in SETS for row in read_sssom(s).rows if row["object_id"].startswith("ICD10CM:")]


def test_mapping_sets_have_their_metadata():
    assert SETS
    for path in SETS:
        metadata = read_sssom(path).metadata
        assert metadata["mapping_set_id"].endswith(path.name)
        assert metadata["license"].startswith("https://")
        for prefix, iri in metadata["curie_map"].items():
            assert prefix_map()[prefix] == iri, f"{path.name}: curie_map {prefix}"


@pytest.mark.parametrize("row", ICD10CM_ROWS, ids=lambda r: r["object_id"])
def test_icd10cm_code_exists_with_its_title(row: dict, built_graph: Graph):
    code = row["object_id"].removeprefix("ICD10CM:")
    assert cm.is_valid_item(code), f"{code} is not an ICD-10-CM code"
    assert cm.get_description(code) == row["object_label"]
    subject = URIRef(M + row["subject_id"].removeprefix("mesokg:"))
    assert (subject, SKOS.exactMatch, URIRef(prefix_map()["ICD10CM"] + code)) in built_graph
    assert str(built_graph.value(subject, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))) == row["subject_label"]


@pytest.mark.parametrize(
    ("code", "concept"),
    [
        ("ICD10CM:E11", "type-2-diabetes-mellitus"),
        ("ICD10CM:E11.9", "type-2-diabetes-mellitus"),
        ("ICD10CM:E11.65", "type-2-diabetes-mellitus"),
        ("icd10cm:E10.9", None),  # prefixes are case-sensitive: not a code system of the graph
        ("ICD10CM:M32.14", "systemic-lupus-erythematosus"),
    ],
)
def test_codes_resolve_through_the_icd10cm_hierarchy(built_graph: Graph, code: str, concept: str | None):
    if concept is None:
        with pytest.raises(ResolutionError):
            resolve(built_graph, code, "condition")
    else:
        assert resolve(built_graph, code, "condition") == URIRef(M + concept)


def test_invalid_and_unmapped_codes_are_clear_errors(built_graph: Graph):
    with pytest.raises(ResolutionError, match="not a valid ICD-10-CM code"):
        resolve(built_graph, "ICD10CM:E99.99", "condition")
    with pytest.raises(ResolutionError, match="no condition of the graph is mapped to this code or any code above"):
        resolve(built_graph, "ICD10CM:J45.909", "condition")
    with pytest.raises(ResolutionError, match="no concept of the graph is mapped to the MEDDRA code system"):
        resolve(built_graph, "MEDDRA:10012345", "condition")


def test_malformed_mapping_file_is_an_input_error(world: Path):
    (world / "mappings").mkdir()
    (world / "mappings" / "bad.sssom.tsv").write_text(
        "# curie_map:\n#   mesokg: https://w3id.org/mesokg/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
        "mesokg:fx-fat\tskos:exactMatch\tICD10CM:E65\tsemapv:ManualMappingCuration\n"
    )
    with pytest.raises(InputError, match=r"bad\.sssom\.tsv:4: 'skos:exactMatch' has no prefix"):
        build_graph(world)
