"""The version of a product label (decision 0013): a printed revision, a dated DailyMed SPL version, or a
recorded gap. The check product-label-without-version-violation tells them apart on small graphs of one label
each, and the label-revisions question shows each kind."""

from __future__ import annotations

import pytest
from rdflib import Graph

from mesokg.checks import run_checks
from mesokg.queries import named_queries, rows_of, run_query

CHECK = "product-label-without-version-violation"
PREFIXES = """@prefix mesokg: <https://w3id.org/mesokg/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
REVISED = '; mesokg:revisionDate "2019-04"^^xsd:gYearMonth '
SET_ID = '; mesokg:splSetId "00000000-0000-0000-0000-000000000000" '
VERSION = "; mesokg:splVersion 24 "
DATE = '; mesokg:versionDate "2024-10-30"^^xsd:date '
GAP = '; mesokg:versionNotFound "searched: the holder\'s site; no revision line" '


def turtle(name: str, *parts: str) -> str:
    return f'mesokg:{name} a mesokg:ProductLabel ; rdfs:label "{name}"@en ' + "".join(parts) + ".\n"


OTHERS = turtle("label-printed", REVISED) + turtle("label-spl", SET_ID, VERSION, DATE) + turtle("label-gap", GAP)


def label(*parts: str) -> Graph:
    """Label X with `parts`, beside three labels that pass (so that a check whose conditions were not tied to
    the label it names would give the wrong answer)."""
    return Graph().parse(data=PREFIXES + turtle("label-x", *parts) + OTHERS, format="turtle")


def problems(graph: Graph) -> list[str]:
    rows = run_checks(graph, [CHECK])[CHECK]
    assert {entity for entity, _ in rows} <= {"https://w3id.org/mesokg/label-x"}, rows
    return [problem for _, problem in rows]


@pytest.mark.parametrize(
    "parts",
    [(REVISED,), (SET_ID, VERSION, DATE), (REVISED, SET_ID, VERSION, DATE), (GAP,)],
    ids=["printed revision", "dated SPL version", "both", "recorded gap"],
)
def test_a_label_with_a_version_or_a_recorded_gap_passes(parts: tuple[str, ...]):
    assert problems(label(*parts)) == []


def test_a_label_with_nothing_is_flagged():
    [problem] = problems(label())
    assert "no revisionDate, no dated SPL version" in problem


@pytest.mark.parametrize(
    "parts",
    [(VERSION,), (SET_ID, VERSION), (VERSION, DATE), (SET_ID, DATE), (REVISED, VERSION)],
    ids=["number only", "undated", "no set id", "no number", "revision and a bare number"],
)
def test_an_spl_version_without_its_set_id_number_and_date_is_flagged(parts: tuple[str, ...]):
    assert any("needs its set id" in problem for problem in problems(label(*parts)))


@pytest.mark.parametrize("parts", [(GAP, REVISED), (GAP, SET_ID, VERSION, DATE)], ids=["revision", "SPL version"])
def test_a_gap_beside_a_version_is_flagged(parts: tuple[str, ...]):
    assert any("gap" in problem for problem in problems(label(*parts)))


def test_label_revisions_shows_the_revision_the_spl_version_and_the_gap():
    graph = label(SET_ID, VERSION, DATE)
    query = named_queries()["label-revisions"]
    names, rows = rows_of(run_query(graph, query, query.example))
    by_label = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
    assert by_label["mesokg:label-x"]["splVersion"] == "24"
    assert by_label["mesokg:label-x"]["versionDate"] == "2024-10-30"
    assert by_label["mesokg:label-x"]["splSetId"] == "00000000-0000-0000-0000-000000000000"
    assert by_label["mesokg:label-x"]["revision"] == ""
    assert by_label["mesokg:label-printed"]["revision"] == "2019-04"
    assert by_label["mesokg:label-printed"]["splVersion"] == ""
    assert by_label["mesokg:label-gap"]["versionNotFound"].startswith("searched:")
