"""The backend protocol: what screening and the compiled SHACL shapes need from wherever the data is.

Four backends implement it: the embedded pyoxigraph store (mesokg.store.Store), a remote SPARQL endpoint
(mesokg.remote.RemoteStore), an rdflib graph (GraphBackend, below: the reference the others are compared
with) and an rdflib graph copied into memory for oxigraph's engine (GraphStore, below: how the knowledge
graph's own queries and checks run). mesokg.engine.Engine runs validation and screening once, over any
of them (docs/decisions/0010).

Terms cross the protocol as pyoxigraph terms (the embedded store's own, so its rows need no conversion);
SELECT solutions are iterable rows indexed by variable name, with `variables`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph

from mesokg.errors import MesokgError
from mesokg.graph import FrozenGraph
from mesokg.rdfio import ox_quads, to_ox, to_rdflib
from mesokg.store import Store


class Backend(Protocol):
    """Where the knowledge graph and the patient data are queried."""

    holds_kb: bool  # True: the backend already holds the knowledge graph (it is not loaded into it)
    writable: bool  # whether hypothetical sessions (screening one treatment for everyone) can be added

    def select(self, query: str, substitutions: dict | None = None) -> Iterable:
        """SELECT solutions; `substitutions` (variable -> term) are bound, never pasted into the text."""

    def add_scratch(self, quads: list[ox.Quad]) -> None:
        """Add triples that exist only for one run (the hypothetical sessions of `--treatment`)."""

    def clear_scratch(self) -> None:
        """Remove what add_scratch added."""


@dataclass
class Solutions:
    """SELECT results as pyoxigraph terms, shaped like pyoxigraph's QuerySolutions."""

    variables: list[ox.Variable]
    rows: list[dict]

    def __iter__(self):
        return iter(self.rows)


class Row(dict):
    """A solution: `row["name"]` (or `row[Variable("name")]`) is the term, or None when unbound."""

    def __getitem__(self, key):
        return self.get(key.value if isinstance(key, ox.Variable) else key)


class GraphBackend:
    """An rdflib graph holding the knowledge graph and the data, queried by rdflib's SPARQL engine."""

    holds_kb = True
    writable = True

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._scratch: list[tuple] = []

    def select(self, query: str, substitutions: dict | None = None) -> Solutions:
        bindings = {variable_name(k): to_rdflib(v) for k, v in (substitutions or {}).items()}
        try:
            result = self.graph.query(query, initBindings=bindings)
        except Exception as error:  # rdflib raises assorted errors for bad queries
            raise MesokgError(f"SPARQL error: {str(error).splitlines()[0] if str(error) else error!r}") from None
        names = [str(v) for v in result.vars or []]
        rows = [Row({name: to_ox(row[name]) if row[name] is not None else None for name in names}) for row in result]
        return Solutions([ox.Variable(name) for name in names], rows)

    def add_scratch(self, quads: list[ox.Quad]) -> None:
        for quad in quads:
            triple = (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
            if triple not in self.graph:
                self.graph.add(triple)
                self._scratch.append(triple)

    def clear_scratch(self) -> None:
        for triple in self._scratch:
            self.graph.remove(triple)
        self._scratch.clear()


class GraphStore(Store):
    """An rdflib graph copied into an in-memory store (triple by triple, so that blank nodes keep their
    identifiers, which a parser would rename) and queried by oxigraph's engine: the same answers as the
    graph, one to two orders of magnitude sooner. Unlike a Store it holds no metadata beside the graph. The
    copy does not follow later changes of the graph; `graph_store` shares one per read-only graph."""

    holds_kb = True

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.ox.extend(ox_quads(graph))


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def graph_store(graph: Graph) -> GraphStore:
    """The graph as a GraphStore: one shared copy per read-only graph (the memoised knowledge graph, see
    mesokg.graph.knowledge_graph), which nobody may write into; a fresh copy of any other graph."""
    if not (isinstance(graph, FrozenGraph) and graph.frozen):
        return GraphStore(graph)
    shared = _SHARED.get(graph)
    if shared is None:
        shared = _SHARED[graph] = GraphStore(graph)
    return shared


def variable_name(key) -> str:
    return key.value if isinstance(key, ox.Variable) else str(key)
