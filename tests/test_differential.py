"""Same answers: the SPARQL engine against the reference engines, on generated populations.

For validation, the reference is pySHACL on the same data and the same shapes; for screening, the rule run
session by session over rdflib. The compared result is (patient, focus node, shape, constraint component,
severity, value, message), with the reasons of each clinical result. The two engines parse the data
separately, so a blank node has a different label in each: an untyped blank node is compared as `_:` within
its patient (a typed one is compared by its types, as the output shows it).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from rdflib import Graph

from mesokg.rule import patient_shapes
from mesokg.screening import screen
from mesokg.validation import validate

GENERATOR = Path(__file__).resolve().parents[1] / "benchmarks" / "generate.py"
# (size, seed, invalid share): a clean population, and two with broken records of every kind (the generator's
# kinds take turns, so 16 broken records hold each of its 16 kinds once; the test below checks it). Kept small:
# pySHACL, the reference, takes about a second per patient on the bundled knowledge base.
POPULATIONS = [(10, 11, 0.0), (32, 12, 0.5), (20, 13, 0.8)]
pytestmark = pytest.mark.slow  # every test runs pySHACL over the bundled knowledge base


def load_generator():
    spec = importlib.util.spec_from_file_location("mesokg_bench_generate_diff", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator_and_table(built_graph: Graph):
    generate = load_generator()
    return generate, generate.clinical_table(built_graph)


@pytest.fixture(scope="module")
def populations(tmp_path_factory, generator_and_table) -> dict[tuple, Path]:
    generate, table = generator_and_table
    made = {}
    for size, seed, share in POPULATIONS:
        path = tmp_path_factory.mktemp("population") / f"p{size}-{seed}.nt"
        population = generate.Population(size, seed, share, table)
        path.write_text("".join(population.lines("nt")), encoding="utf-8")
        made[(size, seed, share)] = (path, population.summary.invalid)
    return made


@pytest.mark.parametrize("population", POPULATIONS[1:], ids=lambda p: f"{p[0]}-patients-seed{p[1]}-invalid{p[2]}")
def test_each_broken_population_holds_every_kind_of_broken_record(generator_and_table, population):
    generate, table = generator_and_table
    records = generate.records(*population, table)
    assert {r.invalid for r in records if r.invalid} == set(generate.INVALID_KINDS)


BLANK = re.compile(r"_:\w+")


def canonical(result) -> tuple:
    fields = (result.patient, result.focus, result.shape, result.component, result.severity, result.value)
    return (*(BLANK.sub("_:", f) if f else f for f in fields), result.message, result.reasons)


@pytest.mark.parametrize("population", POPULATIONS, ids=lambda p: f"{p[0]}-patients-seed{p[1]}-invalid{p[2]}")
def test_sparql_engine_gives_exactly_pyshacls_results(populations, built_graph: Graph, population):
    path, invalid = populations[population]
    fast = validate([path], built_graph, engine="sparql")
    reference = validate([path], built_graph, engine="pyshacl")
    assert (fast.engine, reference.engine) == ("sparql", "pyshacl")
    ours, theirs = Counter(map(canonical, fast.results)), Counter(map(canonical, reference.results))
    assert ours == theirs, f"only sparql: {list(ours - theirs)[:3]}; only pySHACL: {list(theirs - ours)[:3]}"
    assert fast.conforms == reference.conforms
    violating = {r.patient for r in reference.results if r.severity == "Violation"}
    assert len(violating) == invalid, "the population's broken records are what the engines find"
    if invalid:
        assert {
            "sh:ClassConstraintComponent",
            "sh:DatatypeConstraintComponent",
            "sh:InConstraintComponent",
            "sh:MinCountConstraintComponent",
            "sh:NodeConstraintComponent",
            "sh:SPARQLConstraintComponent",
            "mesokg:ContraindicationConstraintComponent",
        } <= {r.component for r in fast.results}, "the broken records exercise every kind of constraint they can"


HAND_MADE = [
    Path(__file__).parent / "data" / "valid",
    Path(__file__).parent / "data" / "invalid",
    Path(__file__).parents[1] / "examples" / "patients",
    Path(__file__).parents[1] / "examples" / "fhir",
]


@pytest.mark.parametrize("directory", HAND_MADE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sparql_engine_agrees_on_the_hand_made_examples(built_graph: Graph, directory: Path):
    """The example pairs cover what the generator does not (sh:maxCount, FHIR records, ...)."""
    fast = validate([directory], built_graph, engine="sparql")
    reference = validate([directory], built_graph, engine="pyshacl")
    assert not fast.errors and not reference.errors
    assert Counter(map(canonical, fast.results)) == Counter(map(canonical, reference.results))


def test_sparql_screening_gives_the_reference_findings(populations, built_graph: Graph):
    path, _ = populations[POPULATIONS[1]]
    fast = screen([path], built_graph, engine="sparql").as_dict()
    reference = screen([path], built_graph, engine="rdflib").as_dict()

    def findings(outcome: dict) -> Counter:
        return Counter(
            (p["patient"], f["treatment"], f["status"], json.dumps(sorted(map(json.dumps, f["reasons"]))))
            for p in outcome["patients"]
            for f in p["findings"]
        )

    assert findings(fast) == findings(reference)
    assert any(f["status"] == "contraindicated" for p in fast["patients"] for f in p["findings"])


CARDINALITIES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix mesokg: <https://w3id.org/mesokg/> .
@prefix ex: <https://example.org/shapes/> .
ex:Counts a sh:NodeShape ; sh:targetClass mesokg:Patient ;
    sh:property [ sh:path mesokg:hasSession ; sh:minCount 2 ; sh:maxCount 2 ; sh:message "two sessions" ] ,
        [ sh:path mesokg:hasCondition ; sh:minCount 1 ; sh:maxCount 1 ; sh:message "one condition" ] ,
        [ sh:path mesokg:takesMedication ; sh:maxCount 3 ; sh:message "at most three medications" ] .
"""


def test_every_cardinality_form_agrees_with_pyshacl(populations, built_graph: Graph):
    """minCount / maxCount of 1 are compiled without grouping, other counts with grouping: both against pySHACL,
    on shapes whose counts the generated patients break both ways (one, two or three sessions)."""
    shapes = patient_shapes().parse(data=CARDINALITIES, format="turtle")
    path, _ = populations[POPULATIONS[1]]
    before = validate([path], built_graph, engine="sparql")
    fast = validate([path], built_graph, engine="sparql", shapes=shapes)
    reference = validate([path], built_graph, engine="pyshacl", shapes=shapes)
    assert fast.engine == "sparql"
    ours, theirs = Counter(map(canonical, fast.results)), Counter(map(canonical, reference.results))
    assert ours == theirs, f"only sparql: {list(ours - theirs)[:3]}; only pySHACL: {list(theirs - ours)[:3]}"

    def counts(outcome) -> Counter:
        return Counter(r.component for r in outcome.results if "Count" in r.component)

    added = counts(fast) - counts(before)
    assert added["sh:MinCountConstraintComponent"] and added["sh:MaxCountConstraintComponent"]


# Shapes of every feature the SPARQL engine evaluates beyond the patient shapes, over the generated populations
# (whose broken records break several of them). No sh:message: pySHACL writes messages of its own, so the
# comparison leaves messages out.
FEATURES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix mesokg: <https://w3id.org/mesokg/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix ex: <https://example.org/shapes/> .

ex:Session a sh:NodeShape ; sh:targetClass mesokg:TreatmentSession ;
    sh:property [ sh:path mesokg:bodySite ; sh:pattern "^[a-z]+$" ; sh:minLength 5 ; sh:maxLength 6 ;
                  sh:in ( "hands" "neck" "face" ) ; sh:datatype xsd:string ; sh:nodeKind sh:Literal ] ,
                [ sh:path ( [ sh:inversePath mesokg:hasSession ] mesokg:birthDate ) ; sh:minCount 1 ;
                  sh:lessThan mesokg:sessionDate ] ,
                [ sh:path mesokg:sessionDate ; sh:minInclusive "2026-01-01"^^xsd:date ;
                  sh:maxExclusive "2026-06-01"^^xsd:date ] ,
                [ sh:path mesokg:sessionStatus ; sh:hasValue mesokg:planned ] .
ex:Patient a sh:NodeShape ; sh:targetSubjectsOf mesokg:birthDate ;
    sh:property [ sh:path mesokg:hasCondition ; sh:node ex:Condition ] ,
                [ sh:path mesokg:hasSession ; sh:qualifiedValueShape [ sh:property [ sh:path mesokg:sessionStatus ;
                  sh:hasValue mesokg:performed ] ] ; sh:qualifiedMinCount 1 ] ,
                [ sh:path ( mesokg:hasSession mesokg:treatment ) ; sh:class mesokg:Treatment ] ;
    sh:or ( [ sh:path mesokg:sex ; sh:hasValue mesokg:female ] [ sh:path mesokg:hasSession ; sh:minCount 2 ] ) .
ex:Condition a sh:NodeShape ; sh:property [ sh:path rdf:type ; sh:node ex:Known ] .
ex:Known a sh:NodeShape ; sh:nodeKind sh:IRI ; sh:not [ sh:hasValue mesokg:pregnancy ] .
ex:Sex a sh:NodeShape ; sh:targetObjectsOf mesokg:sex ; sh:in ( mesokg:female mesokg:male ) ;
    sh:xone ( [ sh:hasValue mesokg:female ] [ sh:hasValue mesokg:male ] [ sh:nodeKind sh:BlankNode ] ) .
ex:Named a sh:NodeShape ; sh:targetNode mesokg:lidocaine , mesokg:no-such-substance ; sh:class mesokg:Substance ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:languageIn ( "en" ) ; sh:uniqueLang true ] .
mesokg:AllergyRecord a rdfs:Class , sh:NodeShape ;
    sh:property [ sh:path mesokg:substance ; sh:equals mesokg:substance ; sh:disjoint mesokg:code ] .
"""


def without_message(result) -> tuple:
    """As canonical, without the message and without the patient: a node several patients share (mesokg:woman,
    a sex the generator breaks records with) is shown under one of them, each engine's first."""
    return canonical(result)[1:-2] + (result.path is not None,)


@pytest.mark.parametrize("population", POPULATIONS[1:], ids=lambda p: f"{p[0]}-patients-seed{p[1]}-invalid{p[2]}")
def test_every_added_feature_agrees_with_pyshacl_on_generated_populations(populations, built_graph, population):
    path, _ = populations[population]
    shapes = Graph().parse(data=FEATURES, format="turtle")
    fast = validate([path], built_graph, engine="sparql", shapes=shapes)
    reference = validate([path], built_graph, engine="pyshacl", shapes=shapes)
    assert (fast.engine, reference.engine) == ("sparql", "pyshacl")
    ours, theirs = Counter(map(without_message, fast.results)), Counter(map(without_message, reference.results))
    assert ours == theirs, f"only sparql: {list(ours - theirs)[:3]}; only pySHACL: {list(theirs - ours)[:3]}"
    fired = {r.component for r in fast.results}
    assert {
        "sh:PatternConstraintComponent",
        "sh:MinLengthConstraintComponent",
        "sh:MaxLengthConstraintComponent",
        "sh:InConstraintComponent",
        "sh:LessThanConstraintComponent",
        "sh:MinInclusiveConstraintComponent",
        "sh:MaxExclusiveConstraintComponent",
        "sh:HasValueConstraintComponent",
        "sh:NodeConstraintComponent",
        "sh:QualifiedMinCountConstraintComponent",
        "sh:OrConstraintComponent",
        "sh:XoneConstraintComponent",
        "sh:ClassConstraintComponent",
    } <= fired, f"the population does not break every added constraint: {sorted(fired)}"
