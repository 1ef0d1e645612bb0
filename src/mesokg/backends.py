"""The backend protocol: what screening and the compiled SHACL shapes need from wherever the data is.

Three backends implement it: the embedded pyoxigraph store (mesokg.store.Store), a remote SPARQL endpoint
(mesokg.remote.RemoteStore) and an rdflib graph (GraphBackend, below: the reference the others are compared
with). mesokg.engine.Engine runs validation and screening once, over any of them (docs/decisions/0010).

Terms cross the protocol as pyoxigraph terms (the embedded store's own, so its rows need no conversion);
SELECT solutions are iterable rows indexed by variable name, with `variables`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph

from mesokg.errors import MesokgError
from mesokg.store import to_ox, to_rdflib


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


def variable_name(key) -> str:
    return key.value if isinstance(key, ox.Variable) else str(key)
