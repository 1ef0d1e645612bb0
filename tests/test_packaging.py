"""A non-editable install carries the ontology and queries and works from any directory.

The wheel is built offline (no build isolation: hatchling comes with the test extra), installed with
--no-deps into a target directory, and its `mesokg` entry point is run from a directory outside the
repository with that directory first on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("packaging")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(work / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("mesokg-*.whl")
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return wheel, target


def test_wheel_carries_ontology_and_queries(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "mesokg/_data/ontology/mesokg.ttl",
        "mesokg/_data/ontology/prefixes.yaml",
        "mesokg/_data/ontology/sources/seed-000.txt",
        "mesokg/_data/queries/rules/10-direct-properties.rq",
        *(f"mesokg/_data/ontology/kb/{p.name}" for p in (ROOT / "ontology" / "kb").glob("*.ttl")),
        *(f"mesokg/_data/queries/checks/{p.name}" for p in (ROOT / "queries" / "checks").glob("*.rq")),
    }
    assert expected <= names, sorted(expected - names)


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import sys; from mesokg.cli import main; sys.argv[0] = 'mesokg'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_commands_work_outside_the_repository(installed, tmp_path: Path):
    _, target = installed
    where = run_installed(target, tmp_path, "--version")
    assert where.returncode == 0 and "0.1.0" in where.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import mesokg.resources as r; print(r.data_root())"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(target), "the installed copy did not use its own data"

    build = run_installed(target, tmp_path, "build", "-o", "out")
    assert build.returncode == 0, build.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "mesokg.jsonld",
        "mesokg.nt",
        "mesokg.owl",
        "mesokg.ttl",
    ]
    stats = run_installed(target, tmp_path, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "treatments" in stats.stdout
    reason = run_installed(target, tmp_path, "reason")
    assert reason.returncode == 0, reason.stderr
    assert "consistency: consistent" in reason.stdout
