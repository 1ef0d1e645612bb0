"""One prefix map: every @prefix in the Turtle sources and every PREFIX in the queries agrees with
ontology/prefixes.yaml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PREFIX_MAP = yaml.safe_load((ROOT / "ontology" / "prefixes.yaml").read_text(encoding="utf-8"))
DECLARATION = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.MULTILINE | re.IGNORECASE)
# the project's own sources must use only the map's prefixes; patient data may add its own namespaces
OWN = sorted([*ROOT.glob("ontology/**/*.ttl"), *ROOT.glob("queries/**/*.rq")])
DATA = sorted([*ROOT.glob("tests/data/**/*.ttl"), *ROOT.glob("examples/**/*.ttl")])
FILES = OWN + DATA


def test_prefix_map_is_one_to_one():
    assert len(set(PREFIX_MAP.values())) == len(PREFIX_MAP)
    assert PREFIX_MAP["mesokg"] == "https://w3id.org/mesokg/"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_declarations_agree_with_the_prefix_map(path: Path):
    for prefix, iri in DECLARATION.findall(path.read_text(encoding="utf-8")):
        if path in DATA and prefix not in PREFIX_MAP:
            assert iri not in PREFIX_MAP.values(), f"{path.name}: {prefix}: renames a namespace of prefixes.yaml"
            continue
        assert prefix in PREFIX_MAP, f"{path.name}: prefix {prefix!r} is not in prefixes.yaml"
        expected = PREFIX_MAP[prefix]
        assert expected == iri, f"{path.name}: {prefix}: is <{iri}>, prefixes.yaml says <{expected}>"
