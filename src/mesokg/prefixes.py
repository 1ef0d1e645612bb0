"""The one prefix map (ontology/prefixes.yaml), read once."""

from __future__ import annotations

import functools

import yaml
from rdflib import Graph

from mesokg.resources import ontology_dir


@functools.cache
def prefix_map() -> dict[str, str]:
    with open(ontology_dir() / "prefixes.yaml", encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle))


def bind_prefixes(graph: Graph) -> Graph:
    for prefix, iri in prefix_map().items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph


def expand(curie: str) -> str:
    """`mesokg:pregnancy` -> its IRI; a string whose prefix is not in the map is returned unchanged."""
    prefix, sep, local = curie.partition(":")
    if sep and prefix in prefix_map():
        return prefix_map()[prefix] + local
    return curie


@functools.lru_cache(maxsize=1 << 16)
def compact(iri: str) -> str:
    """An IRI -> its CURIE under the longest matching namespace; unchanged where none matches."""
    best = max(
        ((p, ns) for p, ns in prefix_map().items() if iri.startswith(ns)), key=lambda item: len(item[1]), default=None
    )
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else iri
