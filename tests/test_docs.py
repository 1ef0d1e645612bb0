"""docs/queries.md is generated from the query headers and kept up to date."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from mesokg.docs import queries_markdown

PAGE = Path(__file__).resolve().parents[1] / "docs" / "queries.md"


def test_queries_page_is_up_to_date(built_graph: Graph):
    assert PAGE.read_text(encoding="utf-8") == queries_markdown(built_graph), "run: python -m mesokg.docs"


def test_queries_page_shows_every_question_with_an_example():
    text = PAGE.read_text(encoding="utf-8")
    for path in sorted((PAGE.parents[1] / "queries" / "cq").glob("*.rq")):
        assert f"## {path.stem}\n" in text
        assert f"mesokg query {path.stem}" in text
