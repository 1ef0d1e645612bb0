"""Quality checks: queries/checks/*-violation.rq, each listing offenders as (?entity, ?problem)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from mesokg.backends import Backend, graph_store
from mesokg.resources import queries_dir


def check_files() -> list[Path]:
    return sorted((queries_dir() / "checks").glob("*-violation.rq"))


def run_checks(target: Graph | Backend, names: list[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Every check's offending rows (or only those of the checks `names`), keyed by the check's file stem; an
    empty list means it passed. `target` is a graph (run in its in-memory copy, mesokg.backends.graph_store)
    or any backend."""
    backend = graph_store(target) if isinstance(target, Graph) else target
    results = {}
    for path in check_files():
        if names is not None and path.stem not in names:
            continue
        rows = backend.select(path.read_text(encoding="utf-8"))
        results[path.stem] = sorted((_text(row["entity"]), _text(row["problem"])) for row in rows)
    return results


def _text(term) -> str:
    return "" if term is None else term.value
