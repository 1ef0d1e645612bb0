"""The SPARQL endpoint: `mesokg serve` started on a free loopback port, queried over HTTP with httpx."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from xml.etree import ElementTree

import httpx
import pytest
from conftest import make_world
from rdflib import Graph, URIRef

from mesokg.serve import Refused, check_query, free_port

M = "https://w3id.org/mesokg/"
TREATMENTS = f"SELECT ?t WHERE {{ ?t a <{M}Treatment> }}"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """`mesokg serve` over the fixture world (two treatments)."""
    source = make_world(tmp_path_factory.mktemp("serve") / "world")
    port = free_port()
    command = ["serve", "--port", str(port), "--timeout", "2", "--source", str(source)]
    process = subprocess.Popen(
        [sys.executable, "-c", "from mesokg.cli import main; main()", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/query"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(url, params={"query": "ASK {}"}, timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the endpoint did not start")
    yield url
    process.terminate()
    process.wait(timeout=15)


def test_select_by_get_gives_sparql_json(endpoint: str):
    response = httpx.get(endpoint, params={"query": TREATMENTS}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    treatments = {b["t"]["value"] for b in response.json()["results"]["bindings"]}
    assert treatments == {M + "fx-lipo-treatment", M + "fx-vitamin-treatment"}


def test_post_and_content_negotiation(endpoint: str):
    body = TREATMENTS.encode()
    headers = {"Content-Type": "application/sparql-query"}
    xml = httpx.post(endpoint, content=body, headers={**headers, "Accept": "application/sparql-results+xml"})
    assert xml.status_code == 200
    assert ElementTree.fromstring(xml.text).tag == "{http://www.w3.org/2005/sparql-results#}sparql"
    csv = httpx.post(endpoint, content=body, headers={**headers, "Accept": "text/csv"})
    assert csv.text.splitlines()[0] == "t" and len(csv.text.strip().splitlines()) == 3
    tsv = httpx.post(endpoint, content=body, headers={**headers, "Accept": "text/tab-separated-values"})
    assert tsv.text.splitlines()[0] == "?t"
    form = httpx.post(endpoint, data={"query": TREATMENTS}, headers={"Accept": "application/sparql-results+json"})
    assert len(form.json()["results"]["bindings"]) == 2


def test_construct_gives_turtle(endpoint: str):
    query = f"CONSTRUCT {{ ?t <{M}hasIngredient> ?s }} WHERE {{ ?t <{M}hasIngredient> ?s }}"
    response = httpx.get(endpoint, params={"query": query}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    assert (URIRef(M + "fx-vitamin-treatment"), URIRef(M + "hasIngredient"), URIRef(M + "fx-vitamin")) in graph


def test_updates_are_refused(endpoint: str):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    assert httpx.post(endpoint, data={"update": update}).status_code == 403
    assert (
        httpx.post(endpoint, content=update, headers={"Content-Type": "application/sparql-update"}).status_code == 403
    )
    assert httpx.post(endpoint, content=update, headers={"Content-Type": "application/sparql-query"}).status_code == 403
    assert httpx.put(endpoint, content=b"x").status_code == 405
    ask = httpx.get(
        endpoint, params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}, headers={"Accept": "application/json"}
    )
    assert ask.json()["boolean"] is False


def test_service_makes_no_outbound_connection(endpoint: str):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(1.5)
        port = listener.getsockname()[1]
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        response = httpx.get(endpoint, params={"query": query})
        assert response.status_code == 403
        assert "SERVICE" in response.text
        with pytest.raises(TimeoutError):
            listener.accept()


def test_remote_dataset_is_refused(endpoint: str):
    response = httpx.get(endpoint, params={"query": "SELECT * FROM <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }"})
    assert response.status_code == 403
    response = httpx.get(endpoint, params={"query": TREATMENTS, "default-graph-uri": "http://127.0.0.1:9/g"})
    assert response.status_code == 403


def test_long_query_is_stopped(endpoint: str):
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    started = time.monotonic()
    response = httpx.get(endpoint, params={"query": heavy}, timeout=30)
    assert response.status_code == 503
    assert time.monotonic() - started < 10


def test_syntax_error_is_a_400(endpoint: str):
    response = httpx.get(endpoint, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert "line" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE SILENT <http://example.org/s> { ?s ?p ?o } }",
        "SELECT * WHERE { ?x ?y ?z OPTIONAL { SERVICE ?endpoint { ?s ?p ?o } } }",
        "SELECT * FROM NAMED <http://example.org/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/data.ttl>",
    ],
)
def test_guard_refuses(query: str):
    with pytest.raises(Refused) as refused:
        check_query(query)
    assert refused.value.status == 403


def test_guard_passes_plain_queries():
    check_query("PREFIX ex: <http://example.org/> SELECT ?s WHERE { ?s ex:service 'SERVICE <http://x/>' }")
    check_query("DESCRIBE <https://w3id.org/mesokg/pregnancy>")
