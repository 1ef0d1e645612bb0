"""Building: merging the sources, the rules, the four output formats, all-or-nothing writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from mesokg.errors import InputError
from mesokg.graph import OUTPUT_FORMATS, build_graph, stats, write_outputs

M = "https://w3id.org/mesokg/"
PROV_DERIVED = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")


def m(local: str) -> URIRef:
    return URIRef(M + local)


def test_direct_properties_are_built_from_the_nodes(world: Path):
    graph = build_graph(world, materialise=False)
    assert (m("fx-lipo-treatment"), m("indicatedFor"), m("fx-fat")) in graph
    assert (m("fx-procedure"), m("contraindicatedIn"), m("fx-state")) in graph
    assert (m("fx-procedure"), m("hasAdverseEffect"), m("fx-bruise")) in graph
    assert (m("fx-vitamin"), m("ingredientOf"), m("fx-vitamin-treatment")) in graph
    # nothing inherited without materialisation
    assert (m("fx-vitamin-treatment"), m("contraindicatedIn"), m("fx-state")) not in graph


def test_inheritance_is_materialised_and_marked(world: Path):
    graph = build_graph(world)
    # from the procedure, to both treatments; from the ingredient, to the treatment containing it only
    assert (m("fx-vitamin-treatment"), m("contraindicatedIn"), m("fx-state")) in graph
    assert (m("fx-lipo-treatment"), m("contraindicatedIn"), m("fx-state")) in graph
    assert (m("fx-lipo-treatment"), m("contraindicatedIn"), m("fx-allergy")) in graph
    assert (m("fx-vitamin-treatment"), m("contraindicatedIn"), m("fx-allergy")) not in graph
    assert (m("fx-vitamin-treatment"), m("hasAdverseEffect"), m("fx-bruise")) in graph
    # indications are not inherited
    assert (m("fx-vitamin-treatment"), m("indicatedFor"), m("fx-fat")) not in graph

    node = m("inferred-fx-lipo-treatment-fx-ci-anaesthetic")
    assert (node, m("inferred"), Literal(True)) in graph
    assert (node, m("subject"), m("fx-lipo-treatment")) in graph
    assert (node, m("strength"), m("absolute")) in graph
    assert (node, PROV_DERIVED, m("fx-ci-anaesthetic")) in graph
    assert (node, m("via"), m("fx-anaesthetic")) in graph
    assert (node, URIRef("http://purl.org/dc/terms/source"), m("fx-source")) in graph
    counts = stats(graph)
    assert counts["contraindications (curated)"] == 2
    assert counts["contraindications (inferred)"] == 3
    assert counts["adverse-effect assertions (inferred)"] == 2


def test_build_is_deterministic(world: Path):
    first, second = build_graph(world), build_graph(world)
    assert isomorphic(first, second)


def test_four_formats_hold_the_same_graph(world: Path, tmp_path: Path):
    graph = build_graph(world)
    written = write_outputs(graph, tmp_path / "out")
    assert [p.suffix for p in written] == [f.suffix for f in OUTPUT_FORMATS]
    reference = to_isomorphic(graph)
    for fmt, path in zip(OUTPUT_FORMATS, written, strict=True):
        reread = to_isomorphic(Graph().parse(path, format=fmt.rdflib_format))
        if reread != reference:
            _, only_built, only_file = graph_diff(reference, reread)
            pytest.fail(
                f"{path.name} differs:\n-- only built:\n{only_built.serialize(format='turtle')}"
                f"\n-- only in file:\n{only_file.serialize(format='turtle')}"
            )


def test_output_directory_keeps_other_files(world: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    write_outputs(build_graph(world), out)
    assert (out / "notes.txt").read_text() == "mine"
    expected = ["notes.txt", *(f"mesokg{f.suffix}" for f in OUTPUT_FORMATS)]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)


def test_unwritable_output_is_an_input_error(world: Path, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write output"):
        write_outputs(build_graph(world), blocker / "out")
    with pytest.raises(InputError, match="not a directory"):
        write_outputs(build_graph(world), blocker)


def test_failed_serialisation_leaves_nothing_half_written(world: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mesokg.ttl").write_text("previous build")
    graph = build_graph(world)
    real = Graph.serialize

    def failing(self, destination=None, format="turtle", **kwargs):
        if format == "json-ld":
            raise OSError(28, "No space left on device")
        return real(self, destination=destination, format=format, **kwargs)

    monkeypatch.setattr(Graph, "serialize", failing)
    with pytest.raises(InputError, match="No space left"):
        write_outputs(graph, out)
    assert sorted(p.name for p in out.iterdir()) == ["mesokg.ttl"]
    assert (out / "mesokg.ttl").read_text() == "previous build"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda w: (w / "mesokg.ttl").unlink(), r"mesokg\.ttl: ontology module not found"),
        (lambda w: [p.unlink() for p in (w / "kb").glob("*.ttl")], r"kb: no knowledge-base modules"),
        (
            lambda w: (w / "kb" / "broken.ttl").write_text("@prefix : <urn:x#> .\n\n:a :b ."),
            r"broken\.ttl:3:\d+: malformed",
        ),
        (lambda w: (w / "kb" / "latin1.ttl").write_bytes(b"# caf\xe9\n"), r"latin1\.ttl:1: not UTF-8"),
        (lambda w: (w / "kb" / "empty.ttl").write_text(""), r"empty\.ttl: empty file"),
    ],
    ids=["missing-tbox", "no-modules", "malformed", "not-utf8", "empty"],
)
def test_bad_sources_are_input_errors(world: Path, setup, message: str):
    setup(world)
    with pytest.raises(InputError, match=message):
        build_graph(world)


def test_missing_source_directory(tmp_path: Path):
    with pytest.raises(InputError, match="source directory not found"):
        build_graph(tmp_path / "nowhere")
