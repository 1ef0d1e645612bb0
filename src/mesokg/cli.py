"""The `mesokg` command: a thin layer over the library. Every MesokgError becomes one line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from mesokg import __version__
from mesokg.checks import run_checks
from mesokg.errors import MesokgError
from mesokg.graph import build_graph, knowledge_graph, stats, write_outputs
from mesokg.prefixes import compact
from mesokg.query import format_result, load_data, named_queries, parse_params, run_query
from mesokg.reason import reason


class MesokgGroup(click.Group):
    """Reports MesokgError as `mesokg: error: ...` with the error's exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MesokgError as error:
            click.echo(f"mesokg: error: {error}", err=True)
            ctx.exit(error.exit_code)


source_option = click.option(
    "--source",
    "source_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Build from this source directory (holding mesokg.ttl and kb/*.ttl) instead of the bundled one.",
)


store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the knowledge graph and the patient data in this on-disk store (created if missing); files "
    "given are added to it, each replacing an earlier load of the same file content.",
)


def fingerprint_of(source_dir: Path | None) -> str:
    from mesokg.graph import source_fingerprint

    return source_fingerprint(source_dir)


def progress_bar(enabled: bool) -> bool:
    """Whether to draw a progress bar while big files load: on a terminal (stderr), into a --store."""
    return enabled and sys.stderr.isatty()


endpoint_option = click.option(
    "--endpoint",
    default=None,
    metavar="URL",
    help="Ask this SPARQL 1.1 query endpoint instead of the local graph (load it first with 'mesokg load').",
)
graph_option = click.option(
    "--graph",
    "data_graph",
    default="urn:mesokg:graph:data",
    show_default=True,
    help="The named graph that holds the patient data on the endpoint.",
)


data_option = click.option(
    "--data",
    "data_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="RDF data (Turtle, N-Triples, JSON-LD, RDF/XML; a file or a directory) to add to the graph. Repeatable.",
)


def to_json(value) -> bytes:
    """Indented JSON as UTF-8 (orjson: a hundred thousand screened patients take a second, not ten; bytes, so
    that click writes them as they are instead of scanning them for terminal colour codes)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


@click.group(cls=MesokgGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mesokg")
def cli() -> None:
    """mesokg: a knowledge graph of mesotherapy treatments, substances, indications, adverse effects
    and contraindications."""


@cli.command()
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Directory to write into (created if missing; other files in it are left alone).",
)
@source_option
@click.option("--no-materialise", is_flag=True, help="Leave out the inherited (inferred) assertions.")
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also load the graph into this on-disk store (created if missing) for validate, screen, query and "
    "serve --store; a store that holds this very build already is left alone.",
)
def build(out_dir: Path, source_dir: Path | None, no_materialise: bool, store_path: Path | None) -> None:
    """Build the merged graph and write it as Turtle, RDF/XML, JSON-LD and N-Triples.

    Exit codes: 0 written, 2 bad source or unwritable output (nothing is half-written).
    """
    graph = knowledge_graph(source_dir, materialise=not no_materialise)
    if store_path is not None:
        from mesokg.store import Store

        store = Store(store_path)
        fingerprint = fingerprint_of(source_dir) if not no_materialise else None
        if fingerprint is None:
            raise MesokgError("--store holds the materialised graph; leave out --no-materialise")
        loaded = store.ensure_kb(lambda: graph, fingerprint)
        store.flush()
        click.echo(f"{'loaded the graph into' if loaded else 'the graph is already in'} {store_path}")
    for path in write_outputs(graph, out_dir):
        click.echo(f"wrote {path}")
    counts = stats(graph)
    inferred = counts["contraindications (inferred)"] + counts["adverse-effect assertions (inferred)"]
    click.echo(f"{counts['triples']} triples, {inferred} inferred assertions")


@cli.command(name="stats")
@source_option
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def stats_command(source_dir: Path | None, fmt: str) -> None:
    """Count the things in the built graph, per kind.

    Exit codes: 0 ok, 2 bad source.
    """
    counts = stats(knowledge_graph(source_dir))
    if fmt == "json":
        click.echo(to_json(counts))
        return
    width = max(len(kind) for kind in counts)
    for kind, n in counts.items():
        click.echo(f"{kind:<{width}}  {n:>6}")


@cli.command(name="reason")
@source_option
def reason_command(source_dir: Path | None) -> None:
    """Run the HermiT reasoner: consistency, unsatisfiable classes, inferred classification.

    The reasoner gets the graph without the build's materialised inheritance and derives it from the
    property chains itself. Exit codes: 0 consistent with no unsatisfiable class, 1 otherwise,
    2 bad source or the reasoner could not run.
    """
    result = reason(knowledge_graph(source_dir, materialise=False))
    click.echo(f"consistency: {'consistent' if result.consistent else 'INCONSISTENT'}")
    if result.consistent:
        click.echo(f"unsatisfiable classes: {len(result.unsatisfiable)}")
        for iri in result.unsatisfiable:
            click.echo(f"  {compact(iri)}")
        members: dict[str, list[str]] = {}
        for individual, classes in result.inferred_types.items():
            for cls in classes:
                members.setdefault(cls, []).append(individual)
        click.echo("inferred classification:")
        for cls in sorted(members):
            click.echo(f"  {compact(cls)}: {', '.join(sorted(compact(i) for i in members[cls]))}")
        click.echo(f"inferred property values: {len(result.property_values)}")
    if not result.ok:
        raise click.exceptions.Exit(1)


@cli.command(name="check")
@source_option
def check_command(source_dir: Path | None) -> None:
    """Run the quality checks (queries/checks/*-violation.rq) on the built graph.

    Exit codes: 0 every check returned no rows, 1 some did, 2 bad source.
    """
    results = run_checks(knowledge_graph(source_dir))
    failed = {name: rows for name, rows in results.items() if rows}
    for name, rows in results.items():
        click.echo(f"{'FAIL' if rows else 'ok  '} {name}" + (f" ({len(rows)})" if rows else ""))
        for entity, problem in rows:
            click.echo(f"       {compact(entity)}: {problem}")
    if failed:
        raise click.exceptions.Exit(1)


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
    graph = build_graph(source_dir) if data_files else knowledge_graph(source_dir)
    if endpoint is not None:
        from mesokg.query import run_remote_query
        from mesokg.remote import RemoteStore

        if data_files:
            raise MesokgError("--data adds local files; with --endpoint load them first with 'mesokg load'")
        result = run_remote_query(RemoteStore(endpoint, data_graph), graph, name_or_file, parse_params(params))
        click.echo(format_result(result, fmt), nl=False)
        return
    if store_path is not None:
        from mesokg.engine import Engine
        from mesokg.query import run_store_query

        engine = Engine(lambda: graph, fingerprint_of(source_dir), store_path)
        loaded = engine.load(data_files)
        if loaded.errors:
            raise loaded.errors[0]
        result = run_store_query(engine.store, graph, name_or_file, parse_params(params))
        click.echo(format_result(result, fmt), nl=False)
        return
    load_data(graph, data_files)
    result = run_query(graph, name_or_file, parse_params(params))
    click.echo(format_result(result, fmt), nl=False)


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
    import signal

    from mesokg.serve import Endpoint

    if store_path is not None:
        if data_files:
            raise MesokgError("--data adds files to a served copy; add them to the --store with 'mesokg build --store'")
        if not store_path.is_dir():
            raise MesokgError(f"{store_path}: no such store (fill it first: mesokg build --store {store_path})")
        endpoint = Endpoint(None, host, port, timeout_s, location=store_path)
    else:
        graph = build_graph(source_dir)
        load_data(graph, data_files)
        endpoint = Endpoint(graph, host, port, timeout_s)

    def stop(*_) -> None:
        raise KeyboardInterrupt  # a SIGTERM stops the server as Ctrl-C does, backend included

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"SPARQL endpoint at {endpoint.url} (read-only; Ctrl-C stops it)", err=True)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass


def finish(errors: list[MesokgError], flagged: bool) -> None:
    """After the results are printed: one stderr line per unreadable input, then the exit code
    (2 if any input could not be read, else 1 if anything was flagged, else 0)."""
    for error in errors:
        click.echo(f"mesokg: error: {error}", err=True)
    if errors:
        raise click.exceptions.Exit(2)
    if flagged:
        raise click.exceptions.Exit(1)


@cli.command(name="validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="turtle is the standard sh:ValidationReport.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["violation", "warning"]),
    default="violation",
    show_default=True,
    help="The least severe result that makes the exit code 1.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "sparql", "pyshacl"]),
    default="auto",
    show_default=True,
    help="sparql: the shapes compiled to SPARQL in an embedded store (fast); pyshacl: the reference engine; "
    "auto: sparql unless the shapes use a feature it does not evaluate.",
)
@click.option(
    "--shapes",
    "shapes_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Validate against the SHACL shapes in this file (Turtle or any RDF syntax; repeatable) instead of the "
    "bundled patient shapes.",
)
@click.option("--no-kb", is_flag=True, help="Validate the data alone, without the knowledge base merged in.")
@store_option
@source_option
def validate_command(
    files: tuple[Path, ...],
    fmt: str,
    fail_on: str,
    engine: str,
    shapes_files: tuple[Path, ...],
    no_kb: bool,
    store_path: Path | None,
    source_dir: Path | None,
) -> None:
    """SHACL-validate patient records (files or directories; Turtle, N-Triples, JSON-LD, RDF/XML, FHIR R4
    Bundles in JSON), or any data against your own shapes (--shapes). With --store, every patient in the
    store is validated, the given files added first.

    Exit codes: 0 conforms (warnings allowed unless --fail-on warning), 1 does not, 2 an input could not
    be read (the others are still validated and reported).
    """
    from mesokg.validate import format_text, load_shapes, validate

    if not files and store_path is None:
        raise MesokgError("give patient files or directories to validate (or --store with a filled store)")
    if no_kb and store_path is not None:
        raise MesokgError("--no-kb cannot be used with --store (the store holds the knowledge base)")
    shapes = load_shapes(shapes_files) if shapes_files else None
    if no_kb:
        outcome = validate(files, None, engine, None, "no-kb", progress_bar(True), shapes=shapes, use_kb=False)
    else:
        kb = knowledge_graph(source_dir)
        fingerprint = fingerprint_of(source_dir)
        outcome = validate(files, kb, engine, store_path, fingerprint, progress_bar(True), shapes=shapes)
    if outcome.note:
        click.echo(f"mesokg: note: {outcome.note}", err=True)
    if fmt == "json":
        click.echo(to_json(outcome.as_dict()))
    elif fmt == "turtle":
        if outcome.report is not None:
            click.echo(outcome.report.serialize(format="turtle"), nl=False)
    else:
        click.echo(format_text(outcome), nl=False)
    finish(outcome.errors, outcome.fails(fail_on))


@cli.command(name="screen")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--treatment",
    default=None,
    help="Screen every patient for this treatment (IRI, CURIE or label) instead of their planned sessions.",
)
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--engine",
    type=click.Choice(["sparql", "rdflib"]),
    default="sparql",
    show_default=True,
    help="sparql: the clinical rule once for all sessions in an embedded store; rdflib: session by session "
    "(the reference).",
)
@store_option
@endpoint_option
@graph_option
@source_option
def screen_command(
    files: tuple[Path, ...],
    treatment: str | None,
    fmt: str,
    engine: str,
    store_path: Path | None,
    endpoint: str | None,
    data_graph: str,
    source_dir: Path | None,
) -> None:
    """Screen patients: for each planned treatment, contraindicated / caution / none, with every reason.
    With --store, every patient in the store is screened, the given files added first.

    Exit codes: 0 no contraindication found, 1 some (absolute or relative), 2 an input could not be read
    or the treatment is unknown (the readable inputs are still screened and reported).
    """
    from mesokg.screen import format_text, screen

    if endpoint is not None:
        from mesokg.engine import Engine
        from mesokg.remote import RemoteStore
        from mesokg.screen import ScreenOutcome

        if files or store_path is not None:
            raise MesokgError("with --endpoint, screen what the endpoint holds: load files first with 'mesokg load'")
        kb = knowledge_graph(source_dir)
        remote = Engine(lambda: kb, fingerprint_of(source_dir), store=RemoteStore(endpoint, data_graph))
        outcome = ScreenOutcome(patients=remote.screen(None if treatment is None else resolve_treatment(kb, treatment)))
    elif not files and store_path is None:
        raise MesokgError("give patient files or directories to screen (or --store with a filled store)")
    elif store_path is not None and engine != "sparql":
        raise MesokgError("--store works with the sparql engine only")
    else:
        kb = knowledge_graph(source_dir)
        progress = progress_bar(True)
        outcome = screen(files, kb, treatment, engine, store_path, fingerprint_of(source_dir), progress)
    if fmt == "json":
        click.echo(to_json(outcome.as_dict()))
    else:
        click.echo(format_text(outcome), nl=False)
    finish(outcome.errors, outcome.flagged)


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
    from mesokg.lookup import format_text, lookup, nearest_hint

    graph = knowledge_graph(source_dir)
    hits = lookup(graph, text)
    if fmt == "json":
        click.echo(to_json({"query": text, "concepts": [hit.as_dict() for hit in hits]}))
    else:
        click.echo(format_text(text, hits, "" if hits else nearest_hint(graph, text)))
    if not hits:
        raise click.exceptions.Exit(1)


@cli.command(name="export-sssom")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="File to write (written whole or not at all); standard output if not given.",
)
@source_option
def export_sssom_command(output: Path | None, source_dir: Path | None) -> None:
    """Write every mapping of ontology/mappings as one SSSOM/TSV mapping set.

    Exit codes: 0 written, 2 a malformed mapping file or an unwritable output.
    """
    from mesokg.export import merged_sssom

    emit(merged_sssom(source_dir), output)


def emit(text: str, output: Path | None) -> None:
    """`text` to standard output, or to the file `output`, written whole or not at all."""
    from mesokg.graph import write_atomically

    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, text)
        click.echo(f"wrote {output}", err=True)


@cli.command(name="import-fhir")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Turtle file to write (written whole or not at all); standard output if not given.",
)
@source_option
def import_fhir_command(bundle: Path, output: Path | None, source_dir: Path | None) -> None:
    """Read an HL7 FHIR R4 Bundle (JSON) into mesokg's patient model, as Turtle.

    Patient, Condition (active), MedicationStatement / MedicationRequest, AllergyIntolerance, pregnancy and
    breastfeeding status Observations, and planned Procedure / ServiceRequest become patient records; their
    clinical codes are kept (mesokg:code) and resolved to the graph's concepts where mapped.
    Exit codes: 0 written, 2 malformed bundle (the message names the JSON path) or unwritable output.
    """
    from mesokg.fhir import import_bundle

    if output is not None and output.exists() and bundle.exists() and output.resolve() == bundle.resolve():
        raise MesokgError(f"{output}: refusing to overwrite the input bundle with its import")
    emit(import_bundle(bundle, knowledge_graph(source_dir)).serialize(format="turtle"), output)


def resolve_treatment(kb, treatment: str):
    from mesokg.resolve import resolve

    return resolve(kb, treatment, "treatment", "--treatment")


@cli.command(name="load")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--endpoint",
    required=True,
    metavar="URL",
    help="The store's SPARQL 1.1 Graph Store Protocol endpoint (Oxigraph: http://HOST:PORT/store).",
)
@graph_option
@source_option
def load_command(files: tuple[Path, ...], endpoint: str, data_graph: str, source_dir: Path | None) -> None:
    """Load patient records (RDF or FHIR bundles, codes resolved) and the knowledge graph into a SPARQL store.

    The knowledge graph replaces the named graph urn:mesokg:graph:kb; the records are added to --graph.
    Then 'mesokg query --endpoint' and 'mesokg screen --endpoint' ask the store.
    Exit codes: 0 loaded, 2 an input could not be read (the others are loaded) or the store is down or refuses.
    """
    from mesokg.remote import load

    loaded, errors = load(endpoint, files, knowledge_graph(source_dir), fingerprint_of(source_dir), data_graph)
    click.echo(f"loaded {len(loaded)} file(s) into {data_graph} at {endpoint}", err=True)
    finish(errors, False)


def main() -> None:
    cli(prog_name="mesokg")
