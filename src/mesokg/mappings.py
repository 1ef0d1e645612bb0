"""Mappings to clinical terminologies: SSSOM TSV files under ontology/mappings, loaded as skos:*Match."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import yaml
from rdflib import Graph, URIRef

from mesokg.errors import InputError, located
from mesokg.prefixes import iri_of, prefix_map

MATCH_PREDICATES = {"skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch"}
REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


@dataclass(frozen=True)
class MappingSet:
    path: Path
    metadata: dict
    rows: list[dict[str, str]]


def read_sssom(path: Path) -> MappingSet:
    """Read an SSSOM TSV file: its `#`-prefixed YAML metadata and its rows."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(located(path, f"cannot read mapping file: {error}")) from None
    lines = text.splitlines()
    header = [line[1:] for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    try:
        metadata = yaml.safe_load("\n".join(header)) or {}
    except yaml.YAMLError as error:
        raise InputError(located(path, f"malformed SSSOM metadata: {error}")) from None
    reader = csv.DictReader(io.StringIO("\n".join(body)), delimiter="\t")
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(located(path, f"SSSOM table lacks column(s) {', '.join(missing)}", len(header) + 1))
    return MappingSet(path, metadata, list(reader))


def expand(curie: str, curie_map: dict[str, str], path: Path, line: int) -> URIRef:
    prefix, sep, local = curie.partition(":")
    if not sep or prefix not in curie_map:
        raise InputError(located(path, f"{curie!r} has no prefix in the file's curie_map", line))
    if prefix_map().get(prefix, curie_map[prefix]) != curie_map[prefix]:
        raise InputError(located(path, f"curie_map {prefix}: disagrees with ontology/prefixes.yaml", line))
    if prefix in prefix_map():
        return URIRef(iri_of(prefix, local))
    return URIRef(curie_map[prefix] + local)  # a prefix only the file declares


def load_mappings(graph: Graph, directory: Path) -> Graph:
    """Add every mapping of `directory/*.sssom.tsv` to `graph` as a skos:*Match triple."""
    for path in sorted(directory.glob("*.sssom.tsv")):
        mapping_set = read_sssom(path)
        curie_map = mapping_set.metadata.get("curie_map") or {}
        first_row_line = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")) + 2
        for offset, row in enumerate(mapping_set.rows):
            line = first_row_line + offset
            if row["predicate_id"] not in MATCH_PREDICATES:
                raise InputError(located(path, f"predicate {row['predicate_id']!r} is not a skos:*Match", line))
            graph.add(
                (
                    expand(row["subject_id"], curie_map, path, line),
                    expand(row["predicate_id"], curie_map, path, line),
                    expand(row["object_id"], curie_map, path, line),
                )
            )
    return graph
