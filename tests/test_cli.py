"""The command line: output, exit codes, and one-line errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mesokg.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_build_writes_four_files(world: Path, tmp_path: Path):
    result = run("build", "--source", str(world), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "mesokg.jsonld",
        "mesokg.nt",
        "mesokg.owl",
        "mesokg.ttl",
    ]
    assert "inferred assertions" in result.output


def test_stats_json(world: Path):
    result = run("stats", "--source", str(world), "-f", "json")
    assert result.exit_code == 0
    counts = json.loads(result.output)
    assert counts["treatments"] == 2
    assert counts["substances"] == 3
    assert counts["procedures"] == 1
    assert counts["indications (curated)"] == 1


def test_stats_text_on_bundled_data():
    result = run("stats")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].split()[0] == "treatments"


def test_check_passes_on_the_fixture_world_and_fails_on_a_bad_module(world: Path):
    assert run("check", "--source", str(world)).exit_code == 0
    (world / "kb" / "bad.ttl").write_text(
        "@prefix mesokg: <https://w3id.org/mesokg/> .\n"
        "mesokg:fx-bad a mesokg:Contraindication ;\n"
        "    mesokg:subject mesokg:fx-procedure ; mesokg:condition mesokg:fx-fat .\n"
    )
    result = run("check", "--source", str(world))
    assert result.exit_code == 1
    assert "FAIL contraindication-without-strength-violation" in result.output
    assert "mesokg:fx-bad" in result.output


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mesokg: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_malformed_module_is_one_line_with_position(world: Path, tmp_path: Path):
    (world / "kb" / "broken.ttl").write_text("@prefix mesokg: <https://w3id.org/mesokg/> .\nmesokg:a mesokg:b .\n")
    result = run("build", "--source", str(world), "-o", str(tmp_path / "out"))
    assert_one_line_error(result, "broken.ttl:2", "malformed Turtle")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_source_is_one_line(tmp_path: Path):
    for command in ("build", "stats", "reason", "check"):
        assert_one_line_error(run(command, "--source", str(tmp_path / "nowhere")), "source directory not found")


def test_unwritable_output_keeps_previous_build(world: Path, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    assert_one_line_error(run("build", "--source", str(world), "-o", str(blocker)), "not a directory")
    assert blocker.read_text() == "keep me"
    assert_one_line_error(run("build", "--source", str(world), "-o", str(blocker / "sub")), "cannot write output")
