"""Measurements that `run.py` runs in a child process of their own, so that each has its own peak memory.

python benchmarks/probes.py pyshacl DATA --kb build/mesokg.nt
    pySHACL alone on DATA plus the built knowledge graph, with mesokg's patient shapes and the options
    `mesokg.validate` passes; prints a JSON summary of the report.
python benchmarks/probes.py warm-query NAME -p KEY=VALUE ... --kb build/mesokg.nt [--repeat 50] [--store DIR]
    loads the built graph once (and opens the store), then runs the named query REPEAT times through
    `mesokg.query`; prints the times as JSON.
python benchmarks/probes.py oxigraph-load DATA
    the floor: pyoxigraph's `bulk_load` of the N-Triples file DATA into an in-memory store, nothing else;
    prints the number of triples loaded and the seconds the load took, as JSON.
python benchmarks/probes.py rusage --out FILE -- COMMAND ...
    runs COMMAND and writes its peak resident memory (from getrusage) to FILE: the stand-in for
    `/usr/bin/time -v` where that is missing.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SH_VIOLATION = "http://www.w3.org/ns/shacl#Violation"


def load_kb(path: Path):
    """The built knowledge graph, as `mesokg build` wrote it (N-Triples)."""
    from rdflib import Graph

    graph = Graph()
    graph.parse(path, format="nt")
    return graph


def pyshacl_reference(data: Path, kb: Path) -> dict:
    """pySHACL on the data and the knowledge graph, prepared and called as `mesokg.validation.validate` does it."""
    import pyshacl
    from rdflib.namespace import RDF, SH

    from mesokg.coding import resolve_record_codes
    from mesokg.rule import patient_shapes
    from mesokg.validation import patient_of

    graph = load_kb(kb)
    graph.parse(data, format="turtle" if data.suffix == ".ttl" else "nt")
    resolve_record_codes(graph)
    conforms, report, _ = pyshacl.validate(
        graph, shacl_graph=patient_shapes(), advanced=True, inference="none", allow_warnings=True
    )
    nested = set(report.objects(None, SH.detail))
    results = [node for node in report.subjects(RDF.type, SH.ValidationResult) if node not in nested]
    violating = {
        patient_of(graph, report.value(node, SH.focusNode))
        for node in results
        if str(report.value(node, SH.resultSeverity)) == SH_VIOLATION
    }
    return {"conforms": bool(conforms), "results": len(results), "violating_patients": len(violating)}


def parse_params(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    """Seconds each of `repeat` calls of `action` took."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def warm_query(name: str, params: dict[str, str], kb: Path, repeat: int, store: Path | None = None) -> dict:
    """Times of one named query on a graph loaded once (or on an on-disk store opened once): end to end
    through `mesokg.query` (parse the query, resolve and bind the parameters, evaluate, read every row), and
    the evaluation alone (the query prepared and bound once)."""
    from mesokg.queries import bind_params, load_query, prepare, run_query

    graph = load_kb(kb)
    query = load_query(name)
    bindings = bind_params(graph, query, params)
    if store is None:
        prepared = prepare(query)
        whole = timed(lambda: list(run_query(graph, name, params)), repeat)
        evaluation = timed(lambda: list(graph.query(prepared, initBindings=bindings)), repeat)
        rows = len(list(run_query(graph, name, params)))
    else:
        from mesokg.queries import run_store_query
        from mesokg.remote import with_values
        from mesokg.store import Store

        opened = Store(store)
        text = with_values(query.text, bindings)
        whole = timed(lambda: list(run_store_query(opened, graph, name, params)), repeat)
        evaluation = timed(lambda: list(opened.ox.query(text, use_default_graph_as_union=True)), repeat)
        rows = len(list(run_store_query(opened, graph, name, params)))
    return {
        "rows": rows,
        "runs": repeat,
        "first_ms": whole[0] * 1000,
        "median_ms": statistics.median(whole) * 1000,
        "p90_ms": statistics.quantiles(whole, n=10)[-1] * 1000 if repeat >= 2 else whole[0] * 1000,
        "min_ms": min(whole) * 1000,
        "evaluation_median_ms": statistics.median(evaluation) * 1000,
    }


def oxigraph_load(data: Path) -> dict:
    """pyoxigraph's bulk loader on `data` (N-Triples) into a store in memory: the fastest way to read the file."""
    from pyoxigraph import RdfFormat, Store

    store = Store()
    start = time.perf_counter()
    store.bulk_load(path=str(data), format=RdfFormat.N_TRIPLES)
    return {"triples": len(store), "load_s": time.perf_counter() - start}


def rusage(out: Path, command: list[str]) -> int:
    """Run `command` (inheriting stdout and stderr) and write its peak RSS in kB to `out`; its exit code."""
    code = subprocess.call(command)
    out.write_text(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n", encoding="utf-8")
    return code


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Child-process measurements for benchmarks/run.py.")
    sub = parser.add_subparsers(dest="probe", required=True)
    ref = sub.add_parser("pyshacl", help="pySHACL alone on data + knowledge graph + patient shapes")
    ref.add_argument("data", type=Path)
    ref.add_argument("--kb", type=Path, required=True, help="the built graph, N-Triples (build/mesokg.nt)")
    warm = sub.add_parser("warm-query", help="a named query repeated on a graph loaded once")
    warm.add_argument("name")
    warm.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    warm.add_argument("--kb", type=Path, required=True, help="the built graph, N-Triples (build/mesokg.nt)")
    warm.add_argument("--repeat", type=int, default=50)
    warm.add_argument("--store", type=Path, help="run on this on-disk store (filled by mesokg build --store)")
    floor = sub.add_parser("oxigraph-load", help="pyoxigraph bulk_load of an N-Triples file, in memory")
    floor.add_argument("data", type=Path)
    wrap = sub.add_parser("rusage", help="run a command and write its peak RSS (kB) to a file")
    wrap.add_argument("--out", type=Path, required=True)
    wrap.add_argument("command", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe == "rusage":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return rusage(args.out, command)
    if args.probe == "pyshacl":
        result = pyshacl_reference(args.data, args.kb)
    elif args.probe == "oxigraph-load":
        result = oxigraph_load(args.data)
    else:
        result = warm_query(args.name, parse_params(args.param), args.kb, args.repeat, args.store)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
