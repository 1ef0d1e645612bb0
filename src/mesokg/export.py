"""`mesokg export-sssom`: the merged mapping set of ontology/mappings, written by sssom-py.

Each file under ontology/mappings holds one predicate and one target terminology; a consumer (a
terminology server, OxO, a clinical system) wants them as one SSSOM mapping set. Parsing, merging and
writing are sssom-py's, so the output follows the SSSOM specification that `sssom validate` checks.
"""

from __future__ import annotations

import io
from pathlib import Path

from mesokg.errors import InputError, located
from mesokg.mappings import read_sssom
from mesokg.resources import ontology_dir

MERGED_ID = "https://w3id.org/mesokg/mappings/mesokg.sssom.tsv"


def mapping_files(source_dir: Path | None = None) -> list[Path]:
    return sorted(((source_dir or ontology_dir()) / "mappings").glob("*.sssom.tsv"))


def merged_sssom(source_dir: Path | None = None) -> str:
    """The mapping sets of the source directory merged into one SSSOM/TSV text."""
    from sssom.parsers import parse_sssom_table
    from sssom.util import merge_msdf
    from sssom.writers import write_table

    frames = []
    for path in mapping_files(source_dir):
        read_sssom(path)  # our own reader first: a malformed file is a located one-line error
        try:
            frames.append(parse_sssom_table(path))
        except Exception as error:  # sssom-py raises many kinds; each is a malformed file here
            raise InputError(located(path, f"not a valid SSSOM mapping set: {error}")) from None
    if not frames:
        raise InputError(located(ontology_dir() / "mappings", "no *.sssom.tsv mapping sets"))
    merged = merge_msdf(*frames)
    merged.metadata.pop("object_source", None)  # the merged set has one target terminology per file, not one
    merged.metadata["mapping_set_id"] = MERGED_ID
    merged.metadata["mapping_set_description"] = (
        "All mappings of mesokg concepts to clinical terminologies, merged from the per-terminology mapping sets "
        "in ontology/mappings."
    )
    merged.metadata["license"] = "https://creativecommons.org/licenses/by/4.0/"
    buffer = io.StringIO()
    write_table(merged, buffer)
    return buffer.getvalue()
