"""Any SPARQL 1.1 store: `mesokg load --endpoint` (Graph Store Protocol) and `--endpoint` on query and screen,
against a real Oxigraph server (the `oxigraph` package from PyPI) started on a free loopback port."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from mesokg.cli import cli
from mesokg.queries import named_queries
from mesokg.serve import die_with_parent, free_port

ROOT = Path(__file__).parents[1]
DATA = [ROOT / "examples" / "patients", ROOT / "examples" / "fhir"]
pytestmark = pytest.mark.slow  # an oxigraph server in a process of its own


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    port = free_port()
    process = subprocess.Popen(
        [oxigraph, "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # no orphaned server if the test run is killed
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the oxigraph server did not start")
    yield base
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def loaded(server: str) -> str:
    result = CliRunner().invoke(cli, ["load", "--endpoint", f"{server}/store", *map(str, DATA)])
    assert result.exit_code == 0, result.output
    return server


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_screening_on_the_endpoint_gives_the_embedded_answers(loaded: str):
    remote = invoke("screen", "--endpoint", f"{loaded}/query", "-f", "json")
    local = invoke("screen", *map(str, DATA), "-f", "json")
    assert remote.exit_code == local.exit_code == 1
    assert json.loads(remote.output) == json.loads(local.output)
    assert len(json.loads(remote.output)["patients"]) == 15


@pytest.mark.parametrize("treatment", ["methylxanthine-cellulite-mesotherapy", "mesokg:hyaluronic-acid-skin-booster"])
def test_one_treatment_for_everyone_on_the_endpoint_gives_the_embedded_answers(loaded: str, treatment: str):
    """Regression: `screen --endpoint URL --treatment T` ended in an AttributeError (the remote store has no
    embedded store to add the hypothetical sessions to); the endpoint's data is now screened beside them."""
    remote = invoke("screen", "--endpoint", f"{loaded}/query", "--treatment", treatment, "-f", "json")
    local = invoke("screen", *map(str, DATA), "--treatment", treatment, "-f", "json")
    assert remote.exception is None or isinstance(remote.exception, SystemExit), repr(remote.exception)
    assert remote.exit_code == local.exit_code == 1, remote.output
    assert json.loads(remote.output) == json.loads(local.output)
    findings = [f for p in json.loads(remote.output)["patients"] for f in p["findings"]]
    assert findings and {f["treatment"].rsplit("/", 1)[-1] for f in findings} == {treatment.split(":")[-1]}


def test_the_python_api_takes_the_endpoint_as_the_cli_does(loaded: str):
    import mesokg

    remote = mesokg.screen(endpoint=f"{loaded}/query")
    assert remote.as_dict() == json.loads(invoke("screen", "--endpoint", f"{loaded}/query", "-f", "json").output)
    rows = mesokg.query("unsuitable-treatments", endpoint=f"{loaded}/query", condition="pregnancy").rows
    assert rows == mesokg.query("unsuitable-treatments", condition="pregnancy").rows


@pytest.mark.parametrize("name", sorted(n for n, q in named_queries().items() if q.path.parent.name == "cq"))
def test_every_competency_question_gives_the_same_rows_on_the_endpoint(loaded: str, name: str):
    query = named_queries()[name]
    params = [arg for key, value in query.example.items() for arg in ("-p", f"{key}={value}")]
    remote = invoke("query", name, *params, "--endpoint", f"{loaded}/query", "-f", "csv")
    local = invoke("query", name, *params, "-f", "csv")
    assert remote.exit_code == local.exit_code == 0, remote.output
    remote_lines, local_lines = remote.output.splitlines(), local.output.splitlines()
    assert remote_lines[0] == local_lines[0]
    assert Counter(remote_lines[1:]) == Counter(local_lines[1:])


def test_patient_data_on_the_endpoint_answers_queries(loaded: str):
    query = "PREFIX mesokg: <https://w3id.org/mesokg/> SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a mesokg:Patient }"
    result = httpx.post(
        f"{loaded}/query",
        data={"query": query, "default-graph-uri": "urn:mesokg:graph:data"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert result.json()["results"]["bindings"][0]["n"]["value"] == "15"


def test_bound_values_stay_values_on_the_endpoint(loaded: str):
    injection = invoke(
        "query", "unsuitable-treatments", "-p", 'condition=x" } UNION { ?s ?p ?o', "--endpoint", f"{loaded}/query"
    )
    assert injection.exit_code == 2 and "names no condition" in injection.output


def test_a_down_endpoint_is_one_line_and_exit_2():
    port = free_port()
    for args in (
        [
            "query",
            "ingredients",
            "-p",
            "treatment=acne scar mesotherapy",
            "--endpoint",
            f"http://127.0.0.1:{port}/query",
        ],
        ["screen", "--endpoint", f"http://127.0.0.1:{port}/query"],
        ["load", "--endpoint", f"http://127.0.0.1:{port}/store", str(DATA[0])],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, args
        assert "cannot reach the endpoint" in result.output and "Traceback" not in result.output


def test_a_refusing_endpoint_is_one_line_and_exit_2(server: str):
    # the query URL is not a Graph Store Protocol endpoint: the server refuses the upload
    result = invoke("load", "--endpoint", f"{server}/no-such-service", str(DATA[0]))
    assert result.exit_code == 2
    assert "the endpoint answered 4" in result.output and "Traceback" not in result.output
