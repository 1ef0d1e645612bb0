"""The Python API: the README's examples run, and each function answers as its command does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import mesokg
from mesokg.cli import cli

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def python_examples() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_the_readme_has_three_python_examples():
    assert len(python_examples()) >= 3


@pytest.mark.parametrize("index", range(3))
def test_each_readme_python_example_runs(index: int, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(python_examples()[index], f"README.md python example {index + 1}", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.strip()


def cli_json(*arguments: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, [*arguments, "-f", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_functions_give_what_their_commands_print(world: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    source = str(world)
    code, printed = cli_json("lookup", "fixture vitamin", "--source", source)
    found = mesokg.lookup("fixture vitamin", source=world)
    assert (found.exit_code, found.as_dict()) == (code, printed) and printed["concepts"]
    code, printed = cli_json("stats", "--source", source)
    assert mesokg.stats(source=world).as_dict() == printed and code == 0
    patient = ROOT / "examples" / "patients" / "02-pregnant.ttl"
    code, printed = cli_json("screen", str(patient), "--source", source, "--treatment", "fx-vitamin-treatment")
    screened = mesokg.screen([patient], source=world, treatment="fx-vitamin-treatment")
    assert (screened.exit_code, screened.as_dict()) == (code, printed)


def test_a_bad_value_is_a_one_line_error_with_the_commands_exit_code(world: Path):
    with pytest.raises(mesokg.MesokgError) as error:
        mesokg.query("no-such-query", source=world)
    assert error.value.exit_code == 2 and "\n" not in str(error.value)


def test_a_concept_is_named_by_iri_curie_local_name_label_or_synonym(world: Path):
    from mesokg.graph import knowledge_graph
    from mesokg.resolve import ResolutionError, lookup, resolve

    graph = knowledge_graph(world)
    wanted = "https://w3id.org/mesokg/fx-vitamin-treatment"
    for value in (
        wanted,
        f"<{wanted}>",
        "mesokg:fx-vitamin-treatment",
        "fx-vitamin-treatment",
        "Fixture Vitamin Treatment",
    ):
        assert str(resolve(graph, value, "treatment")) == wanted, value
    assert [hit.concept for hit in lookup(graph, "fx-vitamin-treatment")] == [wanted]
    assert str(resolve(graph, "fx-vitamin", "substance")) == "https://w3id.org/mesokg/fx-vitamin"
    with pytest.raises(ResolutionError, match="names no substance; the 3 substances include: .*mesokg:fx-vitamin"):
        resolve(graph, "fx-vitamin-treatment", "substance")  # a local name, but of a treatment
    with pytest.raises(ResolutionError, match="the 2 treatments include: mesokg:fx-lipo-treatment"):
        resolve(graph, "zzzz", "treatment")
