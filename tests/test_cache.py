"""The on-disk cache (mesokg.cache): a new process reads the built knowledge graph instead of building it, gets
the same graph, and a damaged, missing or unwritable cache never changes an answer. On the fixture world."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_world
from rdflib.compare import isomorphic

from mesokg import cache, graph
from mesokg.graph import apply_rules, knowledge_graph, load_sources, source_fingerprint


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty cache directory of the test's own, and no knowledge graph memoised in this process."""
    root = tmp_path / "cache"
    monkeypatch.setenv("MESOKG_CACHE_DIR", str(root))
    monkeypatch.delenv("MESOKG_NO_CACHE", raising=False)
    monkeypatch.setattr(graph, "_BUILT", type(graph._BUILT)())
    return root


def entries(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("kb-*")) if root.is_dir() else []


def test_a_build_is_cached_and_read_back_as_the_same_graph(own_cache: Path, tmp_path: Path):
    world = make_world(tmp_path / "world")
    built = knowledge_graph(world)
    (entry,) = entries(own_cache)
    assert entry.name.startswith(f"kb-{source_fingerprint(world)}-")
    graph._BUILT.clear()  # as a new process would
    calls = []
    original = graph.load_sources
    try:
        graph.load_sources = lambda *a, **k: calls.append(a) or original(*a, **k)
        again = knowledge_graph(world)
    finally:
        graph.load_sources = original
    assert calls == []  # read from the cache, not built
    assert again is not built and len(again) == len(built)
    assert isomorphic(again, apply_rules(load_sources(world)))


def test_changed_sources_are_built_again_under_their_own_key(own_cache: Path, tmp_path: Path):
    world = make_world(tmp_path / "world")
    first = knowledge_graph(world)
    (world / "kb" / "extra.ttl").write_text(
        "@prefix mesokg: <https://w3id.org/mesokg/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'mesokg:fx-extra rdfs:label "extra"@en .\n',
        encoding="utf-8",
    )
    second = knowledge_graph(world)
    assert len(entries(own_cache)) == 2
    assert len(second) == len(first) + 1


def test_a_damaged_entry_is_not_used_but_made_again(own_cache: Path, tmp_path: Path):
    world = make_world(tmp_path / "world")
    expected = len(knowledge_graph(world))
    (entry,) = entries(own_cache)
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2])  # a write cut short, or a damaged disk
    graph._BUILT.clear()
    assert len(knowledge_graph(world)) == expected
    assert cache.read("kb", entry.name.removeprefix("kb-")) is not None  # made again, whole


def test_a_changed_byte_fails_the_checksum(own_cache: Path):
    assert cache.write("kb", "k", b"<a> <b> <c> .\n")
    path = cache.entry_path("kb", "k")
    damaged = bytearray(path.read_bytes())
    damaged[-3] ^= 1
    path.write_bytes(bytes(damaged))
    assert cache.read("kb", "k") is None
    assert not path.exists()


def test_an_unwritable_cache_or_none_at_all_changes_nothing(own_cache: Path, tmp_path: Path, monkeypatch):
    world = make_world(tmp_path / "world")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("MESOKG_CACHE_DIR", str(blocker / "cache"))
    assert cache.write("kb", "k", b"data") is False
    size = len(knowledge_graph(world))
    graph._BUILT.clear()
    monkeypatch.setenv("MESOKG_NO_CACHE", "1")
    assert cache.cache_dir() is None
    assert len(knowledge_graph(world)) == size
    assert not entries(own_cache)


def test_the_cached_graph_is_read_only(own_cache: Path, tmp_path: Path):
    world = make_world(tmp_path / "world")
    knowledge_graph(world)
    graph._BUILT.clear()
    cached = knowledge_graph(world)
    with pytest.raises(TypeError):
        cached.add(next(iter(cached)))


def test_a_new_process_answers_from_the_cache(own_cache: Path, tmp_path: Path):
    """The CLI in two fresh processes: the first writes the entry, the second reads it; same answer."""
    world = make_world(tmp_path / "world")
    env = {**os.environ, "MESOKG_CACHE_DIR": str(own_cache)}
    command = [sys.executable, "-m", "mesokg", "stats", "--source", str(world), "-f", "json"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    (entry,) = entries(own_cache)
    written = entry.stat().st_mtime_ns
    second = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert second.stdout == first.stdout
    assert entry.stat().st_mtime_ns == written  # read, not written again


def test_old_entries_of_a_name_are_pruned(own_cache: Path):
    for index in range(cache.KEPT + 3):
        assert cache.write("kb", f"key{index}", b"x")
        os.utime(cache.entry_path("kb", f"key{index}"), (index, index))  # distinct ages, oldest first
    assert cache.write("other", "k", b"y")
    kept = sorted(p.name for p in own_cache.glob("kb-*"))
    assert len(kept) == cache.KEPT
    assert "kb-key0" not in kept and f"kb-key{cache.KEPT + 2}" in kept
    assert (own_cache / "other-k").is_file()
