"""Clinical scenarios: patient records in tests/data/scenarios/, each with the findings a clinician expects
from the curated knowledge base, stated in the file's `# expect:` lines:

    # expect: <treatment> <contraindicated|caution|none> [reason: <condition> via <subject>]

A treatment with a planned session in the record is screened at that session's date; any other is screened
as `mesokg screen --treatment` does. A reason names the contraindicated condition and the subject that
carries the contraindication (an ingredient, the procedure, or the treatment itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph

from mesokg.screening import screen

SCENARIOS = sorted((Path(__file__).parent / "data" / "scenarios").glob("*.ttl"))
M = "https://w3id.org/mesokg/"
EXPECT = re.compile(
    r"^# expect: (?P<treatment>[\w-]+) (?P<status>contraindicated|caution|none)"
    r"(?: reason: (?P<condition>[\w-]+) via (?P<subject>[\w-]+))?\s*$"
)


def expectations(path: Path) -> list[dict]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            match = EXPECT.match(line)
            assert match, f"{path.name}: malformed expectation {line!r}"
            found.append(match.groupdict())
    return found


CASES = [(path, expected) for path in SCENARIOS for expected in expectations(path)]


def test_every_scenario_states_what_it_expects():
    assert SCENARIOS, "no clinical scenarios"
    for path in SCENARIOS:
        assert expectations(path), f"{path.name} states no expectation"


def finding_for(built_graph: Graph, path: Path, treatment: str):
    planned = screen([path], built_graph)
    for patient in planned.patients:
        for finding in patient.findings:
            if finding.treatment == M + treatment:
                return finding
    (patient,) = screen([path], built_graph, f"mesokg:{treatment}").patients
    (finding,) = patient.findings
    return finding


@pytest.mark.parametrize(
    ("path", "expected"),
    CASES,
    ids=[f"{p.stem}:{e['treatment']}:{e['status']}:{e['condition'] or ''}" for p, e in CASES],
)
def test_scenario_gets_the_expected_finding(built_graph: Graph, path: Path, expected: dict):
    finding = finding_for(built_graph, path, expected["treatment"])
    described = [r.describe() for r in finding.reasons]
    assert finding.status == expected["status"], f"{path.name}: {finding.status}, reasons {described}"
    if expected["condition"]:
        chains = {
            (r.contraindicatedIn.removeprefix(M), (r.via or finding.treatment).removeprefix(M)) for r in finding.reasons
        }
        assert (expected["condition"], expected["subject"]) in chains, f"{path.name}: reasons {described}"
