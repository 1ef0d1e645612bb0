"""The W3C SHACL test suite (core and SPARQL), run as `mesokg validate DATA --shapes SHAPES --no-kb` would run
it: the shapes loaded by `load_shapes`, the data validated by `validate(..., use_kb=False)`, in process (the
CLI's --no-kb path calls exactly these two functions).

A test is *correct* when the engine gives the manifest's sh:conforms (no result at all, as SHACL defines it)
and the same multiset of (focus node, result path, source shape, constraint component, severity, value) as
the expected report. Blank nodes of the data (focus nodes, values) are compared as `_:` (their labels differ
between parsers, as in pySHACL's own test runner); blank nodes of the shapes graph (a source shape, a path)
are compared by their structure. A test whose expected result is sht:Failure is correct when the engine
reports an error.

With --engine sparql every test must be correct or refused (exit 2, "cannot evaluate these shapes"): a wrong
answer fails the suite. With --engine auto every test pySHACL gets right must be right. The per-feature table
in docs/shacl-support.md is generated from these runs (`python tests/test_w3c_shacl.py` rewrites it).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD, Namespace

from mesokg.errors import MesokgError
from mesokg.results import blank_closure
from mesokg.sparql_shacl import supported_predicates
from mesokg.validation import load_shapes, validate

SUITE = Path(__file__).parent / "data" / "w3c-shacl"
TABLE = Path(__file__).parents[1] / "docs" / "shacl-support.md"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
ENGINES = ("sparql", "auto", "pyshacl")
BLANK = re.compile(r"\bn[0-9a-f]{32}b[0-9]+\b")  # an rdflib blank node label, different on each run


class Entry:
    def __init__(self, path: Path, node: URIRef, graph: Graph) -> None:
        self.path, self.node, self.graph = path, node, graph
        action = graph.value(node, MF.action)
        self.data = _file(graph.value(action, SHT.dataGraph))
        self.shapes = _file(graph.value(action, SHT.shapesGraph))
        self.result = graph.value(node, MF.result)
        self.name = str(path.relative_to(SUITE).with_suffix(""))

    @property
    def expects_failure(self) -> bool:
        return self.result == SHT.Failure

    @property
    def feature(self) -> str:
        """The directory and the test's stem without its number: core/node/class, sparql/pre-binding/..."""
        stem = self.path.stem
        parts = stem.split("-")
        while parts and (parts[-1].isdigit() or parts[-1] in ("data", "shapes")):
            parts.pop()
        return f"{self.path.parent.relative_to(SUITE)}/{'-'.join(parts) or stem}"


def _file(iri) -> Path:
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(str(iri)).path))


@cache
def entries() -> tuple[Entry, ...]:
    """Every entry of the manifests, following mf:include from the top manifest."""
    found, todo, seen = [], [SUITE / "manifest.ttl"], set()
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        graph = Graph().parse(path, format="turtle", publicID=path.resolve().as_uri())
        manifest = URIRef(path.resolve().as_uri())
        todo.extend(_file(i) for i in graph.objects(manifest, MF.include))
        for lists in graph.objects(manifest, MF.entries):
            for node in Collection(graph, lists):
                if (node, RDF.type, SHT.Validate) in graph:
                    found.append(Entry(path, node, graph))
    return tuple(sorted(found, key=lambda e: e.name))


# ---- comparing reports ---------------------------------------------------------------------------------------
def _literal(term: Literal) -> tuple:
    datatype = term.datatype or (RDF.langString if term.language else XSD.string)
    return ("literal", str(term), str(datatype), (term.language or "").lower())


def _data_term(term) -> tuple | None:
    """A focus node or value: blank nodes without their label."""
    if term is None:
        return None
    if isinstance(term, BNode):
        return ("bnode",)
    if isinstance(term, Literal):
        return _literal(term)
    return ("iri", str(term))


def _structure(term, graphs: tuple[Graph, ...], depth: int = 0):
    """A shape or path: an IRI, or a blank node described by its triples (in the first graph that has any)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, Literal):
        return _literal(term)
    if depth > 6:
        return ("bnode",)
    for graph in graphs:
        pairs = list(graph.predicate_objects(term))
        if pairs:
            return (
                "bnode",
                tuple(sorted((str(p), repr(_structure(o, graphs, depth + 1))) for p, o in pairs if p != SH.detail)),
            )
    return ("bnode",)


def _result(report: Graph, node, graphs: tuple[Graph, ...], details: bool = False) -> tuple:
    """(focus node, result path, source shape, component, severity, value) of a result; with `details`, and
    the results nested under it (sh:detail), each as a tuple of the same form."""
    key = (
        _data_term(report.value(node, SH.focusNode)),
        repr(_structure(report.value(node, SH.resultPath), graphs)),
        repr(_structure(report.value(node, SH.sourceShape), graphs)),
        str(report.value(node, SH.sourceConstraintComponent)),
        str(report.value(node, SH.resultSeverity)),
        _data_term(report.value(node, SH.value)),
    )
    if details:
        key += (tuple(sorted(repr(_result(report, d, graphs, True)) for d in report.objects(node, SH.detail))),)
    return key


def results_of(report: Graph, shapes: tuple[Graph, ...], details: bool = False) -> Counter:
    found: Counter = Counter()
    graphs = (report, *shapes)
    for node in report.subjects(RDF.type, SH.ValidationResult):
        if (None, SH.detail, node) in report:
            continue  # a nested result, not part of the comparison with the expected report
        found[_result(report, node, graphs, details)] += 1
    return found


def expected(entry: Entry) -> tuple[bool, Counter]:
    report = entry.result
    sub = Graph()
    for triple in blank_closure(entry.graph, report):
        sub.add(triple)
    for node in list(entry.graph.objects(report, SH.result)):
        sub.add((node, RDF.type, SH.ValidationResult))
    conforms = entry.graph.value(report, SH.conforms)
    return bool(conforms.toPython()), results_of(sub, (entry.graph,))


# ---- running --------------------------------------------------------------------------------------------------
REPORTS: dict[tuple[str, str], tuple] = {}  # (name, engine) -> (report, shapes graphs) of a run that gave one


@cache
def run(name: str, engine: str) -> tuple[str, str]:
    """(verdict, detail): pass, refused, wrong or crash."""
    entry = next(e for e in entries() if e.name == name)
    try:
        shapes = load_shapes([entry.shapes])
        outcome = validate([entry.data], None, engine, None, "no-kb", False, shapes=shapes, use_kb=False)
    except MesokgError as error:
        if entry.expects_failure:
            return "pass", f"error, as expected: {error}"
        if "cannot evaluate these shapes" in str(error) or "failed on these shapes" in str(error):
            return "refused", str(error)
        return "wrong", f"error where a report was expected: {error}"
    except Exception as error:  # noqa: BLE001 - a crash is a verdict of its own
        return "crash", f"{type(error).__name__}: {error}"
    if entry.expects_failure:
        return "wrong", "a report where the test expects a failure"
    if outcome.errors:
        return "wrong", f"input errors: {outcome.errors}"
    conforms, wanted = expected(entry)
    shapes_graphs = tuple(g for g in (outcome.shapes, shapes) if g is not None)
    REPORTS[(name, engine)] = (outcome.report, shapes_graphs)
    got = results_of(outcome.report, shapes_graphs) if outcome.report is not None else Counter()
    if conforms != (not got) or got != wanted:
        missing, extra = wanted - got, got - wanted
        return "wrong", f"conforms {not got} (expected {conforms}); missing {list(missing)}; extra {list(extra)}"
    return "pass", ""


NAMES = [e.name for e in entries()]


def test_the_suite_is_all_there():
    assert len(NAMES) == 120
    assert sum(1 for e in entries() if e.name.startswith("core/")) == 98
    assert all(e.data.is_file() and e.shapes.is_file() for e in entries())


@pytest.mark.parametrize("name", NAMES)
def test_the_sparql_engine_is_right_or_refuses(name: str):
    verdict, detail = run(name, "sparql")
    assert verdict in ("pass", "refused"), detail


@pytest.mark.slow  # runs the pySHACL reference on every test of the suite
@pytest.mark.parametrize("name", NAMES)
def test_auto_passes_whatever_pyshacl_passes(name: str):
    reference, _ = run(name, "pyshacl")
    verdict, detail = run(name, "auto")
    if reference == "pass":
        assert verdict == "pass", detail
    assert verdict != "crash", detail


# no expected report of the suite has sh:detail (it is optional in SHACL): the details are checked against
# pySHACL's, on every test with sh:node that both engines pass
WITH_NODE = [e.name for e in entries() if (None, SH.node, None) in Graph().parse(e.shapes, format="turtle")]


@pytest.mark.slow  # runs the pySHACL reference
def test_the_sparql_engine_nests_pyshacls_details():
    compared, details, wrong = 0, 0, []
    for name in WITH_NODE:
        if (run(name, "sparql")[0], run(name, "pyshacl")[0]) != ("pass", "pass"):
            continue
        found = {}
        for engine in ("sparql", "pyshacl"):
            report, shapes = REPORTS[(name, engine)]
            found[engine] = results_of(report, shapes, details=True) if report is not None else Counter()
        compared += 1
        details += len(list(REPORTS[(name, "pyshacl")][0].subject_objects(SH.detail)))
        if found["sparql"] != found["pyshacl"]:
            wrong.append((name, found["sparql"] - found["pyshacl"], found["pyshacl"] - found["sparql"]))
    assert not wrong
    assert compared >= 5 and details >= 4, (compared, details)


def tally() -> dict[str, Counter]:
    counts: dict[str, Counter] = {engine: Counter() for engine in ENGINES}
    for name in NAMES:
        for engine in ENGINES:
            counts[engine][run(name, engine)[0]] += 1
    return counts


@pytest.mark.slow  # compares with the pySHACL reference on every test of the suite
def test_enough_of_the_suite_is_evaluated_by_sparql():
    counts = tally()
    assert counts["sparql"]["wrong"] == 0 and counts["sparql"]["crash"] == 0
    assert counts["sparql"]["pass"] >= 80, counts["sparql"]
    assert counts["auto"]["pass"] >= counts["pyshacl"]["pass"], counts


def table() -> str:
    by_feature: dict[str, list] = defaultdict(list)
    for entry in entries():
        by_feature[entry.feature].append(entry)
    counts = tally()
    lines = [
        "# SHACL support of the fast engine",
        "",
        "Generated by `tests/test_w3c_shacl.py` from the W3C SHACL test suite (core and SPARQL, "
        "`tests/data/w3c-shacl/`); a test fails while this file is stale, `python tests/test_w3c_shacl.py` "
        "rewrites it.",
        "",
        "Each test is run as `mesokg validate DATA --shapes SHAPES --no-kb --engine E`. *pass*: the expected "
        "report (or the expected failure); *refused*: the SPARQL engine raised Unsupported (with `--engine "
        "auto` pySHACL then does the work); *wrong*: a different report. The sparql column may never show a "
        "wrong answer: the suite fails if it does.",
        "",
        "| engine | pass | refused | wrong | crash |",
        "|---|---|---|---|---|",
    ]
    for engine in ENGINES:
        c = counts[engine]
        lines.append(f"| `--engine {engine}` | {c['pass']} | {c['refused']} | {c['wrong']} | {c['crash']} |")
    lines += [
        "",
        "## Per feature",
        "",
        "| feature | tests | sparql: pass | sparql: refused | auto: pass | pyshacl: pass |",
        "|---|---|---|---|---|---|",
    ]
    for feature in sorted(by_feature):
        names = [e.name for e in by_feature[feature]]
        verdicts = {engine: Counter(run(n, engine)[0] for n in names) for engine in ENGINES}
        lines.append(
            f"| {feature} | {len(names)} | {verdicts['sparql']['pass']} | {verdicts['sparql']['refused']} | "
            f"{verdicts['auto']['pass']} | {verdicts['pyshacl']['pass']} |"
        )
    lines += ["", "## Refused by the SPARQL engine, and why", ""]
    for name in NAMES:
        verdict, detail = run(name, "sparql")
        if verdict == "refused":
            reason = detail.split("cannot evaluate these shapes: ", 1)[-1].split("failed on these shapes: ", 1)[-1]
            reason = BLANK.sub("[]", reason.replace(str(SUITE.resolve().as_uri()), "")).replace("|", "\\|")
            lines.append(f"- `{name}`: {reason}")
    lines += ["", "## Not right with pySHACL either", ""]
    for name in NAMES:
        verdict, detail = run(name, "pyshacl")
        if verdict != "pass":
            lines.append(f"- `{name}` ({verdict})")
    lines += ["", "## The registry", "", "The (shape kind, predicate) combinations the compiler evaluates:", ""]
    for kind, names in supported_predicates().items():
        lines.append(f"- {kind} shapes: {', '.join(f'`{n}`' for n in names)}")
    lines.append(
        "- `sh:sparql` constraints and SPARQL-based constraint components (SELECT node and property "
        "validators, ASK validators), with `$this` pre-bound where joining gives the same answer"
    )
    return "\n".join(lines) + "\n"


@pytest.mark.slow  # the table has a pySHACL column: every test of the suite runs in it
def test_the_support_table_is_current():
    assert TABLE.read_text(encoding="utf-8") == table(), "stale: run python tests/test_w3c_shacl.py"


if __name__ == "__main__":
    TABLE.write_text(table(), encoding="utf-8")
    print(f"wrote {TABLE}", file=sys.stderr)
