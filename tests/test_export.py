"""`mesokg export-sssom`: one merged mapping set that sssom-py validates."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sssom.cli import DEFAULT_VALIDATION_TYPES
from sssom.io import validate_file

from mesokg.cli import cli
from mesokg.mappings import read_sssom
from mesokg.resources import ontology_dir


def test_export_writes_every_mapping_once_as_valid_sssom(tmp_path: Path):
    out = tmp_path / "mesokg.sssom.tsv"
    result = CliRunner().invoke(cli, ["export-sssom", "-o", str(out)])
    assert result.exit_code == 0, result.output
    merged = read_sssom(out)
    assert merged.metadata["mapping_set_id"] == "https://w3id.org/mesokg/mappings/mesokg.sssom.tsv"
    expected = {
        (row["subject_id"], row["predicate_id"], row["object_id"])
        for path in sorted((ontology_dir() / "mappings").glob("*.sssom.tsv"))
        for row in read_sssom(path).rows
    }
    got = [(row["subject_id"], row["predicate_id"], row["object_id"]) for row in merged.rows]
    assert len(got) == len(set(got)) and set(got) == expected
    validate_file(str(out), list(DEFAULT_VALIDATION_TYPES), fail_on_error=True)  # `sssom validate`, in process


def test_export_to_an_unwritable_place_is_one_line_and_exit_2(tmp_path: Path):
    result = CliRunner().invoke(cli, ["export-sssom", "-o", str(tmp_path / "missing" / "x.tsv")])
    assert result.exit_code == 2
    assert "cannot write output" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "missing").exists()
