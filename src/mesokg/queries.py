"""Named SPARQL queries (queries/cq/*.rq with a header), running them with bound parameters, and
writing their results in the W3C result formats or as a table."""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.query import Result

from mesokg.backends import graph_store
from mesokg.coding import resolve_record_codes
from mesokg.errors import InputError, MesokgError, QuerySyntaxError, located
from mesokg.inputs import read_inputs
from mesokg.prefixes import compact
from mesokg.rdfio import canonical_graph, rdflib_result
from mesokg.remote import with_values
from mesokg.resolve import KIND_PATTERNS, resolve
from mesokg.resources import queries_dir

if TYPE_CHECKING:
    from rdflib.plugins.sparql.sparql import Query

NAMED_DIRS = ("cq", "checks")
HEADER_LINE = re.compile(r"^#\s*(\w+):\s*(.*)$")
PARAM_LINE = re.compile(r"^(\w+)\s+\((\w+)\)\s*(.*)$")
TEXT_KIND = "text"


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    description: str


@dataclass
class NamedQuery:
    name: str
    path: Path
    text: str
    title: str = ""
    question: str = ""
    description: str = ""
    params: list[Param] = field(default_factory=list)
    example: dict[str, str] = field(default_factory=dict)


def parse_header(name: str, path: Path, text: str) -> NamedQuery:
    """Read the `# key: value` lines at the top of a query file."""
    query = NamedQuery(name=name, path=path, text=text)
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        match = HEADER_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key in ("title", "question", "description"):
            setattr(query, key, value)
        elif key == "param":
            param = PARAM_LINE.match(value)
            if not param or (param.group(2) not in KIND_PATTERNS and param.group(2) != TEXT_KIND):
                raise InputError(located(path, f"bad '# param:' line (want NAME (KIND) description): {value}", number))
            query.params.append(Param(*param.groups()))
        elif key == "example":
            pname, sep, pvalue = value.partition("=")
            if not sep:
                raise InputError(located(path, f"bad '# example:' line (want NAME=VALUE): {value}", number))
            query.example[pname.strip()] = pvalue.strip()
    return query


def named_queries() -> dict[str, NamedQuery]:
    """Every named query (competency questions first, then quality checks), keyed by file stem."""
    found: dict[str, NamedQuery] = {}
    for directory in NAMED_DIRS:
        for path in sorted((queries_dir() / directory).glob("*.rq")):
            found.setdefault(path.stem, parse_header(path.stem, path, path.read_text(encoding="utf-8")))
    return found


def load_query(name_or_file: str) -> NamedQuery:
    """A named query by stem, or a query file (a path ending in .rq, or any existing file)."""
    path = Path(name_or_file)
    if name_or_file.endswith(".rq") or path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(located(path, "query file not found")) from None
        except UnicodeDecodeError:
            raise InputError(located(path, "query file is not UTF-8")) from None
        except OSError as error:
            raise InputError(located(path, f"cannot read query file: {error.strerror or error}")) from None
        return parse_header(path.stem, path, text)
    queries = named_queries()
    if name_or_file not in queries:
        raise InputError(f"no query named {name_or_file!r}; run 'mesokg queries' for the list")
    return queries[name_or_file]


@functools.lru_cache(maxsize=256)
def _prepared(text: str) -> Query:
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text)


def prepare(query: NamedQuery) -> Query:
    """Parse the query (once per text, for the last few hundred texts: a warm query is not parsed again),
    reporting a syntax error with its line and column."""
    from pyparsing import ParseBaseException

    try:
        return _prepared(query.text)
    except ParseBaseException as error:
        raise InputError(located(query.path, f"SPARQL syntax error: {error.msg}", error.lineno, error.col)) from None
    except Exception as error:  # rdflib's algebra translation raises assorted errors for bad queries
        raise InputError(located(query.path, f"invalid SPARQL: {error}")) from None


def bind_params(graph: Graph, query: NamedQuery, values: dict[str, str]) -> dict[str, URIRef | Literal]:
    """Resolve each parameter to an IRI of the graph (or a plain literal for text parameters).

    A query without a header takes any parameter and resolves it as a concept.
    """
    declared = {p.name: p for p in query.params}
    if declared:
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise MesokgError(f"{query.name} has no parameter {', '.join(unknown)}; it takes: {', '.join(declared)}")
        missing = [name for name in declared if name not in values]
        if missing:
            raise MesokgError(f"{query.name} needs -p {missing[0]}=... ({declared[missing[0]].description})")
    bindings: dict[str, URIRef | Literal] = {}
    for name, value in values.items():
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise MesokgError(f"{name!r} is not a parameter name")
        kind = declared[name].kind if name in declared else "concept"
        bindings[name] = Literal(value) if kind == TEXT_KIND else resolve(graph, value, kind, name)
    return bindings


def run_query(graph: Graph, name_or_file: str | NamedQuery, params: dict[str, str] | None = None) -> Result:
    """Run a named query or query file on `graph` with its parameters bound (never pasted into the text).

    The parameters are resolved against `graph` and bound in an inline VALUES block, as for a store or an
    endpoint (mesokg.remote.with_values); the query runs in oxigraph's engine over the graph's in-memory copy
    (mesokg.backends.graph_store), and its answer is returned as rdflib's Result.
    """
    return run_store_query(graph_store(graph), graph, name_or_file, params)


def run_remote_query(remote, kb: Graph, name_or_file: str | NamedQuery, params: dict[str, str] | None = None) -> Result:
    """The same, on a remote SPARQL endpoint (mesokg.remote.RemoteStore): the parameters are resolved against
    the local knowledge graph and sent as a trailing VALUES block, never pasted into the query."""
    query = name_or_file if isinstance(name_or_file, NamedQuery) else load_query(name_or_file)
    prepare(query)  # a syntax error is reported with its line and column before anything is sent
    bindings = bind_params(kb, query, params or {})
    return remote.query(query.text, bindings)


def run_store_query(store, kb: Graph, name_or_file: str | NamedQuery, params: dict[str, str] | None = None) -> Result:
    """The same, on an embedded store (mesokg.store.Store; all its graphs as the default graph): parameters
    resolved against the knowledge graph and bound in an inline VALUES block (mesokg.remote.with_values)."""
    query = name_or_file if isinstance(name_or_file, NamedQuery) else load_query(name_or_file)
    bindings = bind_params(kb, query, params or {})
    try:  # oxigraph evaluates lazily: an evaluation error surfaces while the answer is read
        return rdflib_result(store.query(with_values(query.text, bindings)))
    except QuerySyntaxError as error:
        # reported as for every backend, with the line and column of the query as written (rdflib's parser,
        # imported only now: a cold command that runs a valid query never loads it)
        prepare(query)
        raise InputError(located(query.path, str(error))) from None
    except (OSError, RuntimeError, ValueError) as error:
        raise MesokgError(located(query.path, f"query failed: {error}")) from None


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise MesokgError(f"-p takes KEY=VALUE, got {pair!r}")
        params[name.strip()] = value
    return params


def load_data(graph: Graph, paths: list[Path] | tuple[Path, ...]) -> Graph:
    """Add RDF files or directories to `graph`; the first unreadable input is an InputError."""
    inputs = read_inputs(paths, graph)
    if inputs.errors:
        raise inputs.errors[0]
    resolve_record_codes(graph)
    return graph


RESULT_FORMATS = {"json": "json", "xml": "xml", "csv": "csv"}


def sparql_tsv(result: Result) -> str:
    """W3C SPARQL 1.1 TSV results: `?var` header, each term in Turtle syntax (rdflib has no TSV writer)."""
    names = [str(v) for v in (result.vars or [])]
    lines = ["\t".join(f"?{n}" for n in names)]
    for row in result:
        lines.append("\t".join("" if row[i] is None else row[i].n3().replace("\t", "\\t") for i in range(len(names))))
    return "\n".join(lines) + "\n"


def format_result(result: Result, fmt: str) -> str:
    """Results as text: W3C SPARQL JSON/XML/CSV/TSV or a table for SELECT and ASK; Turtle for graphs."""
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        assert result.graph is not None
        if fmt not in ("turtle", "table"):
            raise MesokgError(f"a {result.type} query gives a graph: use -f turtle")
        return canonical_graph(result.graph).serialize(format="turtle")
    if fmt == "turtle":
        raise MesokgError(f"a {result.type} query gives a table: use -f table, json, csv, tsv or xml")
    if result.type == "ASK" and fmt in ("csv", "tsv"):
        return "true\n" if result.askAnswer else "false\n"
    if fmt == "tsv":
        return sparql_tsv(result)
    if fmt in RESULT_FORMATS:
        out = io.BytesIO()
        result.serialize(destination=out, format=RESULT_FORMATS[fmt], encoding="utf-8")
        return out.getvalue().decode("utf-8")
    if result.type == "ASK":
        return "yes\n" if result.askAnswer else "no\n"
    return table(result)


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, URIRef):
        return compact(str(value))
    return str(value)


def rows_of(result: Result) -> tuple[list[str], list[tuple[str, ...]]]:
    names = [str(v) for v in (result.vars or [])]
    return names, [tuple(cell(row[i]) for i in range(len(names))) for row in result]


def table(result: Result) -> str:
    names, rows = rows_of(result)
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
