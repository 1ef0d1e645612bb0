"""Generate docs/queries.md from the headers of the competency questions, with an example output each.

Run `python -m mesokg.docs` after changing a query; a test fails while the page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rdflib import Graph

from mesokg.graph import knowledge_graph
from mesokg.queries import named_queries, rows_of, run_query

EXAMPLE_ROWS = 5


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def queries_markdown(graph: Graph) -> str:
    lines = [
        "# Research queries",
        "",
        "Generated from the headers of `queries/cq/*.rq` by `python -m mesokg.docs`: do not edit.",
        "Run any of them with `mesokg query NAME -p KEY=VALUE`; parameters take an IRI, a CURIE, or a label",
        "or synonym (any case). `mesokg queries` lists them in the terminal.",
        "",
        "| query | question | parameters |",
        "|---|---|---|",
    ]
    queries = {n: q for n, q in named_queries().items() if q.path.parent.name == "cq"}
    for name, query in queries.items():
        params = ", ".join(f"`{p.name}` ({p.kind})" for p in query.params) or "none"
        lines.append(f"| [`{name}`](#{name}) | {_cell(query.question)} | {params} |")
    for name, query in queries.items():
        lines += ["", f"## {name}", "", f"**{query.title}.** {query.question}", ""]
        for p in query.params:
            lines.append(f"- `{p.name}` ({p.kind}): {p.description}")
        command = " ".join(["mesokg query", name, *(f'-p {k}="{v}"' for k, v in query.example.items())])
        names, rows = rows_of(run_query(graph, query, query.example))
        lines += ["", "```bash", command, "```", ""]
        lines.append("| " + " | ".join(names) + " |")
        lines.append("|" + "---|" * len(names))
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:EXAMPLE_ROWS]]
        if len(rows) > EXAMPLE_ROWS:
            lines.append(f"\n({len(rows)} rows; the first {EXAMPLE_ROWS} shown)")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Write the page into ./docs/queries.md (run from the repository root)."""
    path = Path("docs") / "queries.md"
    if not path.parent.is_dir():
        print("run this from the repository root (no docs/ directory here)", file=sys.stderr)
        return 2
    path.write_text(queries_markdown(knowledge_graph()), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
