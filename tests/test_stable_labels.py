"""Stable blank-node labels: every RDF output is written from rdfio.canonical_graph (RDFC-1.0 labels, sorted
triples), and a blank node shown in text or JSON is labelled from its triples, so the same input gives the same
bytes on every run, whatever labels the parser gave and in whatever order the triples came."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph
from rdflib.compare import isomorphic

from mesokg import api
from mesokg.cli import cli
from mesokg.graph import build_graph, write_outputs
from mesokg.rdfio import canonical_graph

INVALID = Path(__file__).parent / "data" / "invalid"
SHAPES = (
    "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/data/> .\n"
    "ex:S a sh:NodeShape ; sh:targetNode ex:a , ex:b ; sh:property [ sh:path ex:p ; sh:node ex:T ] .\n"
    "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .\n"
)
DATA = [  # blank values, one reached from two focus nodes, so details and labels both matter
    "<https://example.org/data/a> <https://example.org/data/p> _:x .",
    "<https://example.org/data/a> <https://example.org/data/p> _:y .",
    "<https://example.org/data/b> <https://example.org/data/p> _:y .",
    '_:x <https://example.org/data/r> "1" .',
    '_:y <https://example.org/data/r> "2" .',
    "<https://example.org/data/b> <https://example.org/data/p> <https://example.org/data/c> .",
]


def relabelled(lines: list[str], seed: int) -> str:
    """The same N-Triples in another order, each blank node under another label."""
    rng = random.Random(seed)
    names = {
        label: f"n{rng.randrange(10**9)}x{i}"
        for i, label in enumerate(sorted(set(re.findall(r"_:\w+", "".join(lines)))))
    }
    shuffled = [re.sub(r"_:\w+", lambda m: f"_:{names[m[0]]}", line) for line in lines]
    rng.shuffle(shuffled)
    return "\n".join(shuffled) + "\n"


def shuffled_copy(graph: Graph, seed: int) -> Graph:
    """The same graph, its triples added in another order, every blank node renamed."""
    rng = random.Random(seed)
    names: dict = {}
    triples = list(graph)
    rng.shuffle(triples)
    copy = Graph(bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)
    for triple in triples:
        copy.add(tuple(names.setdefault(t, BNode()) if isinstance(t, BNode) else t for t in triple))
    return copy


@pytest.mark.parametrize("engine", ["sparql", "pyshacl"])
@pytest.mark.parametrize("fmt", ["turtle", "json", "text"])
def test_validate_gives_the_same_bytes_for_the_same_data(tmp_path: Path, engine: str, fmt: str):
    (tmp_path / "s.ttl").write_text(SHAPES, encoding="utf-8")
    outputs = []
    for seed in (1, 2):
        data = tmp_path / str(seed) / "d.nt"
        data.parent.mkdir()
        data.write_text(relabelled(DATA, seed), encoding="utf-8")
        args = ["validate", str(data), "--shapes", str(tmp_path / "s.ttl"), "--no-kb", "--engine", engine, "-f", fmt]
        out = CliRunner().invoke(cli, args)
        assert out.exit_code == 1, out.output
        outputs.append(out.output.replace(str(data), "DATA"))
    assert outputs[0] == outputs[1]
    assert "_:" in outputs[0] or fmt == "turtle"  # blank nodes are shown, by label
    if fmt == "turtle":
        assert "c14n" in outputs[0] and "sh:detail" in outputs[0]


def test_the_patient_example_with_an_untyped_blank_node_is_the_same_twice():
    outputs = [CliRunner().invoke(cli, ["validate", str(INVALID), "-f", fmt]).output for fmt in ("text", "text")]
    assert outputs[0] == outputs[1] and re.search(r"_:b[0-9a-f]{16}\b", outputs[0])
    reports = [CliRunner().invoke(cli, ["validate", str(INVALID), "-f", "turtle"]).output for _ in range(2)]
    assert reports[0] == reports[1]


def test_canonical_graph_ignores_labels_and_order(fixture_graph: Graph):
    graph = build_graph_like(fixture_graph)
    assert any(isinstance(t, BNode) for triple in graph for t in triple), "the fixture world has blank nodes"
    first, second = canonical_graph(graph), canonical_graph(shuffled_copy(graph, 7))
    assert isomorphic(first, graph) and len(first) == len(graph)
    for fmt in ("turtle", "nt", "xml", "json-ld"):
        assert first.serialize(format=fmt) == second.serialize(format=fmt), fmt


def build_graph_like(graph: Graph) -> Graph:
    copy = Graph()
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        copy.add(triple)
    return copy


def test_build_outputs_are_byte_identical(fixture_world: Path, tmp_path: Path):
    graph = build_graph(fixture_world)
    written = [write_outputs(g, tmp_path / name) for name, g in (("a", graph), ("b", shuffled_copy(graph, 3)))]
    assert len(written[0]) == 4
    for one, other in zip(*written, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


CONSTRUCT = """PREFIX ex: <https://example.org/data/>
CONSTRUCT { ?s ex:seen [ ex:what ?o ] } WHERE { ?s ex:p ?o }"""


def test_construct_output_is_the_same_twice(tmp_path: Path, fixture_world: Path):
    (tmp_path / "q.rq").write_text(CONSTRUCT, encoding="utf-8")
    (tmp_path / "d.nt").write_text("\n".join(DATA) + "\n", encoding="utf-8")
    outputs = [
        api.query(tmp_path / "q.rq", data=[tmp_path / "d.nt"], source=fixture_world).text("turtle") for _ in range(2)
    ]
    assert outputs[0] == outputs[1] and "c14n" in outputs[0]
    triples = [api.query(tmp_path / "q.rq", data=[tmp_path / "d.nt"], source=fixture_world).as_dict() for _ in range(2)]
    assert triples[0] == triples[1]
