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
from rdflib.store import Store as RdflibStore

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


def to_rdflib_plain(term):
    """As to_rdflib, but an xsd:string literal (what oxigraph makes of every literal without a datatype or
    language) becomes a plain literal: the same term in RDF 1.1, and how rdflib's parsers give it."""
    if isinstance(term, ox.Literal) and term.datatype == _XSD_STRING:
        return Literal(term.value)
    return to_rdflib(term)


_XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


def triple_to_rdflib(triple) -> tuple:
    """A pyoxigraph triple or quad's (subject, predicate, object) as rdflib terms, as to_rdflib_plain gives them."""
    return to_rdflib_plain(triple.subject), to_rdflib_plain(triple.predicate), to_rdflib_plain(triple.object)


class OxigraphView(RdflibStore):
    """A read-only rdflib store over the default graph of a pyoxigraph store: an rdflib Graph over it answers
    triple patterns from oxigraph's indexes and SPARQL in oxigraph's engine, and is ready as soon as the
    pyoxigraph store is filled (no rdflib index is built, which for the knowledge graph takes a second).
    Terms are as rdflib's parsers give them (to_rdflib_plain). oxrdflib does the same for a read-write store,
    but gives xsd:string literals typed and imports rdflib's SPARQL engine, whose import alone costs a cold
    command a fifth of a second (docs/decisions/0014)."""

    # one graph, the default graph: enough for a Dataset over the store (pySHACL wraps its data graph in one)
    context_aware = True
    graph_aware = True

    def __init__(self, store: ox.Store) -> None:
        super().__init__()
        self.ox = store
        self._length: int | None = None
        self._prefixes: dict[str, URIRef] = {}

    def add(self, triple, context, quoted=False) -> None:
        raise TypeError("this graph is read-only")

    def addN(self, quads) -> None:  # noqa: N802 - rdflib's name
        raise TypeError("this graph is read-only")

    def remove(self, triple, context=None) -> None:
        raise TypeError("this graph is read-only")

    def __len__(self, context=None) -> int:
        if self._length is None:
            self._length = len(self.ox)
        return self._length

    def triples(self, triple_pattern, context=None):
        try:
            pattern = [None if term is None else to_ox(term) for term in triple_pattern]
        except TypeError:  # a pattern term oxigraph cannot hold (a graph, a variable) matches nothing here
            return
        try:
            quads = self.ox.quads_for_pattern(*pattern, ox.DefaultGraph())
        except TypeError:  # e.g. a literal as subject: no triple has one
            return
        for quad in quads:
            yield triple_to_rdflib(quad), iter((context,))

    def add_graph(self, graph) -> None:
        from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

        if getattr(graph, "identifier", graph) != DATASET_DEFAULT_GRAPH_ID:
            raise TypeError("this graph is read-only")

    def remove_graph(self, graph) -> None:
        raise TypeError("this graph is read-only")

    def contexts(self, triple=None):
        from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

        if triple is None or any(True for _ in self.triples(triple)):
            yield Graph(store=self, identifier=DATASET_DEFAULT_GRAPH_ID)

    def query(self, query, initNs, initBindings, queryGraph, **kwargs):  # noqa: N803 - rdflib's names
        if not isinstance(query, str) or kwargs or initBindings:
            # rdflib then evaluates the query itself: its initBindings bind variables the query does not
            # project, which oxigraph's substitutions refuse
            raise NotImplementedError
        prefixes = {prefix: str(namespace) for prefix, namespace in {**self._prefixes, **initNs}.items()}
        answer = self.ox.query(
            query,
            prefixes=prefixes,
        )
        return rdflib_result(answer)

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        if override or prefix not in self._prefixes:
            self._prefixes[prefix] = URIRef(namespace)

    def prefix(self, namespace: URIRef) -> str | None:
        return next((p for p, n in self._prefixes.items() if n == namespace), None)

    def namespace(self, prefix: str) -> URIRef | None:
        return self._prefixes.get(prefix)

    def namespaces(self):
        yield from self._prefixes.items()


def rdflib_result(answer):
    """A pyoxigraph answer (solutions, boolean or triples) as rdflib's Result, terms as to_rdflib_plain gives
    them. Solutions are read now: oxigraph evaluates lazily, so an evaluation error surfaces here."""
    from rdflib.query import Result
    from rdflib.term import Variable

    if isinstance(answer, bool | ox.QueryBoolean):
        result = Result("ASK")
        result.askAnswer = bool(answer)
    elif isinstance(answer, ox.QuerySolutions):
        result = Result("SELECT")
        variables = [Variable(v.value) for v in answer.variables]
        result.vars = variables
        result.bindings = [
            {var: to_rdflib_plain(value) for var, value in zip(variables, row, strict=True) if value is not None}
            for row in answer
        ]
    else:
        result = Result("CONSTRUCT")
        result.graph = Graph()
        for triple in answer:
            result.graph.add(triple_to_rdflib(triple))
    return result


def ox_quads(graph: Graph, graph_name=None):
    """The triples of an rdflib graph as pyoxigraph quads (in `graph_name`, else the default graph). Blank
    nodes keep their identifiers, which a round trip through a parser would rename."""
    name = graph_name if graph_name is not None else ox.DefaultGraph()
    if isinstance(graph.store, OxigraphView):  # already oxigraph terms
        return (
            ox.Quad(q.subject, q.predicate, q.object, name)
            for q in graph.store.ox.quads_for_pattern(None, None, None, ox.DefaultGraph())
        )
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
