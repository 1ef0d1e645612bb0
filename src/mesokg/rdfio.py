"""Reading RDF files: which files a path names, their syntax, and parsing with one-line errors; RDF terms
between rdflib and pyoxigraph.

Every failure is an InputError naming the file (and line and column where the parser gives them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from mesokg.errors import InputError, located

FORMAT_NAMES = {"turtle": "Turtle", "nt": "N-Triples", "json-ld": "JSON-LD", "xml": "RDF/XML", "n3": "N3"}


def parse_turtle(graph: Graph, path: Path) -> None:
    """Parse one Turtle file into `graph`, turning every failure into a one-line InputError."""
    parse_rdf(graph, path, "turtle")


def parse_rdf(graph: Graph, path: Path, rdf_format: str) -> None:
    """Parse one RDF file into `graph`, turning every failure into a one-line InputError."""
    shown = FORMAT_NAMES.get(rdf_format, rdf_format)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(located(path, "file not found")) from None
    except OSError as error:
        raise InputError(located(path, f"cannot read: {error.strerror or error}")) from None
    if not data.strip():
        raise InputError(located(path, "empty file"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(located(path, f"not UTF-8 (byte 0x{data[error.start]:02x})", line)) from None
    try:
        graph.parse(data=text, format=rdf_format, publicID=path.resolve().as_uri())
    except BadSyntax as error:
        raise InputError(located(path, f"malformed {shown}: {_why(error)}", *_position(error))) from None
    except Exception as error:  # rdflib raises several unrelated types for bad input
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(located(path, f"malformed {shown}: {first}")) from None


def _position(error: BadSyntax) -> tuple[int, int | None]:
    """1-based line and column of a Turtle syntax error."""
    text = error._str.decode("utf-8", "replace") if isinstance(error._str, bytes) else str(error._str)
    offset = min(error._i, len(text))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _why(error: BadSyntax) -> str:
    """The parser's reason, without its multi-line excerpt."""
    message = str(error.message)
    start = message.find("Bad syntax (")
    return message[start + len("Bad syntax (") : message.find(")", start)] if start >= 0 else message.splitlines()[0]


SUFFIX_FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".n3": "n3",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}


def expand_paths(paths: list[Path] | tuple[Path, ...]) -> tuple[list[Path], list[InputError]]:
    """Files as given, and the RDF files (by extension) inside directories, sorted."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS)
            if not found:
                errors.append(
                    InputError(located(path, "no RDF files (.ttl, .nt, .jsonld, .rdf ...) in this directory"))
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(InputError(located(path, "file not found")))
    return files, errors


def detect_format(path: Path, head: bytes) -> str:
    """The RDF syntax from the extension, or from the first bytes when the extension says nothing."""
    if path.suffix.lower() in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[path.suffix.lower()]
    start = head.lstrip()[:200]
    if start.startswith((b"{", b"[")):
        return "json-ld"
    if start.startswith(b"<?xml") or b"<rdf:RDF" in start:
        return "xml"
    return "turtle"


def to_ox(term):
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_rdflib(term):
    """A pyoxigraph term as an rdflib term (None stays None)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not an RDF term: {term!r}")


def ox_quads(graph: Graph, graph_name=None):
    """The triples of an rdflib graph as pyoxigraph quads (in `graph_name`, else the default graph). Blank
    nodes keep their identifiers, which a round trip through a parser would rename."""
    name = graph_name if graph_name is not None else ox.DefaultGraph()
    return (ox.Quad(to_ox(s), to_ox(p), to_ox(o), name) for s, p, o in graph)


def canonical_graph(graph: Graph) -> Graph:
    """A copy of `graph` whose blank nodes carry canonical labels (RDFC-1.0, computed by pyoxigraph: `c14n0`,
    `c14n1`, ...) and whose triples are added in sorted order, with the same prefixes.

    Two isomorphic graphs (the same triples up to blank-node labels, in any order) give the same copy, so every
    rdflib serialisation of it is byte-identical from run to run, whatever the parser named the blank nodes.
    IRIs and literals are the very terms of `graph` (a literal is not rewritten on the way; a plain literal and
    the same ^^xsd:string literal, one term in RDF 1.1, are kept once)."""
    back: dict = {}

    def forward(term):
        found = to_ox(term)
        if not isinstance(found, ox.BlankNode):
            back.setdefault(found, term)
        return found

    converted: dict = {}

    def convert(term):
        found = converted.get(term)
        if found is None:
            found = converted[term] = forward(term)
        return found

    dataset = ox.Dataset(ox.Quad(convert(s), convert(p), convert(o)) for s, p, o in graph)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    copy = Graph(bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)

    def term_of(term):
        return BNode(term.value) if isinstance(term, ox.BlankNode) else back[term]

    copy.addN((term_of(q.subject), term_of(q.predicate), term_of(q.object), copy) for q in sorted(dataset, key=str))
    return copy


def content_label(node: BNode, triples) -> str:
    """A label for a blank node shown in text or JSON, derived from the triples it is in (`node` as subject or
    object; another blank node in them counts without its label): the same on every run over the same data.
    Two blank nodes in the very same triples get the same label (nothing tells them apart one step away)."""
    lines = sorted(
        " ".join("_:self" if t == node else "_:" if isinstance(t, BNode) else t.n3() for t in triple)
        for triple in triples
    )
    return "b" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def graph_label(graph: Graph, node: BNode) -> str:
    """content_label of a blank node of an rdflib graph."""
    return content_label(node, [*graph.triples((node, None, None)), *graph.triples((None, None, node))])
