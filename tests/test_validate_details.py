"""sh:detail: a sh:node result carries the results of validating its value against the node shape, as pySHACL
nests them. The fast engine against pySHACL on small shapes of every way sh:node can be reached, on the data
alone (no knowledge base), compared as trees (in the results and in the Turtle report), blank nodes without
their labels."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, SH

from mesokg.cli import cli
from mesokg.validation import load_shapes, validate

PREFIXES = (
    "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/data/> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
)
BLANK = re.compile(r"_:\w+")


def result_tree(result) -> tuple:
    """A result and, recursively, its details; a blank node's label left out."""
    fields = (result.focus, result.shape, result.component, result.severity, result.value)
    return (*(BLANK.sub("_:", f) if f else f for f in fields), tuple(sorted(map(result_tree, result.details))))


def _term(term) -> str | None:
    if term is None:
        return None
    return "_:" if isinstance(term, BNode) else str(term)


def report_tree(report: Graph, node) -> tuple:
    """A sh:ValidationResult of a report graph and, recursively, the results under its sh:detail."""
    return (
        *(_term(report.value(node, p)) for p in (SH.focusNode, SH.sourceShape, SH.sourceConstraintComponent)),
        *(_term(report.value(node, p)) for p in (SH.resultSeverity, SH.value, SH.resultPath)),
        tuple(sorted(report_tree(report, d) for d in report.objects(node, SH.detail))),
    )


def report_trees(report: Graph) -> Counter:
    roots = list(report.subjects(RDF.type, SH.ValidationReport))
    assert len(roots) == 1
    return Counter(report_tree(report, n) for n in report.objects(roots[0], SH.result))


def both(tmp_path: Path, shapes: str, data: str):
    (tmp_path / "s.ttl").write_text(PREFIXES + shapes, encoding="utf-8")
    (tmp_path / "d.ttl").write_text(PREFIXES + data, encoding="utf-8")
    outcomes = []
    for engine in ("sparql", "pyshacl"):
        outcome = validate([tmp_path / "d.ttl"], None, engine, shapes=load_shapes([tmp_path / "s.ttl"]), use_kb=False)
        assert outcome.engine == engine and not outcome.errors
        outcomes.append(outcome)
    return outcomes


CASES = {
    # (shapes, data, the number of details in all, at any depth)
    "node-of-a-property-shape": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:class ex:C ; sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:datatype xsd:string ] .",
        "ex:a ex:p ex:b , ex:c , ex:d . ex:b ex:q 1 . ex:c a ex:C ; ex:q 'x' . ex:d a ex:C .",
        3,  # b: class, datatype; d: minCount; c conforms
    ),
    "node-of-a-node-shape": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:K ; sh:node ex:T . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:maxCount 1 ] .",
        "ex:a a ex:K ; ex:q 1 , 2 . ex:b a ex:K ; ex:q 1 .",
        1,
    ),
    "a-chain-of-node-shapes": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:node ex:U ] . "
        "ex:U a sh:NodeShape ; sh:property [ sh:path ex:r ; sh:minCount 1 ] .",
        "ex:a ex:p ex:b , ex:e . ex:b ex:q ex:c . ex:c ex:s 1 . ex:e ex:q ex:f . ex:f ex:r 1 .",
        2,  # b's result against T, under it c's against U
    ),
    "one-value-of-two-focus-nodes": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a , ex:b ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .",
        "ex:a ex:p ex:x . ex:b ex:p ex:x .",
        2,  # x's result under each of the two
    ),
    "properties-nested-three-deep-in-the-node-shape": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:node ex:T . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:p ; sh:property [ sh:path ex:q ; "
        "sh:property [ sh:path ex:r ; sh:minCount 1 ] ] ] .",
        "ex:a ex:p ex:b . ex:b ex:q ex:c , ex:d . ex:d ex:r 1 .",
        1,  # c's minCount, its focus node two steps from a
    ),
    "a-warning-only": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ; sh:severity sh:Warning ] .",
        "ex:a ex:p ex:b .",
        1,
    ),
    "blank-node-values": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:node ex:T ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .",
        "ex:a ex:p [ ex:r 1 ] , [ ex:r 2 ] , [ ex:q 3 ] .",
        2,
    ),
    "node-inside-or-and-not-gives-no-details": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:or ( [ sh:node ex:T ] [ sh:node ex:U ] ) ; "
        "sh:not [ sh:node ex:U ] ; "
        "sh:property [ sh:path ex:p ; sh:qualifiedValueShape [ sh:node ex:T ] ; sh:qualifiedMinCount 1 ] . "
        "ex:T a sh:NodeShape ; sh:property [ sh:path ex:q ; sh:minCount 1 ] . "
        "ex:U a sh:NodeShape ; sh:property [ sh:path ex:r ; sh:minCount 1 ] .",
        "ex:a ex:p ex:b ; ex:s 1 .",
        0,
    ),
}


def count(results) -> int:
    return sum(len(r.details) + count(r.details) for r in results)


@pytest.mark.parametrize("case", CASES)
def test_details_are_pyshacls(tmp_path: Path, case: str):
    shapes, data, expected = CASES[case]
    fast, reference = both(tmp_path, shapes, data)
    assert Counter(map(result_tree, fast.results)) == Counter(map(result_tree, reference.results))
    assert report_trees(fast.report) == report_trees(reference.report)
    assert count(fast.results) == expected
    assert fast.results, "every case has a result"


def test_details_in_json_and_text(tmp_path: Path):
    shapes, data, _ = CASES["a-chain-of-node-shapes"]
    (tmp_path / "s.ttl").write_text(PREFIXES + shapes, encoding="utf-8")
    (tmp_path / "d.ttl").write_text(PREFIXES + data, encoding="utf-8")
    args = ["validate", str(tmp_path / "d.ttl"), "--shapes", str(tmp_path / "s.ttl"), "--no-kb"]
    for engine in ("sparql", "pyshacl"):
        out = CliRunner().invoke(cli, [*args, "--engine", engine, "-f", "json"])
        assert out.exit_code == 1, out.output
        (result,) = json.loads(out.output)["results"]
        (detail,) = result["details"]
        assert (result["component"], result["value"]) == ("sh:NodeConstraintComponent", "https://example.org/data/b")
        assert (detail["focus"], detail["component"]) == ("https://example.org/data/b", "sh:NodeConstraintComponent")
        (inner,) = detail["details"]
        assert (inner["focus"], inner["component"], inner["details"]) == (
            "https://example.org/data/c",
            "sh:MinCountConstraintComponent",
            [],
        )
        text = CliRunner().invoke(cli, [*args, "--engine", engine]).output
        assert "      detail: VIOLATION" in text and "        detail: VIOLATION" in text, text


def test_the_turtle_report_nests_details(tmp_path: Path):
    shapes, data, _ = CASES["one-value-of-two-focus-nodes"]
    fast, _ = both(tmp_path, shapes, data)
    report = fast.report
    details = list(report.subject_objects(SH.detail))
    assert len(details) == 2 and len({child for _, child in details}) == 2, "each result has a detail node of its own"
    for parent, child in details:
        assert report.value(child, SH.focusNode) == report.value(parent, SH.value)
        assert (child, RDF.type, SH.ValidationResult) in report
    root = next(report.subjects(RDF.type, SH.ValidationReport))
    assert set(report.objects(root, SH.result)) == {parent for parent, _ in details}, "details are not results"
    assert report.value(root, SH.conforms) == Literal(False)
