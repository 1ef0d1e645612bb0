"""Competency questions, the query command, parameter binding and its safety."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from mesokg.cli import cli
from mesokg.errors import MesokgError
from mesokg.queries import named_queries, prepare, rows_of, run_query
from mesokg.resolve import ResolutionError, resolve

M = "https://w3id.org/mesokg/"
CQ = {name: q for name, q in named_queries().items() if q.path.parent.name == "cq"}
REQUIRED = {
    "unsuitable-treatments": ["condition"],
    "treatments-for-condition": ["condition"],
    "adverse-effects": ["treatment"],
    "contraindications": ["treatment"],
    "ingredients": ["treatment"],
}


def expected_rows(name: str) -> tuple[list[str], list[tuple[str, ...]]]:
    with open(CQ[name].path.with_suffix(".expected.tsv"), encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter="\t"))
    return header, [tuple(r) for r in rows]


def test_at_least_fifteen_competency_questions_including_the_required_ones():
    assert len(CQ) >= 15
    for name, params in REQUIRED.items():
        assert [p.name for p in CQ[name].params] == params, name


@pytest.mark.parametrize("name", sorted(CQ))
def test_header_is_complete(name: str):
    query = CQ[name]
    assert query.title and query.question, name
    assert set(query.example) == {p.name for p in query.params}, "every parameter needs an example value"
    prepare(query)


@pytest.mark.parametrize("name", sorted(CQ))
def test_competency_question_gives_its_expected_results(built_graph: Graph, name: str):
    header, expected = expected_rows(name)
    assert expected, f"{name}: an expected-results file is empty only when 'none' is the true answer"
    names, rows = rows_of(run_query(built_graph, CQ[name], CQ[name].example))
    assert names == header
    missing, extra = Counter(expected) - Counter(rows), Counter(rows) - Counter(expected)
    assert not missing and not extra, f"{name}: missing {list(missing)}; unexpected {list(extra)}"


def test_unsuitable_treatments_inherit_through_the_hierarchy(built_graph: Graph):
    result = run_query(built_graph, "unsuitable-treatments", {"condition": "Type 2 Diabetes"})
    names, rows = rows_of(result)
    found = {(r[names.index("treatment")], r[names.index("contraindicatedIn")]) for r in rows}
    assert ("mesokg:hyaluronic-acid-skin-booster", "mesokg:diabetes-mellitus") in found
    # the regulator-approved injection lipolysis is not a mesotherapy procedure
    assert not any(t == "mesokg:deoxycholic-acid-submental-injection" for t, _ in found)


@pytest.mark.parametrize(
    "value",
    [
        "type 2 diabetes mellitus",
        "TYPE 2 DIABETES",
        "non-insulin-dependent diabetes mellitus",
        "mesokg:type-2-diabetes-mellitus",
        M + "type-2-diabetes-mellitus",
        f"<{M}type-2-diabetes-mellitus>",
    ],
)
def test_a_concept_resolves_from_iri_curie_label_or_synonym(built_graph: Graph, value: str):
    assert resolve(built_graph, value, "condition") == URIRef(M + "type-2-diabetes-mellitus")


def test_unknown_value_lists_candidates(built_graph: Graph):
    with pytest.raises(ResolutionError, match=r"names no condition; did you mean: .*diabetes-mellitus"):
        resolve(built_graph, "diabetis", "condition", "condition")


def test_value_of_the_wrong_kind_is_refused(built_graph: Graph):
    with pytest.raises(ResolutionError, match="is not a treatment"):
        resolve(built_graph, "mesokg:pregnancy", "treatment")


def test_unmapped_code_is_a_clear_error(built_graph: Graph):
    with pytest.raises(ResolutionError, match="no condition of the graph is mapped to this code"):
        resolve(built_graph, "ICD10CM:J45.909", "condition", "condition")


INJECTIONS = [
    'diabetes" } UNION { ?s ?p ?o } #',
    "pregnancy' . ?x ?y ?z",
    "} UNION { ?treatment a ?t }",
    "<https://w3id.org/mesokg/pregnancy> } UNION {",
    "https://w3id.org/mesokg/preg nancy",
    "mesokg:pregnancy }",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_are_refused(built_graph: Graph, value: str):
    with pytest.raises(MesokgError):
        run_query(built_graph, "unsuitable-treatments", {"condition": value})


def test_text_parameters_are_bound_as_plain_literals(built_graph: Graph, tmp_path: Path):
    query = tmp_path / "label.rq"
    query.write_text(
        "# title: Concepts with a label\n# question: Which concepts have exactly this label?\n"
        "# param: text (text) the label\n"
        "SELECT ?c WHERE { ?c <http://www.w3.org/2000/01/rdf-schema#label> ?l . FILTER(STR(?l) = ?text) }\n"
    )
    for value in ['x" ) } UNION { ?c ?p ?o } #', "pregnancy"]:
        rows = list(run_query(built_graph, str(query), {"text": value}))
        assert [str(r.c) for r in rows] == ([M + "pregnancy"] if value == "pregnancy" else [])


def test_unknown_and_missing_parameters(built_graph: Graph):
    with pytest.raises(MesokgError, match="has no parameter colour"):
        run_query(built_graph, "ingredients", {"treatment": "hyaluronic acid skin booster", "colour": "red"})
    with pytest.raises(MesokgError, match="needs -p treatment="):
        run_query(built_graph, "ingredients", {})


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_cli_json_is_sparql_results_json():
    result = invoke("query", "unsuitable-treatments", "-p", "condition=type 2 diabetes mellitus", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "treatment" in data["head"]["vars"]
    treatments = {b["treatment"]["value"] for b in data["results"]["bindings"]}
    assert M + "polyrevitalising-skin-mesotherapy" in treatments


def test_cli_xml_is_sparql_results_xml():
    result = invoke("query", "ingredients", "-p", "treatment=hyaluronic acid skin booster", "-f", "xml")
    assert result.exit_code == 0
    root = ElementTree.fromstring(result.output)
    assert root.tag == "{http://www.w3.org/2005/sparql-results#}sparql"
    uris = [e.text for e in root.iter("{http://www.w3.org/2005/sparql-results#}uri")]
    assert uris == [M + "hyaluronic-acid"]


@pytest.mark.parametrize(("fmt", "separator"), [("csv", ","), ("tsv", "\t")])
def test_cli_csv_and_tsv(built_graph: Graph, fmt: str, separator: str):
    result = invoke("query", "treatments-containing", "-p", "substance=lidocaine", "-f", fmt)
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    containing = set(built_graph.subjects(URIRef(M + "hasIngredient"), URIRef(M + "lidocaine")))
    assert len(lines) == 1 + len(containing)  # a header, then one row per treatment containing lidocaine
    assert separator in lines[0]


def test_cli_turtle_for_construct(tmp_path: Path):
    query = tmp_path / "c.rq"
    query.write_text(
        "PREFIX mesokg: <https://w3id.org/mesokg/>\n"
        "CONSTRUCT { ?t mesokg:hasIngredient ?s } WHERE { ?t mesokg:hasIngredient ?s }"
    )
    result = invoke("query", str(query), "-f", "turtle")
    assert result.exit_code == 0
    graph = Graph().parse(data=result.output, format="turtle")
    assert (URIRef(M + "dutasteride-hair-mesotherapy"), URIRef(M + "hasIngredient"), URIRef(M + "dutasteride")) in graph


def test_cli_data_adds_patient_facts(tmp_path: Path):
    data = tmp_path / "extra.ttl"
    data.write_text("@prefix mesokg: <https://w3id.org/mesokg/> .\n<urn:patient:1> a mesokg:pregnancy .\n")
    query = tmp_path / "p.rq"
    query.write_text("SELECT ?p WHERE { ?p a <https://w3id.org/mesokg/pregnancy> }")
    result = invoke("query", str(query), "--data", str(data), "-f", "csv")
    assert result.exit_code == 0
    assert "urn:patient:1" in result.output


def assert_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("mesokg: error: ")
    for fragment in fragments:
        assert fragment in line
    assert "Traceback" not in result.output


def test_cli_syntax_error_names_line_and_column(tmp_path: Path):
    query = tmp_path / "bad.rq"
    query.write_text("SELECT * WHERE {\n  ?s ?p\n}\n")
    assert_error(invoke("query", str(query)), "bad.rq:", "SPARQL syntax error")
    assert ":2:" in invoke("query", str(query)).stderr or ":3:" in invoke("query", str(query)).stderr


def test_cli_errors_are_one_line(tmp_path: Path):
    assert_error(invoke("query", "no-such-query"), "no query named 'no-such-query'")
    assert_error(invoke("query", str(tmp_path / "missing.rq")), "query file not found")
    assert_error(invoke("query", "unsuitable-treatments", "-p", "condition=diabetis"), "did you mean")
    assert_error(invoke("query", "unsuitable-treatments", "-p", "condition"), "-p takes KEY=VALUE")
    bad = tmp_path / "bad.ttl"
    bad.write_text("<urn:a> <urn:b> .")
    assert_error(invoke("query", "evidence-summary", "--data", str(bad)), "bad.ttl:1", "malformed")
    assert_error(invoke("query", "evidence-summary", "--data", str(tmp_path / "none.ttl")), "file not found")
    assert_error(
        invoke("query", "ingredients", "-p", "treatment=hyaluronic acid skin booster", "-f", "turtle"), "use -f table"
    )


def test_a_query_that_fails_while_it_runs_is_one_line(tmp_path: Path, fixture_world: Path):
    """Oxigraph evaluates lazily: an unknown function fails while the answer is read, on the graph and on a
    store alike, and that is still one line and exit 2, never a traceback."""
    query = tmp_path / "unknown-function.rq"
    query.write_text("SELECT ?s WHERE { ?s ?p ?o FILTER(<urn:no-such-function>(?o)) }\n", encoding="utf-8")
    source = ["--source", str(fixture_world)]
    assert_error(invoke("query", str(query), *source), "unknown-function.rq", "query failed")
    store = ["--store", str(tmp_path / "store")]
    assert_error(invoke("query", str(query), *source, *store), "unknown-function.rq", "query failed")


def test_queries_lists_every_named_query():
    result = invoke("queries")
    assert result.exit_code == 0
    for name, query in CQ.items():
        assert name in result.output and query.title in result.output
    assert "-p condition=<condition>" in result.output


@pytest.mark.parametrize("condition", ["type 2 diabetes mellitus", "ICD10CM:E11.9"])
def test_unsuitable_treatments_for_type_2_diabetes_by_label_or_code(built_graph: Graph, condition: str):
    result = invoke("query", "unsuitable-treatments", "-p", f"condition={condition}", "-f", "json")
    assert result.exit_code == 0, result.output
    bindings = json.loads(result.output)["results"]["bindings"]
    reasons = {(b["treatment"]["value"], b["contraindicatedIn"]["value"], b["strength"]["value"]) for b in bindings}
    assert (M + "dutasteride-hair-mesotherapy", M + "diabetes-mellitus", "relative") in reasons
    # the seed's caution reaches every treatment given by mesotherapy, and no other
    by_mesotherapy = set(built_graph.subjects(URIRef(M + "usesProcedure"), URIRef(M + "mesotherapy")))
    assert {t for t, _, _ in reasons} == {str(t) for t in by_mesotherapy}


def test_values_block_names_a_variable_given_by_name_or_as_a_pyoxigraph_variable():
    """Regression: a pyoxigraph Variable key was written `??x`, a syntax error on every endpoint (the
    engine binds its own queries that way)."""
    import pyoxigraph as ox

    from mesokg.remote import with_values

    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://p"), ox.Literal("o")))
    for key in ("x", ox.Variable("x")):
        text = with_values("SELECT ?x ?o WHERE { ?x <http://p> ?o }", {key: ox.NamedNode("http://a")})
        assert "VALUES (?x)" in text
        assert [row["o"].value for row in store.query(text)] == ["o"]
