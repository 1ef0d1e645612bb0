"""The knowledge graph's own work, each step timed against its rdflib reference in the same run.

    python benchmarks/core.py [--repeat 5] [--out docs/benchmarks-core.md]

Steps: the build rules (queries/rules, CONSTRUCT), the quality checks (queries/checks) and every competency
question with its example parameters (queries/cq). mesokg runs each in oxigraph's engine over an in-memory
copy of the graph (mesokg.graph.apply_rules, mesokg.backends.GraphStore); the reference runs the same text in
rdflib's engine on the rdflib graph, as mesokg 0.1 did. Each figure is the median of `--repeat` runs in this
process, and the answers of the two are compared (a step whose answers differ is reported as such).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph
import rdflib
from rdflib import Graph
from rdflib.compare import isomorphic

from mesokg.backends import graph_store
from mesokg.checks import check_files, run_checks
from mesokg.graph import apply_rules, knowledge_graph, load_sources, rule_files
from mesokg.queries import bind_params, named_queries, run_query
from mesokg.version import __version__


def median_time(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rdflib_rules(sources: Graph) -> Graph:
    graph = Graph()
    graph += sources
    for rule in rule_files():
        derived = graph.query(rule.read_text(encoding="utf-8")).graph
        for triple in derived:
            graph.add(triple)
    return graph


def oxigraph_rules(sources: Graph) -> Graph:
    graph = Graph()
    graph += sources
    return apply_rules(graph)


def rdflib_checks(graph: Graph) -> dict:
    return {
        path.stem: sorted((str(r[0]), str(r[1])) for r in graph.query(path.read_text(encoding="utf-8")))
        for path in check_files()
    }


def rdflib_queries(graph: Graph) -> dict:
    answers = {}
    for name, query in named_queries().items():
        if name.endswith("-violation"):
            continue
        bindings = bind_params(graph, query, query.example)
        answers[name] = sorted(tuple(str(v) for v in row) for row in graph.query(query.text, initBindings=bindings))
    return answers


def oxigraph_queries(graph: Graph) -> dict:
    answers = {}
    for name, query in named_queries().items():
        if name.endswith("-violation"):
            continue
        answers[name] = sorted(tuple(str(v) for v in row) for row in run_query(graph, query, query.example))
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks-core.md"))
    args = parser.parse_args(argv)

    sources = load_sources()
    kb = knowledge_graph()
    graph_store(kb)  # the shared copy, as a warm process has it
    rows = []

    ref_time, ref_graph = median_time(lambda: rdflib_rules(sources), args.repeat)
    ox_time, ox_graph = median_time(lambda: oxigraph_rules(sources), args.repeat)
    rows.append(("build rules (queries/rules)", ref_time, ox_time, isomorphic(ref_graph, ox_graph)))

    ref_time, ref_answer = median_time(lambda: rdflib_checks(kb), args.repeat)
    ox_time, ox_answer = median_time(lambda: run_checks(kb), args.repeat)
    rows.append((f"{len(check_files())} quality checks (queries/checks)", ref_time, ox_time, ref_answer == ox_answer))

    ref_time, ref_answer = median_time(lambda: rdflib_queries(kb), args.repeat)
    ox_time, ox_answer = median_time(lambda: oxigraph_queries(kb), args.repeat)
    rows.append((f"{len(ox_answer)} competency questions, examples", ref_time, ox_time, ref_answer == ox_answer))

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# mesokg benchmarks: the knowledge graph's own work",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, {platform.platform()}; "
        f"Python {platform.python_version()}; mesokg {__version__}, rdflib {rdflib.__version__}, "
        f"pyoxigraph {pyoxigraph.__version__}; commit {commit or 'unknown'}; load average at the end {load}.",
        "",
        f"Reproduce: `python benchmarks/core.py --repeat {args.repeat}`. The knowledge graph: {len(kb):,} triples "
        f"built from {len(sources):,}. Median of {args.repeat} runs in one process; the reference is rdflib's "
        "SPARQL engine on the rdflib graph (mesokg 0.1), mesokg's is oxigraph's engine on an in-memory copy.",
        "",
        "| step | rdflib (reference) | mesokg | speed-up | same answers |",
        "|---|---|---|---|---|",
    ]
    for name, ref, ox, same in rows:
        lines.append(f"| {name} | {ref:.3f} s | {ox:.3f} s | {ref / ox:.1f}x | {'yes' if same else 'NO'} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[-len(rows) - 2 :]))
    return 0 if all(same for *_, same in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
