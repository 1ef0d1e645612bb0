"""Shared fixtures: the built bundled graph (once per session) and the small fixture world."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from rdflib import Graph

from mesokg.graph import knowledge_graph
from mesokg.resources import ontology_dir

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config) -> None:
    """The on-disk cache (mesokg.cache) of a test run is its own, empty at the start (the controller makes it;
    xdist workers and the commands the tests start inherit it), and removed at the end: the suite never reads
    or writes the user's cache, and every run exercises both the build and the cached path."""
    if not hasattr(config, "workerinput") and "MESOKG_CACHE_DIR" not in os.environ:
        config._mesokg_cache = tempfile.mkdtemp(prefix="mesokg-test-cache-")
        os.environ["MESOKG_CACHE_DIR"] = config._mesokg_cache


def pytest_unconfigure(config) -> None:
    made = getattr(config, "_mesokg_cache", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        os.environ.pop("MESOKG_CACHE_DIR", None)


@pytest.fixture(scope="session")
def built_graph() -> Graph:
    """The bundled sources, built with materialised inheritance: the shared, read-only knowledge graph."""
    return knowledge_graph()


def make_world(root: Path, *extra: Path) -> Path:
    """A source directory: the real TBox and the fixture knowledge base (plus `extra` modules)."""
    (root / "kb").mkdir(parents=True)
    shutil.copy(ontology_dir() / "mesokg.ttl", root / "mesokg.ttl")
    shutil.copy(FIXTURES / "world" / "fixture.ttl", root / "kb" / "fixture.ttl")
    for path in extra:
        shutil.copy(path, root / "kb" / path.name)
    return root


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A fixture world of the test's own, for tests that add or remove modules."""
    return make_world(tmp_path / "world")


@pytest.fixture(scope="session")
def fixture_world(tmp_path_factory) -> Path:
    """One fixture world for the whole session, for tests that only read it (never write into it)."""
    return make_world(tmp_path_factory.mktemp("shared") / "world")


@pytest.fixture(scope="session")
def fixture_graph(fixture_world: Path) -> Graph:
    """The fixture world, built once with materialised inheritance: shared and read-only."""
    return knowledge_graph(fixture_world)


@pytest.fixture
def inconsistent_world(tmp_path: Path) -> Path:
    """The fixture world plus a module that puts one individual in two disjoint classes."""
    return make_world(tmp_path / "inconsistent", FIXTURES / "inconsistent.ttl")
