"""A read-only SPARQL 1.1 Protocol endpoint: Oxigraph's server behind a guard.

The query engine, content negotiation and time limit are Oxigraph's (`oxigraph serve-read-only
--timeout-s`), over a store that mesokg fills with the built graph. Oxigraph follows SERVICE to other
hosts, so it listens on an internal loopback port only, and every request passes a guard first that
refuses updates, SERVICE, dataset clauses (FROM, FROM NAMED and their protocol parameters) and anything
that does not parse. See docs/decisions/0004-sparql-endpoint.md.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rdflib import Graph

from mesokg.errors import MesokgError
from mesokg.graph import ntriples

QUERY_PATHS = ("/query", "/sparql", "/")
FORBIDDEN_PARAMS = ("default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _walk(node) -> Iterator[object]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple) or type(node).__name__ == "ParseResults":
        for value in node:
            yield from _walk(value)


def _is_update(text: str) -> bool:
    from rdflib.plugins.sparql.parser import parseUpdate  # rdflib's parser, loaded by the server's first query

    try:
        parseUpdate(text)
    except Exception:  # any parse failure: not an update
        return False
    return True


def check_query(text: str) -> None:
    """Raise Refused unless `text` is a SPARQL query that stays inside this endpoint's data."""
    from pyparsing import ParseBaseException
    from rdflib.plugins.sparql.parser import parseQuery  # rdflib's parser, loaded by the server's first query

    try:
        tree = parseQuery(text)
    except ParseBaseException as error:
        if _is_update(text):
            raise Refused(403, "this endpoint is read-only: updates are refused") from None
        raise Refused(400, f"SPARQL syntax error at line {error.lineno}, column {error.col}: {error.msg}") from None
    for node in _walk(tree):
        name = getattr(node, "name", None)
        if name == "ServiceGraphPattern":
            raise Refused(403, "SERVICE is refused: this endpoint does not query other hosts")
        if name == "DatasetClause":
            raise Refused(403, "FROM and FROM NAMED are refused: this endpoint answers over its own data only")


@dataclass
class Backend:
    process: subprocess.Popen
    url: str
    store_dir: Path
    owned: bool = True  # a temporary store of ours, removed when the backend stops (not a user's --store)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def fill_store(graph: Graph, store_dir: Path) -> None:
    """Write the graph into an Oxigraph store at `store_dir`."""
    import pyoxigraph

    store = pyoxigraph.Store(str(store_dir))
    store.bulk_load(ntriples(graph), format=pyoxigraph.RdfFormat.N_TRIPLES)
    store.flush()
    del store


def die_with_parent() -> None:
    """In the backend's process, before exec: on Linux, ask the kernel to stop it when mesokg dies, however
    mesokg dies (so a killed `mesokg serve` leaves no orphaned server behind)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def start_backend(graph: Graph | None, timeout_s: float, location: Path | None = None) -> Backend:
    """Oxigraph's read-only server over a store of `graph` (or over the user's store at `location`, all its
    graphs as the default graph), on an internal loopback port."""
    beside = Path(sys.executable).parent / "oxigraph"
    oxigraph = str(beside) if beside.exists() else shutil.which("oxigraph")
    if oxigraph is None:
        raise MesokgError("cannot serve: the 'oxigraph' server command is not installed (pip install oxigraph)")
    if location is not None:
        store_dir, owned, union = Path(location), False, ["--union-default-graph"]
    else:
        store_dir, owned, union = Path(tempfile.mkdtemp(prefix="mesokg-store-")), True, []
        fill_store(graph, store_dir)
    port = free_port()
    process = subprocess.Popen(
        [
            oxigraph,
            "serve-read-only",
            "--location",
            str(store_dir),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout-s",
            str(int(timeout_s) + 1),
            *union,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}/query"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MesokgError(f"cannot serve: the oxigraph server exited with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return Backend(process, url, store_dir, owned)
        time.sleep(0.1)
    process.kill()
    raise MesokgError("cannot serve: the oxigraph server did not start within 30 s")


def stop_backend(backend: Backend) -> None:
    backend.process.terminate()
    try:
        backend.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        backend.process.kill()
    if backend.owned:
        shutil.rmtree(backend.store_dir, ignore_errors=True)


def make_handler(backend_url: str, timeout_s: float) -> type[BaseHTTPRequestHandler]:
    class GuardHandler(BaseHTTPRequestHandler):
        server_version = "mesokg-sparql"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass

        def reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def refuse(self, status: int, message: str) -> None:
            self.reply(status, (message + "\n").encode("utf-8"))

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(url.query)
            self.answer(url.path, params.get("query", [None])[0], params)

        def do_POST(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            params = urllib.parse.parse_qs(url.query)
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind == "application/sparql-update" or url.path.rstrip("/").endswith("update"):
                return self.refuse(403, "this endpoint is read-only: updates are refused")
            if kind == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qs(body)
                if "update" in form:
                    return self.refuse(403, "this endpoint is read-only: updates are refused")
                params = {**params, **form}
                query = form.get("query", [None])[0]
            elif kind == "application/sparql-query":
                query = body
            else:
                return self.refuse(415, "POST a query as application/sparql-query or a form with query=")
            self.answer(url.path, query, params)

        def do_PUT(self) -> None:
            self.refuse(405, "this endpoint is read-only")

        do_DELETE = do_PATCH = do_PUT

        def answer(self, path: str, query: str | None, params: dict) -> None:
            if path not in QUERY_PATHS:
                return self.refuse(404, f"no such service; query at {QUERY_PATHS[0]}")
            if any(p in params for p in FORBIDDEN_PARAMS):
                return self.refuse(403, "dataset parameters are refused: this endpoint answers over its own data only")
            if not query:
                return self.refuse(400, "no query given")
            try:
                check_query(query)
            except Refused as refused:
                return self.refuse(refused.status, str(refused))
            request = urllib.request.Request(
                backend_url,
                data=query.encode("utf-8"),
                headers={
                    "Content-Type": "application/sparql-query",
                    "Accept": self.headers.get("Accept") or "application/sparql-results+json",
                },
                method="POST",
            )
            outcome: dict[str, object] = {}
            worker = threading.Thread(target=_fetch, args=(request, timeout_s, outcome), daemon=True)
            worker.start()
            worker.join(timeout_s)
            if worker.is_alive() or "error" in outcome and isinstance(outcome["error"], TimeoutError):
                return self.refuse(503, f"the query did not finish within the time limit of {timeout_s:g} s")
            if "error" in outcome:
                return self.refuse(502, f"the query engine failed: {outcome['error']}")
            status, content_type, body = outcome["response"]  # type: ignore[misc]
            self.reply(status, body, content_type)

    return GuardHandler


def _fetch(request: urllib.request.Request, timeout_s: float, outcome: dict) -> None:
    """Read the backend's whole answer into `outcome` (nothing is sent on before it is complete)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout_s + 5) as response:
            body = response.read()
            outcome["response"] = (response.status, response.headers.get("Content-Type", "text/plain"), body)
    except urllib.error.HTTPError as error:
        outcome["response"] = (error.code, error.headers.get("Content-Type", "text/plain"), error.read())
    except (OSError, urllib.error.URLError) as error:
        outcome["error"] = error


class Endpoint:
    """The guard and its Oxigraph backend; use as a context manager, or call serve_forever()."""

    def __init__(
        self,
        graph: Graph | None,
        host: str = "127.0.0.1",
        port: int = 7878,
        timeout_s: float = 30,
        location: Path | None = None,
    ) -> None:
        self.backend = start_backend(graph, timeout_s, location)
        try:
            self.server = ThreadingHTTPServer((host, port), make_handler(self.backend.url, timeout_s))
        except OSError as error:
            stop_backend(self.backend)
            raise MesokgError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/query"
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted, then stop the backend."""
        try:
            self.server.serve_forever()
        finally:
            self.server.server_close()
            stop_backend(self.backend)

    def start(self) -> Endpoint:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        self.server.server_close()
        stop_backend(self.backend)

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
