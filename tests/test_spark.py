"""mesokg.spark in Spark local mode: bulk-export lines screened and validated with mapPartitions give the
records `mesokg screen -f jsonl` and `mesokg validate -f jsonl` give for the same export."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mesokg.cli import cli

pyspark = pytest.importorskip("pyspark", reason="the spark extra (pip install 'mesokg[spark]')")

from mesokg.spark import screen_partitions, validate_partitions  # noqa: E402

EXPORT = Path(__file__).parent / "data" / "bulk" / "export"
SERVER = "https://fhir.example.org/r4/"


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (two cores) for the whole test session."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    session = (
        pyspark.sql.SparkSession.builder.master("local[2]")
        .appName("mesokg-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def export_lines() -> list[tuple[str, int, str]]:
    return [
        (str(path), number, text)
        for path in sorted(EXPORT.glob("*.ndjson"))
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    ]


def patients(lines: list[str]) -> dict:
    """Patient records with their reasons written out (reason ids resolved), keyed by patient."""
    found = [json.loads(line) for line in lines]
    reasons = {r["id"]: r for r in found if r["type"] == "reason"}

    def expand(items):
        return [{**item, "reasons": [reasons[i] for i in item["reasons"]]} for item in items]

    return {
        r["patient"]: expand(r["findings"]) if "findings" in r else (r["conforms"], expand(r["results"]))
        for r in found
        if r["type"] == "patient"
    }


def cli_lines(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    return [line for line in result.stdout.splitlines() if '"type":"summary"' not in line]


@pytest.mark.slow  # a Spark session starts in about 10 s; with both tests, about 20 s
def test_spark_screens_an_export_as_the_cli_does(spark, fixture_world: Path):
    lines = spark.sparkContext.parallelize(export_lines(), 3)
    got = screen_partitions(lines, source=fixture_world, base=SERVER, partitions=2).collect()
    expected = cli_lines("screen", str(EXPORT), "--source", str(fixture_world), "-f", "jsonl")
    assert patients(got) == patients(expected)
    assert set(patients(got)) == {SERVER + f"Patient/{name}" for name in ("camille", "ines", "tomas")}


@pytest.mark.slow
def test_spark_validates_a_dataframe_of_lines_with_bad_ones_reported(spark, fixture_world: Path, tmp_path: Path):
    (tmp_path / "Patient.ndjson").write_text((EXPORT / "Patient.ndjson").read_text() + "{not json\n")
    for path in EXPORT.glob("*.ndjson"):
        if path.name != "Patient.ndjson":
            (tmp_path / path.name).write_text(path.read_text())
    frame = spark.read.text(str(tmp_path / "*.ndjson"))  # a DataFrame with one `value` column
    got = validate_partitions(frame, source=fixture_world, base=SERVER).collect()
    errors = [json.loads(line) for line in got if '"type":"error"' in line]
    assert [(e["file"], e["message"].split(": ")[1]) for e in errors] == [("<input>", "malformed JSON")]
    expected = cli_lines("validate", str(EXPORT), "--source", str(fixture_world), "-f", "jsonl")
    assert patients(got) == patients(expected)
