"""Quality checks: queries/checks/*-violation.rq, each listing offenders as (?entity, ?problem)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from mesokg.resources import queries_dir


def check_files() -> list[Path]:
    return sorted((queries_dir() / "checks").glob("*-violation.rq"))


def run_checks(graph: Graph, names: list[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Every check's offending rows (or only those of the checks `names`), keyed by the check's file stem; an
    empty list means it passed."""
    results = {}
    for path in check_files():
        if names is not None and path.stem not in names:
            continue
        rows = graph.query(path.read_text(encoding="utf-8"))
        results[path.stem] = sorted((str(row[0]), str(row[1])) for row in rows)
    return results
