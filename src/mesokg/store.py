"""An embedded triple store (pyoxigraph) holding the knowledge graph and patient data, in memory or on disk.

The knowledge base sits in its own named graph, each input file in a graph of its own, named after the file's
content (`urn:mesokg:data:sha256:...`): loading the same file again replaces it, a new day's file adds to it,
and neither reloads the knowledge base. Queries see the union of all graphs. Parsing is oxigraph's (fast, and
no rdflib graph is ever built for patient data), so a population of a million patients can be loaded into an
on-disk store without holding it in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from mesokg import graphs
from mesokg.errors import InputError, QuerySyntaxError, located
from mesokg.fhir import bundle_to_graph, looks_like_fhir
from mesokg.graph import ntriples
from mesokg.namespace import MESOKG
from mesokg.rdfio import FORMAT_NAMES, detect_format, expand_paths, to_ox

KB_GRAPH = ox.NamedNode(graphs.KB)
META_GRAPH = ox.NamedNode(graphs.META)
SCREEN_GRAPH = ox.NamedNode(graphs.SCREEN)
DATA_PREFIX = graphs.DATA_PREFIX
BUILT_FROM = ox.NamedNode(MESOKG.builtFrom)
LOADED_FROM = ox.NamedNode(MESOKG.loadedFrom)
OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "n3": ox.RdfFormat.N3,
    "json-ld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
}
BULK_THRESHOLD = 32 * 1024 * 1024  # bytes: larger files are streamed (bulk_load) instead of parsed whole


@dataclass
class Loaded:
    """What a load did: the graphs of the files read (new or replaced), and one error per unreadable file."""

    graphs: list[ox.NamedNode] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


class Store:
    """The knowledge graph and patient data in pyoxigraph; `path` None keeps it in memory. A backend
    (mesokg.backends.Backend) that loads the knowledge graph itself (ensure_kb)."""

    holds_kb = False
    writable = True

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.digests: dict[Path, str] = {}  # see hash_files
        try:
            self.ox = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            raise InputError(located(self.path, f"cannot open the store: {error}")) from None

    # ---- the knowledge base --------------------------------------------------------------------------------
    def kb_fingerprint(self) -> str | None:
        for quad in self.ox.quads_for_pattern(KB_GRAPH, BUILT_FROM, None, META_GRAPH):
            return quad.object.value
        return None

    def ensure_kb(self, kb: Callable[[], Graph], fingerprint: str) -> bool:
        """Load the knowledge base `kb()` unless the store already holds the one with this fingerprint (see
        graph.source_fingerprint); True if it was loaded."""
        if self.kb_fingerprint() == fingerprint:
            return False
        self._drop(KB_GRAPH)
        self.ox.load(ntriples(kb()), ox.RdfFormat.N_TRIPLES, to_graph=KB_GRAPH)
        for quad in list(self.ox.quads_for_pattern(KB_GRAPH, BUILT_FROM, None, META_GRAPH)):
            self.ox.remove(quad)
        self.ox.add(ox.Quad(KB_GRAPH, BUILT_FROM, ox.Literal(fingerprint), META_GRAPH))
        return True

    def _has_graph(self, graph: ox.NamedNode) -> bool:
        return self.ox.contains_named_graph(graph)

    # ---- patient data ----------------------------------------------------------------------------------------
    def load_files(self, paths: Iterable[Path], progress: bool = False) -> Loaded:
        """Load each file into its own graph (replacing an earlier load of the same content). A bad file is an
        error of its own and leaves nothing behind; the other files are still loaded."""
        files, errors = expand_paths(list(paths))
        loaded = Loaded(errors=errors)
        for path in files:
            try:
                graph = self.load_file(path, progress)
            except InputError as error:
                loaded.errors.append(error)
                continue
            loaded.graphs.append(graph)
            loaded.files.append(path)
        return loaded

    def hash_files(self, paths: Iterable[Path]) -> None:
        """Compute the files' digests now, for the next load_files. A thread loading files while another runs
        Python code would wait for Python's lock at every block it hashes (seconds for a big file)."""
        for path in expand_paths(list(paths))[0]:
            try:
                self.digests[path] = _sha256(path)
            except OSError:
                continue  # reported by the load itself

    def load_file(self, path: Path, progress: bool = False) -> ox.NamedNode:
        try:
            digest = self.digests.pop(path, None) or _sha256(path)
            head = path.open("rb").read(512)
        except OSError as error:
            raise InputError(located(path, f"cannot read: {error.strerror or error}")) from None
        graph = ox.NamedNode(DATA_PREFIX + digest)
        name = "json-ld"
        if self._has_graph(graph):
            self.ox.remove_graph(graph)
        try:
            if looks_like_fhir(head):
                treatments = {URIRef(q.subject.value) for q in self._treatments()}
                data = bundle_to_graph(path, treatments or None).serialize(format="nt", encoding="utf-8")
                self.ox.load(data, ox.RdfFormat.N_TRIPLES, to_graph=graph)
            else:
                name = detect_format(path, head)
                fmt = OX_FORMATS[name]
                base = path.resolve().as_uri()  # relative IRIs resolve against the file, as in rdflib
                if path.stat().st_size > BULK_THRESHOLD and _shows_progress(progress):
                    with path.open("rb") as raw, _progress(path) as counted:
                        self.ox.bulk_load(counted(raw), format=fmt, to_graph=graph, base_iri=base)
                elif path.stat().st_size > BULK_THRESHOLD:
                    # read by the store itself, without Python's lock: other threads go on meanwhile
                    self.ox.bulk_load(path=str(path), format=fmt, to_graph=graph, base_iri=base)
                else:
                    data = path.read_bytes()
                    _check_text(path, data)
                    self.ox.load(data, format=fmt, to_graph=graph, base_iri=base)
        except SyntaxError as error:
            self._drop(graph)
            message, line, column = _syntax_position(error)
            raise InputError(
                located(path, f"malformed {FORMAT_NAMES.get(name, name)}: {message}", line, column)
            ) from None
        except (OSError, ValueError) as error:
            self._drop(graph)
            raise InputError(located(path, f"cannot load: {error}")) from None
        if not self._has_triples(graph):
            self._drop(graph)
            raise InputError(located(path, "no RDF statements in this file"))
        self.ox.add(ox.Quad(graph, LOADED_FROM, ox.Literal(str(path.resolve())), META_GRAPH))
        return graph

    def _drop(self, graph: ox.NamedNode) -> None:
        if self._has_graph(graph):
            self.ox.remove_graph(graph)

    def _has_triples(self, graph: ox.NamedNode) -> bool:
        return next(iter(self.ox.quads_for_pattern(None, None, None, graph)), None) is not None

    def _treatments(self) -> Iterator[ox.Quad]:
        return self.ox.quads_for_pattern(None, ox.NamedNode(_RDF_TYPE), ox.NamedNode(MESOKG.Treatment), KB_GRAPH)

    def data_graphs(self) -> list[ox.NamedNode]:
        return sorted(
            (g for g in self.ox.named_graphs() if isinstance(g, ox.NamedNode) and g.value.startswith(DATA_PREFIX)),
            key=lambda g: g.value,
        )

    # ---- queries ---------------------------------------------------------------------------------------------
    def query(self, query: str, substitutions: dict | None = None):
        """Any query form, pyoxigraph's answer, over the union of all graphs."""
        try:
            return self.ox.query(query, use_default_graph_as_union=True, substitutions=substitutions or None)
        except SyntaxError as error:
            raise QuerySyntaxError(f"SPARQL syntax error: {error}") from None

    def select(self, query: str, substitutions: dict | None = None) -> ox.QuerySolutions:
        return self.query(query, substitutions)

    def add_scratch(self, quads: list[ox.Quad]) -> None:
        self.ox.extend(ox.Quad(q.subject, q.predicate, q.object, SCREEN_GRAPH) for q in quads)

    def clear_scratch(self) -> None:
        self._drop(SCREEN_GRAPH)

    def add_triples(self, triples: Iterable[tuple], graph: ox.NamedNode) -> None:
        self.ox.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph) for s, p, o in triples)

    def flush(self) -> None:
        if self.path is not None:
            self.ox.flush()

    def close(self) -> None:
        """Flush an on-disk store and let go of it now (its lock with it), not when the garbage collector
        next runs: a second Store on the same path in this process may open at once. Not usable after."""
        if self.ox is not None:
            self.flush()
            self.ox = None


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class _Counted(io.RawIOBase):
    """A binary file that reports how many bytes were read from it."""

    def __init__(self, raw, advance) -> None:
        self.raw, self.advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.advance(n or 0)
        return n


def _shows_progress(show: bool) -> bool:
    """A progress bar goes to the terminal (stderr) when asked for and stderr is one."""
    return bool(show) and sys.stderr.isatty()


@contextlib.contextmanager
def _progress(path: Path):
    """A progress bar on the terminal while a big file streams into the store."""
    import click

    with click.progressbar(length=path.stat().st_size, label=f"loading {path.name}", file=sys.stderr) as bar:
        yield lambda raw: io.BufferedReader(_Counted(raw, bar.update), buffer_size=1 << 20)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _syntax_position(error: SyntaxError) -> tuple[str, int | None, int | None]:
    """oxigraph's parse error as (message, line, column)."""
    message = str(error.msg or error)
    if message.startswith("Parser error") and ": " in message:
        message = message.split(": ", 1)[1]
    return " ".join(message.split()), error.lineno or None, error.offset or None


def _check_text(path: Path, data: bytes) -> None:
    """The same first checks as the rdflib reader (mesokg.graph.parse_rdf), with the same messages."""
    if not data.strip():
        raise InputError(located(path, "empty file"))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(located(path, f"not UTF-8 (byte 0x{data[error.start]:02x})", line)) from None


def describe(store: Store) -> str:
    """A one-line summary of what the store holds."""
    kb = sum(1 for _ in store.ox.quads_for_pattern(None, None, None, KB_GRAPH))
    return json.dumps({"knowledge_base_triples": kb, "data_files": len(store.data_graphs()), "quads": len(store.ox)})
