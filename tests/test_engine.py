"""The SPARQL engine: what it refuses, and the persistent store it can keep."""

from __future__ import annotations

import gc
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from mesokg import api
from mesokg.cli import cli
from mesokg.engine import Engine
from mesokg.errors import MesokgError
from mesokg.graph import source_fingerprint
from mesokg.rule import patient_shapes
from mesokg.sparql_shacl import Unsupported, all_shapes, compile_shapes
from mesokg.store import KB_GRAPH as KB
from mesokg.validation import load_shapes, validate

EXAMPLES = Path(__file__).parents[1] / "examples" / "patients"
PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix mesokg: <https://w3id.org/mesokg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix ex: <https://example.org/shapes/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""
MESOKG = "https://w3id.org/mesokg/"
UNSUPPORTED = {
    "or-of-html": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:or ( [ sh:datatype <http://www.w3.org/1999/02/22-rdf-syntax-ns#HTML> ] ) .",
    "byte-datatype": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:property [ sh:path mesokg:age ; sh:datatype xsd:byte ] .",
    "look-behind-pattern": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    'sh:property [ sh:path mesokg:bodySite ; sh:pattern "(?<=a)b" ] .',
    "strange-path": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:property [ sh:path [ sh:inversePath mesokg:a ; sh:zeroOrMorePath mesokg:b ] ; sh:minCount 1 ] .",
    "sparql-target": "ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select 'SELECT ?this {}' ] ; "
    "sh:class mesokg:Patient .",
    "rule": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:rule [ a sh:TripleRule ] .",
    "recursive": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:property [ sh:path mesokg:hasSession ; sh:node ex:S ] .",
    "qualified-on-node": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    "sh:qualifiedValueShape [ sh:class mesokg:Patient ] ; sh:qualifiedMinCount 1 .",
    "non-canonical-in": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; "
    'sh:property [ sh:path mesokg:age ; sh:in ( "1.0"^^xsd:decimal ) ] .',
    "subquery": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this WHERE '
    '{ { SELECT $this WHERE { $this ?p ?o } } }""" ] .',
    "values": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this WHERE '
    '{ VALUES ?x { 1 } $this ?p ?x }""" ] .',
    "minus": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this WHERE '
    '{ $this ?p ?o MINUS { $this ?p 1 } }""" ] .',
    "this-read-in-union": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT '
    '$this WHERE { { ?x ?p ?o } UNION { ?x ?p ?o FILTER(?x = $this) } }""" ] .',
    "this-in-optional-unbound": "ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select "
    '"""SELECT $this WHERE { { ?a ?b ?c OPTIONAL { ?c ?d $this } } }""" ] .',
    "bind-this": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this '
    'WHERE { BIND(1 AS $this) }""" ] .',
    "shapes-graph": 'ex:S a sh:NodeShape ; sh:targetClass mesokg:Patient ; sh:sparql [ sh:select """SELECT $this '
    'WHERE { GRAPH $shapesGraph { ?a ?b ?c } }""" ] .',
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
    plans = compile_shapes(patient_shapes())
    assert len(plans) == 6  # the targeted shapes
    assert sum(len(shape.constraints) for shape in all_shapes(plans)) >= 25


def test_auto_hands_unsupported_shapes_to_pyshacl(built_graph: Graph):
    shapes = shapes_with(UNSUPPORTED["byte-datatype"])
    outcome = validate([EXAMPLES / "02-pregnant.ttl"], built_graph, engine="auto", shapes=shapes)
    assert outcome.engine == "pyshacl" and "XMLSchema#byte" in outcome.note
    with pytest.raises(MesokgError, match="cannot evaluate these shapes"):
        validate([EXAMPLES / "02-pregnant.ttl"], built_graph, engine="sparql", shapes=shapes)


FX_TREATMENT = URIRef("https://w3id.org/mesokg/fx-vitamin-treatment")


def test_a_persistent_store_keeps_the_knowledge_base_and_adds_days(
    tmp_path: Path, fixture_world: Path, fixture_graph: Graph
):
    store = tmp_path / "store"
    fingerprint = source_fingerprint(fixture_world)
    first = Engine(lambda: fixture_graph, fingerprint, store)
    assert first.kb_reloaded
    first.load([EXAMPLES / "02-pregnant.ttl"])
    del first
    kb_quads = sum(
        1 for _ in Engine(lambda: fixture_graph, fingerprint, store).store.ox.quads_for_pattern(None, None, None, KB)
    )
    assert kb_quads == len(fixture_graph)
    second = Engine(lambda: fixture_graph, fingerprint, store)
    assert not second.kb_reloaded
    assert sum(1 for _ in second.store.ox.quads_for_pattern(None, None, None, KB)) == kb_quads
    second.load([EXAMPLES / "03-breastfeeding.ttl", EXAMPLES / "02-pregnant.ttl"])  # the second file again
    assert len(second.store.data_graphs()) == 2
    patients = {p.patient for p in second.screen(FX_TREATMENT)}
    assert patients == {"https://example.org/clinic/beatriz", "https://example.org/clinic/chloe"}


def test_a_bad_file_leaves_nothing_in_the_store(tmp_path: Path, fixture_world: Path, fixture_graph: Graph):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix mesokg: <https://w3id.org/mesokg/> .\n<urn:p> a mesokg:Patient .\n<urn:p> mesokg:sex "x\n')
    engine = Engine(lambda: fixture_graph, source_fingerprint(fixture_world), tmp_path / "store")
    loaded = engine.load([bad, EXAMPLES / "02-pregnant.ttl"])
    assert len(loaded.errors) == 1 and "bad.ttl:3" in str(loaded.errors[0])
    assert len(engine.store.data_graphs()) == 1
    assert {p.patient for p in engine.screen(FX_TREATMENT)} == {"https://example.org/clinic/beatriz"}


def test_cli_store_validates_and_screens_everything_it_holds(tmp_path: Path, fixture_world: Path):
    store = str(tmp_path / "store")
    source = ["--source", str(fixture_world)]
    healthy = tmp_path / "healthy.ttl"  # a valid record in the fixture world: a planned fixture treatment
    healthy.write_text(
        (EXAMPLES / "01-healthy-adult.ttl")
        .read_text(encoding="utf-8")
        .replace("mesokg:hyaluronic-acid-skin-booster", "mesokg:fx-vitamin-treatment"),
        encoding="utf-8",
    )
    runner = CliRunner()
    day1 = runner.invoke(cli, ["validate", "--store", store, *source, str(healthy)])
    assert day1.exit_code == 0, day1.output
    treat = ["--treatment", "fx-vitamin-treatment"]
    day2 = runner.invoke(cli, ["screen", "--store", store, *source, *treat, str(EXAMPLES / "02-pregnant.ttl")])
    assert day2.exit_code == 0 and "beatriz" in day2.output, day2.output  # the fixture treatment: no finding
    everyone = runner.invoke(cli, ["screen", "--store", store, *source, *treat, "-f", "json"])
    patients = {p["patient"] for p in json.loads(everyone.output)["patients"]}
    assert patients == {"https://example.org/clinic/alice", "https://example.org/clinic/beatriz"}
    assert runner.invoke(cli, ["screen", "--store", store, *source, "--engine", "rdflib"]).exit_code == 2
    assert runner.invoke(cli, ["validate", "--store", store, *source, "--engine", "pyshacl"]).exit_code == 2


def test_one_process_opens_the_same_store_again_at_once(tmp_path: Path, fixture_world: Path):
    """An engine closes the on-disk store it opened when it is done, so the next call in the same process
    opens it at once; with the garbage collector off, nothing else would release the store's lock."""
    store = tmp_path / "store"
    gc.disable()
    try:
        for _ in range(3):
            outcome = api.screen(
                [EXAMPLES / "02-pregnant.ttl"], store=store, source=fixture_world, treatment="fx-vitamin-treatment"
            )
            assert outcome.exit_code == 0 and not outcome.errors
        assert api.validate(store=store, source=fixture_world, engine="sparql").engine == "sparql"
        assert api.query("ingredients", store=store, source=fixture_world, treatment="fx-vitamin-treatment").rows
    finally:
        gc.enable()


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


# ---- right or refuse: the defects the W3C suite found, each on shapes of its own -------------------------------
DATA_PREFIXES = (
    "@prefix ex: <https://example.org/data/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
)
BLANK = re.compile(r"_:\w+")  # two parsers label a blank node shape differently
SHAPES_PREFIXES = PREFIXES.replace("https://example.org/shapes/", "https://example.org/data/")


def short(text: str | None) -> str | None:
    return text.replace("https://example.org/data/", "ex:") if text else text


def run_both(tmp_path: Path, shapes: str, data: str) -> tuple[Counter, Counter]:
    """The results of both engines on the data alone (no knowledge base), as (focus, shape, component, value)."""
    shapes_file, data_file = tmp_path / "shapes.ttl", tmp_path / "data.ttl"
    shapes_file.write_text(SHAPES_PREFIXES + shapes, encoding="utf-8")
    data_file.write_text(DATA_PREFIXES + data, encoding="utf-8")
    found = []
    for engine in ("sparql", "pyshacl"):
        outcome = validate([data_file], None, engine, shapes=load_shapes([shapes_file]), use_kb=False)
        assert outcome.engine == engine and not outcome.errors
        found.append(
            Counter((short(r.focus), BLANK.sub("_:", r.shape), short(r.component), r.value) for r in outcome.results)
        )
    return found[0], found[1]


CASES = {
    "implicit-class-target": (
        "ex:Person a rdfs:Class , sh:NodeShape ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .",
        "ex:a a ex:Person . ex:b a ex:Student . ex:Student rdfs:subClassOf ex:Person . "
        "ex:c a ex:Person ; ex:name 'c' .",
        {("ex:a", "sh:MinCountConstraintComponent"), ("ex:b", "sh:MinCountConstraintComponent")},
    ),
    "nested-property-in-property-shape": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:knows ; "
        "sh:property [ sh:path ex:name ; sh:datatype xsd:string ] ] .",
        "ex:a ex:knows ex:b , ex:c . ex:b ex:name 1 . ex:c ex:name 'c' .",
        {("ex:b", "sh:DatatypeConstraintComponent")},
    ),
    "property-shapes-three-deep": (  # the innermost result was lost on the way out (a false "conforms")
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:property [ sh:path ex:q ; "
        "sh:property [ sh:path ex:r ; sh:minCount 1 ] ] ] .",
        "ex:a ex:p ex:b . ex:b ex:q ex:c , ex:d . ex:d ex:r 1 .",
        {("ex:c", "sh:MinCountConstraintComponent")},
    ),
    "node-level-constraints": (
        "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:p ; sh:class ex:C ; sh:nodeKind sh:IRI ; sh:in ( ex:a ex:b ) .",
        "ex:a ex:p 1 ; a ex:C . ex:b ex:p 2 . ex:d ex:p 3 ; a ex:C .",
        {("ex:b", "sh:ClassConstraintComponent"), ("ex:d", "sh:InConstraintComponent")},
    ),
    "target-objects-of-datatype": (
        "ex:S a sh:NodeShape ; sh:targetObjectsOf ex:age ; sh:datatype xsd:integer ; sh:minInclusive 0 .",
        'ex:a ex:age 3 . ex:b ex:age -1 . ex:c ex:age "x" .',
        {
            ("-1", "sh:MinInclusiveConstraintComponent"),
            ("x", "sh:DatatypeConstraintComponent"),
            ("x", "sh:MinInclusiveConstraintComponent"),
        },
    ),
    "two-levels-of-node": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:node ex:U ] . "
        "ex:U a sh:NodeShape ; sh:property [ sh:path ex:r ; sh:minCount 1 ] .",
        "ex:a ex:p ex:b , ex:e . ex:b ex:q ex:c . ex:c ex:s 1 . ex:e ex:q ex:f . ex:f ex:r 1 .",
        {("ex:a", "sh:NodeConstraintComponent")},
    ),
    "in-compares-terms": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:in ( 1 ) ] .",
        "ex:a ex:p 1 , '1'^^xsd:decimal , '1' .",  # the same value, three terms
        {("ex:a", "sh:InConstraintComponent")},
    ),
    "has-value-compares-terms": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a , ex:b ; sh:property [ sh:path ex:p ; sh:hasValue 1 ] .",
        "ex:a ex:p '1'^^xsd:decimal . ex:b ex:p 1 .",
        {("ex:a", "sh:HasValueConstraintComponent")},
    ),
    "sequence-and-inverse-paths": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:c , ex:d ; "
        "sh:property [ sh:path ( [ sh:inversePath ex:child ] ex:name ) ; sh:minCount 1 ; sh:maxLength 3 ] .",
        "ex:p ex:child ex:c ; ex:name 'Anne' . ex:d ex:name 'x' .",
        {("ex:c", "sh:MaxLengthConstraintComponent"), ("ex:d", "sh:MinCountConstraintComponent")},
    ),
    "pattern-and-less-than": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:Stay ; "
        "sh:property [ sh:path ex:from ; sh:lessThan ex:to ] , [ sh:path ex:code ; sh:pattern '^[A-Z][0-9]+$' ] .",
        "ex:a a ex:Stay ; ex:from 1 ; ex:to 2 ; ex:code 'A1' . ex:b a ex:Stay ; ex:from 3 ; ex:to 2 ; ex:code 'a1' .",
        {("ex:b", "sh:LessThanConstraintComponent"), ("ex:b", "sh:PatternConstraintComponent")},
    ),
    "projected-path": (
        'ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:select """SELECT $this ?path ?value WHERE '
        '{ $this ?path ?value FILTER(isLiteral(?value)) }""" ] .',
        "ex:a ex:p 1 ; ex:q ex:b .",
        {("ex:a", "sh:SPARQLConstraintComponent")},
    ),
    "component-without-its-optional-parameter": (
        "ex:C a sh:ConstraintComponent ; sh:parameter [ sh:path ex:word ] , [ sh:path ex:other ; sh:optional true ] ; "
        'sh:propertyValidator [ a sh:SPARQLSelectValidator ; sh:select """SELECT $this ?value WHERE '
        '{ $this $PATH ?value FILTER(?value != $word) }""" ] . '
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; ex:word 'yes' ] .",
        "ex:a ex:p 'yes' , 'no' .",
        {("ex:a", "ex:C")},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_defect_is_now_evaluated_and_agrees_with_pyshacl(tmp_path: Path, case: str):
    shapes, data, expected = CASES[case]
    ours, theirs = run_both(tmp_path, shapes, data)
    assert ours == theirs
    assert {(focus, component) for focus, _, component, _ in ours} == expected


def test_a_projected_path_is_the_result_path(tmp_path: Path):
    shapes, data, _ = CASES["projected-path"]
    (tmp_path / "s.ttl").write_text(SHAPES_PREFIXES + shapes, encoding="utf-8")
    (tmp_path / "d.ttl").write_text(DATA_PREFIXES + data, encoding="utf-8")
    outcome = validate([tmp_path / "d.ttl"], None, "sparql", shapes=load_shapes([tmp_path / "s.ttl"]), use_kb=False)
    assert [(r.path, r.value) for r in outcome.results] == [("https://example.org/data/p", "1")]


def test_a_query_the_store_cannot_run_goes_to_pyshacl_or_stops(tmp_path: Path):
    """rdflib parses the query, oxigraph does not know its function: auto hands over, sparql is an error."""
    shapes = (
        'ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:select """SELECT $this WHERE '
        '{ $this ?p ?o FILTER(<https://example.org/no-such-function>(?o)) }""" ] .'
    )
    (tmp_path / "s.ttl").write_text(SHAPES_PREFIXES + shapes, encoding="utf-8")
    (tmp_path / "d.ttl").write_text(DATA_PREFIXES + "ex:a ex:p 1 .", encoding="utf-8")
    graph = load_shapes([tmp_path / "s.ttl"])
    outcome = validate([tmp_path / "d.ttl"], None, "auto", shapes=graph, use_kb=False)
    assert outcome.engine == "pyshacl" and "no-such-function" in outcome.note
    with pytest.raises(MesokgError, match="cannot evaluate these shapes on this data"):
        validate([tmp_path / "d.ttl"], None, "sparql", shapes=graph, use_kb=False)


def test_a_literal_the_store_changes_is_handed_over(tmp_path: Path):
    """The store keeps 4.0 as "4": the terms of such data cannot be checked, so pySHACL does the work."""
    shapes = "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:p ; sh:property [ sh:path ex:p ; sh:in ( 4 ) ] ."
    (tmp_path / "s.ttl").write_text(SHAPES_PREFIXES + shapes, encoding="utf-8")
    (tmp_path / "d.ttl").write_text(DATA_PREFIXES + "ex:a ex:p 4.0 .", encoding="utf-8")
    graph = load_shapes([tmp_path / "s.ttl"])
    outcome = validate([tmp_path / "d.ttl"], None, "auto", shapes=graph, use_kb=False)
    assert outcome.engine == "pyshacl" and "4.0" in outcome.note
    assert [r.value for r in outcome.results] == ["4.0"]


def test_no_kb_builds_no_knowledge_base(monkeypatch, tmp_path: Path):
    def refuse(*args, **kwargs):
        raise AssertionError("the knowledge base was built")

    # wherever the library reaches the knowledge graph from (a module of its own or one imported into another)
    for name, module in list(sys.modules.items()):
        if name == "mesokg" or name.startswith("mesokg."):
            for builder in ("knowledge_graph", "build_graph", "load_sources"):
                if hasattr(module, builder):
                    monkeypatch.setattr(module, builder, refuse)
    (tmp_path / "s.ttl").write_text(SHAPES_PREFIXES + "ex:S sh:targetNode ex:a ; sh:class ex:C .", encoding="utf-8")
    (tmp_path / "d.ttl").write_text(DATA_PREFIXES + "ex:a ex:p 1 .", encoding="utf-8")
    for engine in ("sparql", "pyshacl"):
        arguments = ["validate", str(tmp_path / "d.ttl"), "--shapes", str(tmp_path / "s.ttl"), "--no-kb"]
        result = CliRunner().invoke(cli, [*arguments, "--engine", engine])
        assert isinstance(result.exception, SystemExit | None), result.exception
        assert result.exit_code == 1, result.output
        assert "VIOLATION https://example.org/data/S" in result.output


# ---- the rule's NOT EXISTS, answered once per distinct binding -------------------------------------------------
DECORRELATION_DATA = """
@prefix ex: <https://example.org/> .
ex:a1 ex:about ex:c1 . ex:a2 ex:about ex:c2 . ex:a3 ex:about ex:c3 . ex:a4 ex:about ex:c1 .
ex:x1 ex:excepts ex:a1 ; ex:for ex:c1 .
ex:x2 ex:excepts ex:a3 ; ex:for ex:other .
ex:c1 ex:below ex:top .
"""
DECORRELATION_QUERIES = {
    "plain": "PREFIX ex: <https://example.org/> SELECT ?a ?c WHERE { ?a ex:about ?c . "
    "FILTER NOT EXISTS { ?x ex:excepts ?a ; ex:for ?c } }",
    "path": "PREFIX ex: <https://example.org/> SELECT ?a ?c WHERE { ?a ex:about ?c . "
    "FILTER NOT EXISTS { ?x ex:excepts ?a . ?c ex:below* ?top . ?x ex:for ?top } }",
    "unbound shared variable": "PREFIX ex: <https://example.org/> SELECT ?a ?c ?o WHERE { ?a ex:about ?c . "
    "OPTIONAL { ?a ex:nothing ?o } FILTER NOT EXISTS { ?x ex:excepts ?a ; ex:for ?c . ?x ex:excepts ?o } }",
    "shared variable not selected": "PREFIX ex: <https://example.org/> SELECT ?a WHERE { ?a ex:about ?c . "
    "FILTER NOT EXISTS { ?x ex:excepts ?a ; ex:for ?c } }",
    "filter inside stays": "PREFIX ex: <https://example.org/> SELECT ?a ?c WHERE { ?a ex:about ?c . "
    "FILTER NOT EXISTS { ?x ex:excepts ?a . FILTER(?c = ex:c1) } }",
}


@pytest.mark.parametrize("name", sorted(DECORRELATION_QUERIES))
def test_not_exists_answered_per_distinct_binding_gives_the_same_rows(name: str):
    import pyoxigraph as ox

    from mesokg.sparql_shacl import decorrelate_not_exists
    from mesokg.store import Store

    store = Store()
    store.ox.load(DECORRELATION_DATA.encode(), ox.RdfFormat.TURTLE)
    engine = Engine(Graph, "none", store=store, use_kb=False)
    query = DECORRELATION_QUERIES[name]
    expected = sorted(tuple(str(t) for t in row) for row in store.select(query))
    variables, rows = engine._select_decorrelated(query)
    assert [v.value for v in variables] == [v.value for v in store.select(query).variables]
    assert sorted(tuple(str(t) for t in row) for row in rows) == expected
    assert expected  # every case keeps some rows, and the first two remove some
    plan = decorrelate_not_exists(query)
    # a block with a FILTER inside, or sharing a variable the query does not select, stays in the query
    assert bool(plan.blocks) == (name not in ("filter inside stays", "shared variable not selected"))
    if name in ("plain", "path"):
        assert "NOT EXISTS" not in plan.query and len(expected) < 4
