"""Same answers: the SPARQL engine against the reference engines, on generated populations, on a population
imported from FHIR bundles, and on the hand-made examples.

For validation, the reference is pySHACL on the same data and the same shapes; for screening, the rule run
session by session over rdflib. The compared result is (patient, focus node, shape, constraint component,
severity, value, message), with the reasons of each clinical result and, recursively, the results nested under
it (sh:detail, given for sh:node); the Turtle reports are compared as the same trees. The two engines parse the
data separately, so a blank node has a different label in each: an untyped blank node is compared as `_:`
within its patient (a typed one is compared by its types, as the output shows it).
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
from rdflib import BNode, Graph
from rdflib.namespace import RDF, SH

from mesokg import api
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
    details = tuple(sorted(map(canonical, result.details)))
    return (*(BLANK.sub("_:", f) if f else f for f in fields), result.message, result.reasons, details)


def report_tree(report: Graph, node, shapes: Graph) -> tuple:
    """A result of a Turtle report and the results under its sh:detail, as a tree: (focus, value, path, shape,
    component, severity, messages, details), a blank node as `_:`. pySHACL gives a result of a SPARQL-based
    constraint with a message of its own also the shape's message (SHACL takes the constraint's): that second
    message is left out."""

    def term(predicate):
        value = report.value(node, predicate)
        return "_:" if isinstance(value, BNode) else None if value is None else str(value)

    fields = (SH.focusNode, SH.value, SH.resultPath, SH.sourceShape, SH.sourceConstraintComponent, SH.resultSeverity)
    details = tuple(sorted(report_tree(report, child, shapes) for child in report.objects(node, SH.detail)))
    messages = sorted(map(str, report.objects(node, SH.resultMessage)))
    if len(messages) > 1:
        messages.remove(str(shapes.value(report.value(node, SH.sourceShape), SH.message)))
    return (*map(term, fields), tuple(messages), details)


def report_trees(report: Graph, shapes: Graph) -> Counter:
    (root,) = report.subjects(RDF.type, SH.ValidationReport)
    return Counter(report_tree(report, node, shapes) for node in report.objects(root, SH.result))


def details_of(results) -> int:
    return sum(len(r.details) + details_of(r.details) for r in results)


def assert_same(fast, reference, key=canonical) -> None:
    """The same results, details and Turtle report from both engines."""
    assert (fast.engine, reference.engine) == ("sparql", "pyshacl")
    ours, theirs = Counter(map(key, fast.results)), Counter(map(key, reference.results))
    assert ours == theirs, f"only sparql: {list(ours - theirs)[:3]}; only pySHACL: {list(theirs - ours)[:3]}"
    if key is canonical:  # pySHACL writes messages of its own where the shapes give none
        ours, theirs = report_trees(fast.report, fast.shapes), report_trees(reference.report, reference.shapes)
        assert ours == theirs, f"only sparql: {list(ours - theirs)[:3]}; only pySHACL: {list(theirs - ours)[:3]}"
    assert fast.conforms == reference.conforms


@pytest.mark.parametrize("population", POPULATIONS, ids=lambda p: f"{p[0]}-patients-seed{p[1]}-invalid{p[2]}")
def test_sparql_engine_gives_exactly_pyshacls_results(populations, built_graph: Graph, population):
    path, invalid = populations[population]
    fast = validate([path], built_graph, engine="sparql")
    reference = validate([path], built_graph, engine="pyshacl")
    assert_same(fast, reference)
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
        assert details_of(fast.results), "an unknown condition's result has the condition's own under it"


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
    assert_same(fast, reference)


FHIR = Path(__file__).parents[1] / "examples" / "fhir"
FHIR_COPIES = 4  # of each example bundle: 12 patients, two thirds of them broken


def fhir_variant(bundle: dict, copy: int) -> dict:
    """A copy of a bundle with every resource id, fullUrl and reference renamed for `copy`, and broken in one
    of the ways an imported record can be (copy 0 is the bundle as it is): a condition coded only in a local
    code system (no known condition: a sh:node result, with the condition's own under it), a birth date in the
    future, no sex."""
    text = json.dumps(bundle)
    # urn:uuid:... fullUrls and references: the copy number in their last group; RESTful ids (Patient/x,
    # "id": "x") gain it
    text = re.sub(r"(urn:uuid:(?:[0-9a-f]+-){4})[0-9a-f]{4}", lambda m: f"{m[1]}{copy:04x}", text)
    ids = {e["resource"]["id"] for e in bundle["entry"] if "id" in e["resource"]}
    for name in sorted(ids, key=len, reverse=True):
        text = re.sub(rf'(?<=[/"]){re.escape(name)}(?=")', f"{name}-copy{copy}", text)
    variant = json.loads(text)
    resources = [entry["resource"] for entry in variant["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    kind = copy % 3
    if copy and kind == 0:
        patient["birthDate"] = "2999-01-01"
    elif copy and kind == 1:
        patient.pop("gender", None)
    elif copy:
        resources.append(
            {
                "resourceType": "Condition",
                "clinicalStatus": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
                },
                "code": {"coding": [{"system": "https://example.org/local-codes", "code": f"local-{copy}"}]},
                "subject": {"reference": next(e["fullUrl"] for e in variant["entry"] if e["resource"] is patient)},
            }
        )
        variant["entry"].append(
            {"fullUrl": f"https://example.org/local/{bundle['id']}/Condition/c{copy}", "resource": resources[-1]}
        )
    return variant


@pytest.fixture(scope="module")
def imported_population(tmp_path_factory) -> Path:
    """The example bundles, copied and broken (fhir_variant), each imported with `mesokg import-fhir` into
    Turtle: a population the generator did not write."""
    bundles = tmp_path_factory.mktemp("bundles")
    imported = tmp_path_factory.mktemp("imported")
    for source in sorted(FHIR.glob("*.json")):
        bundle = json.loads(source.read_text(encoding="utf-8"))
        for copy in range(FHIR_COPIES):
            path = bundles / f"{source.stem}-{copy}.json"
            path.write_text(json.dumps(fhir_variant(bundle, copy)), encoding="utf-8")
            api.import_fhir(path, output=imported / f"{path.stem}.ttl")
    return imported


def test_sparql_engine_agrees_on_a_population_imported_from_fhir(imported_population: Path, built_graph: Graph):
    fast = validate([imported_population], built_graph, engine="sparql")
    reference = validate([imported_population], built_graph, engine="pyshacl")
    assert not fast.errors and len(fast.files) == 3 * FHIR_COPIES
    assert_same(fast, reference)
    patients = {r.patient for r in reference.results if r.severity == "Violation"}
    assert len(patients) == 3 * (FHIR_COPIES - 1) + 2, "every broken copy, and the two examples with a contraindication"
    assert details_of(fast.results) == 3, "each locally coded condition's result has the condition's own under it"


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
    assert_same(fast, reference)

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
    a sex the generator breaks records with) is shown under one of them, each engine's first. Details compared
    the same way."""
    details = tuple(sorted(map(without_message, result.details)))
    return canonical(result)[1:-3] + (result.path is not None, details)


@pytest.mark.parametrize("population", POPULATIONS[1:], ids=lambda p: f"{p[0]}-patients-seed{p[1]}-invalid{p[2]}")
def test_every_added_feature_agrees_with_pyshacl_on_generated_populations(populations, built_graph, population):
    path, _ = populations[population]
    shapes = Graph().parse(data=FEATURES, format="turtle")
    fast = validate([path], built_graph, engine="sparql", shapes=shapes)
    reference = validate([path], built_graph, engine="pyshacl", shapes=shapes)
    assert_same(fast, reference, key=without_message)
    assert details_of(fast.results), "ex:Condition's results are nested under ex:Patient's sh:node results"
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
