"""Commands that ask the graph: query, queries, lookup, serve."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from mesokg import api
from mesokg.cli._base import (
    cli,
    data_option,
    endpoint_option,
    graph_option,
    show,
    source_option,
    store_option,
)
from mesokg.errors import MesokgError
from mesokg.graph import build_graph, knowledge_graph
from mesokg.queries import load_data, named_queries, parse_params
from mesokg.serve import Endpoint


@cli.command(name="query")
@click.argument("name_or_file")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter: an IRI, CURIE, label or synonym (case-insensitive). Repeatable.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "tsv", "xml", "turtle"]),
    default="table",
    show_default=True,
    help="json and xml are the W3C SPARQL 1.1 result formats; turtle is for CONSTRUCT and DESCRIBE.",
)
@data_option
@store_option
@endpoint_option
@graph_option
@source_option
def query_command(
    name_or_file: str,
    params: tuple[str, ...],
    fmt: str,
    data_files: tuple[Path, ...],
    store_path: Path | None,
    endpoint: str | None,
    data_graph: str,
    source_dir: Path | None,
) -> None:
    """Run a named query (see 'mesokg queries') or a SPARQL file on the built graph, or on --endpoint.

    Parameter values are resolved to concepts of the graph and bound, never pasted into the query.
    Exit codes: 0 ok, 2 bad query, parameter or input, or an endpoint that is down or refuses.
    """
    result = api.query(
        name_or_file,
        data=data_files,
        store=store_path,
        endpoint=endpoint,
        graph=data_graph,
        source=source_dir,
        **parse_params(params),
    )
    click.echo(result.text(fmt), nl=False)


@cli.command(name="queries")
def queries_command() -> None:
    """List the named queries with their title, question and parameters. Exit code 0."""
    for name, query in named_queries().items():
        params = " ".join(f"-p {p.name}=<{p.kind}>" for p in query.params)
        click.echo(f"{name}  {params}".rstrip())
        click.echo(f"    {query.title}")
        if query.question:
            click.echo(f"    {query.question}")
        for p in query.params:
            click.echo(f"    {p.name} ({p.kind}): {p.description}")


@cli.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free one).")
@data_option
@click.option(
    "--timeout",
    "timeout_s",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Stop a query that runs longer than this many seconds.",
)
@store_option
@source_option
def serve_command(
    host: str,
    port: int,
    data_files: tuple[Path, ...],
    timeout_s: float,
    store_path: Path | None,
    source_dir: Path | None,
) -> None:
    """Serve the built graph as a read-only SPARQL 1.1 endpoint (GET and POST at /query).

    Answers SELECT, ASK, CONSTRUCT and DESCRIBE with content negotiation (SPARQL JSON, XML, CSV, TSV;
    Turtle for graphs); refuses updates, SERVICE and FROM. Exit codes: 0 stopped, 2 cannot start.
    """
    if store_path is not None:
        if data_files:
            raise MesokgError("--data adds files to a served copy; add them to the --store with 'mesokg build --store'")
        if not store_path.is_dir():
            raise MesokgError(f"{store_path}: no such store (fill it first: mesokg build --store {store_path})")
        endpoint = Endpoint(None, host, port, timeout_s, location=store_path)
    else:
        graph = load_data(build_graph(source_dir), data_files) if data_files else knowledge_graph(source_dir)
        endpoint = Endpoint(graph, host, port, timeout_s)

    def stop(*_) -> None:
        raise KeyboardInterrupt  # a SIGTERM stops the server as Ctrl-C does, backend included

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"SPARQL endpoint at {endpoint.url} (read-only; Ctrl-C stops it)", err=True)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass


@cli.command(name="lookup")
@click.argument("text")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@source_option
def lookup_command(text: str, fmt: str, source_dir: Path | None) -> None:
    """Find what a clinical code (SNOMEDCT:77386006, ICD10CM:E11.65, ICD11:5A11, ATC:B01AA03, MESH:..., CHEBI:...),
    an IRI or CURIE, or a label or synonym (any case) names in the graph, with the concept's codes.

    A code below a mapped code resolves through its terminology's hierarchy (ICD10CM:E11.65 -> the concept
    mapped to ICD10CM:E11). Exit codes: 0 found, 1 names nothing, 2 an invalid code or unknown code system.
    """
    result = api.lookup(text, source=source_dir)
    show(result, fmt)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)
