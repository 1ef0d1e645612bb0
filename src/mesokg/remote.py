"""Any SPARQL 1.1 store over HTTP: load with the Graph Store Protocol, ask with the SPARQL Protocol.

The knowledge graph goes into the named graph `urn:mesokg:graph:kb` (replaced on each load), patient data into
a named graph of the user's choice (added to on each load, `urn:mesokg:graph:data` by default); queries name
both as their default graph (`default-graph-uri`), so they work on any store, whatever its default-graph
policy. Codes in patient records are resolved before the upload, so the store needs no mesokg logic.

Values are never pasted into query text: a bound value goes into a `VALUES` block opening the WHERE group,
its term serialised by rdflib (`n3()`, which escapes it). A store that cannot be reached or refuses a request is
a one-line error, exit code 2.
"""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pyoxigraph as ox
from rdflib import Graph
from rdflib.query import Result

from mesokg import graphs
from mesokg.backends import Row, Solutions, variable_name
from mesokg.errors import MesokgError
from mesokg.rdfio import to_rdflib

if TYPE_CHECKING:
    import httpx

KB_GRAPH = graphs.KB
DATA_GRAPH = graphs.DATA
RESULTS_JSON = "application/sparql-results+json"


class EndpointError(MesokgError):
    """The remote store is down, unreachable, or refused the request."""


class RemoteStore:
    """A SPARQL query endpoint holding mesokg's graphs: a read-only backend (mesokg.backends.Backend)."""

    holds_kb = True
    writable = False  # a query endpoint takes no triples; screening one treatment copies the data first

    def __init__(self, query_url: str, data_graph: str = DATA_GRAPH, timeout: float = 60.0) -> None:
        self.url = query_url
        self.data_graph = data_graph
        self.graphs = [KB_GRAPH, data_graph]
        self.timeout = timeout

    def add_scratch(self, quads) -> None:
        raise MesokgError(f"{self.url}: a query endpoint is read-only; copy its data first (data_ntriples)")

    def clear_scratch(self) -> None:
        return None

    def data_ntriples(self) -> str:
        """Every triple of the patient-data graph, as N-Triples (CONSTRUCT over that graph alone)."""
        form = urlencode(
            [("query", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"), ("default-graph-uri", self.data_graph)]
        )
        headers = {"Accept": "application/n-triples", "Content-Type": "application/x-www-form-urlencoded"}
        response = request("POST", self.url, content=form.encode(), headers=headers, timeout=self.timeout)
        if response.headers.get("content-type", "").split(";")[0].strip() != "application/n-triples":
            raise EndpointError(f"{self.url}: the endpoint did not answer the data graph as N-Triples")
        return response.text

    def select(self, query: str, substitutions: dict | None = None) -> Solutions:
        data = _json(self.post(with_values(query, substitutions)))
        names = data.get("head", {}).get("vars", [])
        rows = [
            {name: _term(binding[name]) if name in binding else None for name in names}
            for binding in data.get("results", {}).get("bindings", [])
        ]
        return Solutions([ox.Variable(name) for name in names], [Row(row) for row in rows])

    def query(self, query: str, substitutions: dict | None = None) -> Result:
        """Any query, as an rdflib Result (so mesokg.query formats it as for a local run)."""
        response = self.post(with_values(query, substitutions), accept=f"{RESULTS_JSON}, application/n-triples")
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind == "application/n-triples":
            result = Result("CONSTRUCT")
            result.graph = Graph().parse(data=response.text, format="nt")
            return result
        return Result.parse(io.BytesIO(response.content), format="json")

    def post(self, query: str, accept: str = RESULTS_JSON) -> httpx.Response:
        form = urlencode([("query", query), *(("default-graph-uri", g) for g in self.graphs)])
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        return request("POST", self.url, content=form.encode(), headers=headers, timeout=self.timeout)


def with_values(query: str, substitutions: dict | None) -> str:
    """The query with an inline VALUES block (SPARQL 1.1, section 10.2.1) opening its WHERE group, binding each
    substitution; the terms are serialised (escaped) by rdflib, never pasted as given."""
    if not substitutions:
        return query
    where = re.search(r"\bWHERE\s*\{", query, re.IGNORECASE)
    if where is None:
        raise MesokgError("a query with parameters needs a WHERE { ... } group to bind them in")
    names = " ".join(f"?{variable_name(name)}" for name in substitutions)  # a name, or a pyoxigraph Variable
    terms = " ".join(_n3(term) for term in substitutions.values())
    return f"{query[: where.end()]} VALUES ({names}) {{ ({terms}) }} {query[where.end() :]}"


def upload(store_url: str, graph: str, ntriples: bytes, replace: bool, timeout: float = 600.0) -> None:
    """Graph Store Protocol: PUT (replace) or POST (add) N-Triples into a named graph."""
    request(
        "PUT" if replace else "POST",
        store_url,
        params={"graph": graph},
        content=ntriples,
        headers={"Content-Type": "application/n-triples"},
        timeout=timeout,
    )


def request(method: str, url: str, **kwargs) -> httpx.Response:
    import httpx  # imported by the first request: a command that asks no endpoint never loads it

    try:
        response = httpx.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise EndpointError(f"{url}: no answer within {kwargs.get('timeout')} s") from None
    except httpx.HTTPError as error:
        raise EndpointError(f"{url}: cannot reach the endpoint ({error.__class__.__name__}: {error})") from None
    if response.status_code >= 400:
        reason = " ".join(response.text.split())[:200]
        raise EndpointError(f"{url}: the endpoint answered {response.status_code} {response.reason_phrase}: {reason}")
    return response


def _json(response: httpx.Response) -> dict:
    try:
        return json.loads(response.content)
    except ValueError:
        raise EndpointError(f"{response.url}: the answer is not SPARQL JSON results") from None


def _term(binding: dict):
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if "xml:lang" in binding:
        return ox.Literal(value, language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(value, datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(value)


def _n3(term) -> str:
    if isinstance(term, ox.NamedNode | ox.Literal | ox.BlankNode):
        term = to_rdflib(term)
    if getattr(term, "n3", None) is None or term.__class__.__name__ == "BNode":
        raise MesokgError(f"{term!r} cannot be bound in a remote query")
    return term.n3()
