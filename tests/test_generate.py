"""The benchmark population generator (benchmarks/generate.py): deterministic, well-formed, and honest about
which of its patients are invalid."""

from __future__ import annotations

import importlib.util
import sys
from itertools import islice
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from mesokg.validation import validate

GENERATOR = Path(__file__).resolve().parents[1] / "benchmarks" / "generate.py"


def _load_generator():
    spec = importlib.util.spec_from_file_location("mesokg_bench_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
SIZE = 200


@pytest.fixture(scope="module")
def table(built_graph):
    return generate.clinical_table(built_graph)


def text(n: int, seed: int, invalid_share: float, table, fmt: str = "nt") -> str:
    return "".join(generate.Population(n, seed, invalid_share, table).lines(fmt))


def test_the_same_seed_gives_the_same_bytes(table):
    assert text(SIZE, 7, 0.05, table) == text(SIZE, 7, 0.05, table)


def test_different_seeds_give_different_populations(table):
    assert text(SIZE, 1, 0.05, table) != text(SIZE, 2, 0.05, table)


def test_generate_streams_n_triples_lines():
    lines = list(islice(generate.generate(3, seed=0, invalid_share=0), 5))
    assert all(line.endswith(" .\n") and line.startswith(("<", "_:")) for line in lines)
    assert lines[0].startswith("<https://example.org/bench/p000001> ")


def test_turtle_and_n_triples_hold_the_same_graph(table):
    as_nt = Graph().parse(data=text(50, 3, 0.2, table), format="nt")
    as_ttl = Graph().parse(data=text(50, 3, 0.2, table, "ttl"), format="turtle")
    assert isomorphic(as_nt, as_ttl)


def test_invalid_records_are_exactly_the_share_and_every_kind_turns_up(table):
    records = list(generate.records(SIZE, 0, 0.25, table))
    assert sum(r.invalid is not None for r in records) == SIZE // 4
    assert {r.invalid for r in records if r.invalid} == set(generate.INVALID_KINDS)


def test_breaking_some_records_leaves_the_others_alone(table):
    clean = generate.records(SIZE, 0, 0, table)
    mixed = generate.records(SIZE, 0, 0.25, table)
    kept = [(a, b) for a, b in zip(clean, mixed, strict=True) if b.invalid is None]
    assert len(kept) == SIZE - SIZE // 4
    assert all(a == b for a, b in kept)


def test_about_fifteen_to_twenty_triples_per_patient(table):
    population = generate.Population(1000, 0, 0.05, table)
    for _ in population.lines():
        pass
    assert 15 <= population.summary.triples / 1000 <= 20


def test_exactly_the_invalid_patients_are_non_conforming(tmp_path: Path, built_graph, table):
    """The valid records conform (warnings allowed) and each invalid one has a violation.

    One validation of a population with a quarter broken covers both, because the unbroken records are the
    same as those of the population without invalid records (the test above)."""
    data = tmp_path / "patients.nt"
    population = generate.Population(SIZE, 0, 0.25, table)
    data.write_text("".join(population.lines()), encoding="utf-8")
    outcome = validate([data], built_graph)
    violating = {r.patient for r in outcome.results if r.severity == "Violation"}
    expected = {r.iri for r in generate.records(SIZE, 0, 0.25, table) if r.invalid}
    assert violating == expected
    assert len(violating) == population.summary.invalid == SIZE // 4
