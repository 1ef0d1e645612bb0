"""The one prefix map (ontology/prefixes.yaml) and the one CURIE converter built from it."""

from __future__ import annotations

import functools

import curies
import yaml
from rdflib import Graph

from mesokg.resources import ontology_dir


@functools.cache
def prefix_map() -> dict[str, str]:
    with open(ontology_dir() / "prefixes.yaml", encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle))


@functools.cache
def converter() -> curies.Converter:
    """Expands and compacts every CURIE mesokg reads or writes (the longest matching namespace wins)."""
    return curies.Converter.from_prefix_map(prefix_map())


def bind_prefixes(graph: Graph) -> Graph:
    for prefix, iri in prefix_map().items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph


def iri_of(prefix: str, local: str) -> str:
    """The IRI of `local` under a prefix of the map (KeyError for a prefix the map lacks)."""
    iri = converter().expand_pair(prefix, local)
    if iri is None:
        raise KeyError(prefix)
    return iri


def expand(curie: str) -> str:
    """`mesokg:pregnancy` -> its IRI; a string whose prefix is not in the map is returned unchanged."""
    if ":" not in curie:
        return curie
    return converter().expand(curie, passthrough=True)


@functools.lru_cache(maxsize=1 << 16)
def compact(iri: str) -> str:
    """An IRI -> its CURIE under the longest matching namespace; unchanged where none matches."""
    return converter().compress(iri, passthrough=True)
