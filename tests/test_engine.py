"""The SPARQL engine: what it refuses, and the persistent store it can keep."""

from __future__ import annotations

import importlib
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from mesokg.cli import cli
from mesokg.engine import Engine
from mesokg.errors import MesokgError
from mesokg.graph import source_fingerprint
from mesokg.sparql_shacl import Unsupported, compile_shapes
from mesokg.store import KB_GRAPH as KB
from mesokg.validate import patient_shapes, validate

validate_module = importlib.import_module("mesokg.validate")  # the package exports the function of that name

EXAMPLES = Path(__file__).parents[1] / "examples" / "patients"
PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix mesokg: <https://w3id.org/mesokg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix ex: <https://example.org/shapes/> .
"""
MESOKG = "https://w3id.org/mesokg/"
UNSUPPORTED = {
    "pattern": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    'sh:property [ sh:path mesokg:bodySite ; sh:pattern "^a" ] .',
    "or": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:or ( [ sh:class mesokg:Patient ] ) .",
    "sequence-path": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:property [ sh:path ( mesokg:hasSession mesokg:treatment ) ; sh:minCount 1 ] .",
    "target-node": "ex:S a sh:NodeShape ; sh:targetNode mesokg:x ; "
    "sh:property [ sh:path mesokg:sex ; sh:minCount 1 ] .",
    "integer-datatype": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:property [ sh:path mesokg:age ; sh:datatype xsd:integer ] .",
    "subquery": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this WHERE '
    '{ { SELECT $this WHERE { $this ?p ?o } } }""" ] .',
    "severity-mismatch": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:severity sh:Warning ; sh:sparql "
    '[ sh:severity sh:Violation ; sh:select """SELECT $this WHERE { $this ?p ?o }""" ] .',
}


def shapes_with(turtle: str) -> Graph:
    shapes = patient_shapes()
    shapes.parse(data=PREFIXES + turtle, format="turtle")
    return shapes


@pytest.mark.parametrize("feature", UNSUPPORTED)
def test_features_it_does_not_evaluate_are_refused(feature: str):
    with pytest.raises(Unsupported):
        compile_shapes(shapes_with(UNSUPPORTED[feature]))


def test_the_patient_shapes_compile():
    checks = compile_shapes(patient_shapes())
    assert len(checks) >= 25


def test_auto_hands_unsupported_shapes_to_pyshacl(monkeypatch, built_graph: Graph):
    monkeypatch.setattr(validate_module, "patient_shapes", lambda: shapes_with(UNSUPPORTED["pattern"]))
    outcome = validate([EXAMPLES / "02-pregnant.ttl"], built_graph, engine="auto")
    assert outcome.engine == "pyshacl" and "sh:pattern" in outcome.note
    with pytest.raises(MesokgError, match="cannot evaluate these shapes"):
        validate([EXAMPLES / "02-pregnant.ttl"], built_graph, engine="sparql")


def test_a_persistent_store_keeps_the_knowledge_base_and_adds_days(tmp_path: Path, built_graph: Graph):
    store = tmp_path / "store"
    fingerprint = source_fingerprint()
    first = Engine(lambda: built_graph, fingerprint, store)
    assert first.kb_reloaded
    first.load([EXAMPLES / "02-pregnant.ttl"])
    del first
    kb_quads = sum(
        1 for _ in Engine(lambda: built_graph, fingerprint, store).store.ox.quads_for_pattern(None, None, None, KB)
    )
    second = Engine(lambda: built_graph, fingerprint, store)
    assert not second.kb_reloaded
    assert sum(1 for _ in second.store.ox.quads_for_pattern(None, None, None, KB)) == kb_quads
    second.load([EXAMPLES / "03-breastfeeding.ttl", EXAMPLES / "02-pregnant.ttl"])  # the second file again
    assert len(second.store.data_graphs()) == 2
    patients = {p.patient for p in second.screen()}
    assert patients == {"https://example.org/clinic/beatriz", "https://example.org/clinic/chloe"}


def test_a_bad_file_leaves_nothing_in_the_store(tmp_path: Path, built_graph: Graph):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix mesokg: <https://w3id.org/mesokg/> .\n<urn:p> a mesokg:Patient .\n<urn:p> mesokg:sex "x\n')
    engine = Engine(lambda: built_graph, source_fingerprint(), tmp_path / "store")
    loaded = engine.load([bad, EXAMPLES / "02-pregnant.ttl"])
    assert len(loaded.errors) == 1 and "bad.ttl:3" in str(loaded.errors[0])
    assert len(engine.store.data_graphs()) == 1
    assert {p.patient for p in engine.screen()} == {"https://example.org/clinic/beatriz"}


def test_cli_store_validates_and_screens_everything_it_holds(tmp_path: Path):
    store = str(tmp_path / "store")
    runner = CliRunner()
    day1 = runner.invoke(cli, ["validate", "--store", store, str(EXAMPLES / "01-healthy-adult.ttl")])
    assert day1.exit_code == 0, day1.output
    day2 = runner.invoke(cli, ["screen", "--store", store, str(EXAMPLES / "02-pregnant.ttl"), "-f", "json"])
    assert day2.exit_code == 1
    everyone = runner.invoke(cli, ["screen", "--store", store, "-f", "json"])
    patients = {p["patient"] for p in json.loads(everyone.output)["patients"]}
    assert patients == {"https://example.org/clinic/alice", "https://example.org/clinic/beatriz"}
    assert runner.invoke(cli, ["screen", "--store", store, "--engine", "rdflib"]).exit_code == 2
    assert runner.invoke(cli, ["validate", "--store", store, "--engine", "pyshacl"]).exit_code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_big_file_shows_a_progress_bar_on_a_terminal_only(monkeypatch, tmp_path: Path):
    """Files over the bulk threshold stream into the store; on a terminal a bar shows how far it got."""
    import mesokg.store as store_module

    data = tmp_path / "patients.nt"
    data.write_text("".join(f'<urn:p{i}> <{MESOKG}birthDate> "1990-01-01" .\n' for i in range(2000)), encoding="utf-8")
    monkeypatch.setattr(store_module, "BULK_THRESHOLD", 1000)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    store = store_module.Store()
    graph = store.load_file(data, progress=True)
    assert sum(1 for _ in store.ox.quads_for_pattern(None, None, None, graph)) == 2000
    assert "loading patients.nt" in terminal.getvalue()

    piped = io.StringIO()  # not a terminal: no bar, same data
    monkeypatch.setattr(sys, "stderr", piped)
    again = store_module.Store()
    graph = again.load_file(data, progress=True)
    assert sum(1 for _ in again.ox.quads_for_pattern(None, None, None, graph)) == 2000
    assert piped.getvalue() == ""
