"""Quality checks: every queries/checks/*-violation.rq returns no rows on the built graph, and each one
fires on a known-bad snippet (tests/data/checks/<name>.ttl), so that none of them can pass vacuously."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.sparql import prepareQuery

from mesokg.backends import GraphStore
from mesokg.checks import run_checks
from mesokg.prefixes import expand
from mesokg.rdfio import ox_quads
from mesokg.resources import queries_dir

CHECKS = sorted((queries_dir() / "checks").glob("*-violation.rq"))
BAD = Path(__file__).parent / "data" / "checks"


def test_there_are_checks():
    assert len(CHECKS) >= 6


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: p.stem)
def test_check_has_header_and_parses(path: Path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# title: ")
    assert "\n# description: " in text
    query = prepareQuery(text)
    assert [str(v) for v in query.algebra["PV"]] == ["entity", "problem"]


@pytest.fixture(scope="module")
def results(built_graph: Graph) -> dict:
    return run_checks(built_graph)


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: p.stem)
def test_check_passes_on_the_built_graph(results: dict, path: Path):
    rows = results[path.stem]
    assert rows == [], f"{path.stem}: " + "; ".join(" ".join(str(v) for v in row) for row in rows)


@pytest.fixture(scope="module")
def scratch(built_graph: Graph) -> GraphStore:
    """A private in-memory copy of the built graph; each test below adds its bad example as scratch triples
    and takes them out again."""
    return GraphStore(built_graph)


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: p.stem)
def test_check_fires_on_its_bad_example(built_graph: Graph, scratch: GraphStore, path: Path):
    bad = BAD / f"{path.stem}.ttl"
    assert bad.exists(), f"no bad example for {path.stem}"
    first = bad.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# offender: ")
    offender = URIRef(expand(first.removeprefix("# offender: ").strip()))
    added = Graph()
    for triple in Graph().parse(bad, format="turtle"):
        if triple not in built_graph:
            added.add(triple)
    assert len(added), f"{bad.name} adds nothing to the graph"
    scratch.add_scratch(list(ox_quads(added)))
    try:
        rows = run_checks(scratch, [path.stem])[path.stem]
    finally:
        scratch.clear_scratch()
    assert str(offender) in {row[0] for row in rows}, f"{path.stem} did not name {offender}: {rows}"


def test_a_check_on_a_graph_gives_what_rdflib_gives(fixture_graph: Graph):
    """The checks run in oxigraph's engine (mesokg.backends.graph_store); rdflib's answers are the
    reference. The fixture world plus every bad example makes each check return rows."""
    graph = Graph()
    graph += fixture_graph
    for bad in sorted(BAD.glob("*.ttl")):
        graph.parse(bad, format="turtle")
    expected = {
        path.stem: sorted((str(row[0]), str(row[1])) for row in graph.query(path.read_text(encoding="utf-8")))
        for path in CHECKS
    }
    assert sum(map(len, expected.values())) > len(CHECKS)
    assert run_checks(graph) == expected
