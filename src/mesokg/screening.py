"""Screening patients against the knowledge base: for each patient and planned treatment (or one treatment
for everyone), contraindicated / caution / none, with every reason.

The clinical rule is the one the SHACL shapes use (mesokg.rule); mesokg.engine.Engine runs it once for all
sessions over a backend: an embedded store (the default), a remote endpoint, or an rdflib graph (the
reference the tests compare with).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from mesokg import graphs
from mesokg.backends import GraphBackend
from mesokg.coding import resolve_record_codes
from mesokg.engine import Engine, local_engine
from mesokg.errors import MesokgError
from mesokg.graph import knowledge_graph, source_fingerprint
from mesokg.inputs import read_inputs
from mesokg.remote import RemoteStore
from mesokg.resolve import resolve
from mesokg.results import ScreenOutcome
from mesokg.store import DATA_PREFIX

ENGINES = ("sparql", "rdflib")


def screen(
    paths: list[Path] | tuple[Path, ...] = (),
    kb: Graph | None = None,
    treatment: str | None = None,
    engine: str = "sparql",
    store: Path | None = None,
    fingerprint: str | None = None,
    progress=None,
    endpoint: str | None = None,
    data_graph: str = graphs.DATA,
) -> ScreenOutcome:
    """Screen every patient in the inputs: their planned sessions' treatments, or `treatment` for all.

    `engine` "sparql" runs the clinical rule once for all sessions in an embedded store (fast; `store` keeps it
    on disk, and then every patient in it is screened); "rdflib" runs it over an rdflib graph (the reference).
    `endpoint`: screen what a SPARQL endpoint holds (loaded with `mesokg load`) instead of files.
    """
    if engine not in ENGINES:
        raise MesokgError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if engine == "sparql" and endpoint is None:  # the knowledge graph is built while big files are parsed
        with local_engine(kb, store, fingerprint) as local:
            given = resolve(local.kb(), treatment, "treatment", "--treatment") if treatment is not None else None
            loaded = local.load(paths, progress)
            outcome = ScreenOutcome(errors=loaded.errors)
            if loaded.files or store is not None:
                outcome.patients = local.screen(given)
            return outcome
    kb = kb if kb is not None else knowledge_graph()
    given = resolve(kb, treatment, "treatment", "--treatment") if treatment is not None else None
    if endpoint is not None:
        if paths or store is not None:
            raise MesokgError("with --endpoint, screen what the endpoint holds: load files first with 'mesokg load'")
        return ScreenOutcome(patients=_screen_endpoint(endpoint, data_graph, kb, fingerprint, given))
    if store is not None:
        raise MesokgError("--store works with the sparql engine only")
    graph = Graph()
    graph += kb
    inputs = read_inputs(paths, graph)
    outcome = ScreenOutcome(errors=inputs.errors)
    if inputs.files:
        resolve_record_codes(graph)
        outcome.patients = Engine(lambda: graph, "rdflib", store=GraphBackend(graph)).screen(given)
    return outcome


def _screen_endpoint(url: str, data_graph: str, kb: Graph, fingerprint: str | None, given):
    """The endpoint's patients: screened where they are, or, for one treatment for everyone (which adds
    sessions), copied with their resolved codes into an embedded store beside the local knowledge graph."""
    remote = RemoteStore(url, data_graph)
    fingerprint = fingerprint or source_fingerprint()
    if given is None:
        return Engine(lambda: kb, fingerprint, store=remote).screen()
    with Engine(lambda: kb, fingerprint) as local:
        data = remote.data_ntriples().encode("utf-8")
        local.kb_reloaded  # noqa: B018 - puts the knowledge graph in the store
        graph = ox.NamedNode(DATA_PREFIX + hashlib.sha256(data).hexdigest())
        local.store.ox.load(data, ox.RdfFormat.N_TRIPLES, to_graph=graph)
        return local.screen(given)
