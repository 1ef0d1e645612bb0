"""Commands on patient records: validate, screen, import-fhir, load."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mesokg import api
from mesokg.cli._base import (
    cli,
    emit,
    endpoint_option,
    finish,
    graph_option,
    output_option,
    progress_bar,
    show,
    source_option,
    store_option,
)

workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Decide partitions in this many processes side by side (the same results as one).",
)
partition_option = click.option(
    "--partition-size",
    type=click.IntRange(min=1),
    default=api.PARTITION_SIZE,
    show_default=True,
    help="Patients per partition of a FHIR Bulk Data export (a directory of NDJSON files).",
)


@cli.command(name="validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl", "turtle"]),
    default="text",
    show_default=True,
    help="turtle is the standard sh:ValidationReport; jsonl streams one JSON object per patient (README).",
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
@workers_option
@partition_option
def validate_command(
    files: tuple[Path, ...],
    fmt: str,
    fail_on: str,
    engine: str,
    shapes_files: tuple[Path, ...],
    no_kb: bool,
    store_path: Path | None,
    source_dir: Path | None,
    workers: int,
    partition_size: int,
) -> None:
    """SHACL-validate patient records (files or directories; Turtle, N-Triples, JSON-LD, RDF/XML, FHIR R4
    Bundles in JSON, FHIR Bulk Data exports: directories of NDJSON), or any data against your own shapes
    (--shapes). With --store, every patient in the store is validated, the given files added first.

    Exit codes: 0 conforms (warnings allowed unless --fail-on warning), 1 does not, 2 an input could not
    be read or a line of a bulk export is malformed (the others are still validated and reported).
    """
    if fmt == "jsonl":
        api.check_partitioned("validate", engine, store=store_path, shapes=shapes_files or None, use_kb=not no_kb)
        stream = api.validate_stream(files, source=source_dir, workers=workers, partition_size=partition_size)
        stream.write_jsonl(sys.stdout.buffer, fail_on)
        finish(stream.errors, stream.exit_code_for(fail_on) == 1)
        return
    outcome = api.validate(
        files,
        engine=engine,
        shapes=shapes_files or None,
        use_kb=not no_kb,
        store=store_path,
        source=source_dir,
        progress=progress_bar(True),
        workers=workers,
        partition_size=partition_size,
    )
    if outcome.note:
        click.echo(f"mesokg: note: {outcome.note}", err=True)
    if fmt == "turtle":
        if outcome.report is not None:
            click.echo(outcome.report.serialize(format="turtle"), nl=False)
    else:
        show(outcome, fmt)
    finish(outcome.errors, outcome.fails(fail_on))


@cli.command(name="screen")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--treatment",
    default=None,
    help="Screen every patient for this treatment (IRI, CURIE or label) instead of their planned sessions.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="jsonl streams one JSON object per patient, each reason described once (README).",
)
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
@workers_option
@partition_option
def screen_command(
    files: tuple[Path, ...],
    treatment: str | None,
    fmt: str,
    engine: str,
    store_path: Path | None,
    endpoint: str | None,
    data_graph: str,
    source_dir: Path | None,
    workers: int,
    partition_size: int,
) -> None:
    """Screen patients: for each planned treatment, contraindicated / caution / none, with every reason.
    Files or directories: RDF, FHIR R4 Bundles, FHIR Bulk Data exports (directories of NDJSON). With --store,
    every patient in the store is screened, the given files added first.

    Exit codes: 0 no contraindication found, 1 some (absolute or relative), 2 an input could not be read,
    a line of a bulk export is malformed, or the treatment is unknown (the readable inputs are still
    screened and reported).
    """
    if fmt == "jsonl":
        api.check_partitioned("screen", engine, store=store_path, endpoint=endpoint)
        stream = api.screen_stream(
            files, treatment=treatment, source=source_dir, workers=workers, partition_size=partition_size
        )
        stream.write_jsonl(sys.stdout.buffer)
        finish(stream.errors, stream.flagged)
        return
    outcome = api.screen(
        files,
        treatment=treatment,
        engine=engine,
        store=store_path,
        endpoint=endpoint,
        graph=data_graph,
        source=source_dir,
        progress=progress_bar(True),
        workers=workers,
        partition_size=partition_size,
    )
    show(outcome, fmt)
    finish(outcome.errors, outcome.flagged)


@cli.command(name="import-fhir")
@click.argument("bundle", type=click.Path(path_type=Path))
@output_option("Turtle file")
@source_option
def import_fhir_command(bundle: Path, output: Path | None, source_dir: Path | None) -> None:
    """Read an HL7 FHIR R4 Bundle (JSON) into mesokg's patient model, as Turtle.

    Patient, Condition (active), MedicationStatement / MedicationRequest, AllergyIntolerance, pregnancy and
    breastfeeding status Observations, and planned Procedure / ServiceRequest become patient records; their
    clinical codes are kept (mesokg:code) and resolved to the graph's concepts where mapped.
    Exit codes: 0 written, 2 malformed bundle (the message names the JSON path) or unwritable output.
    """
    emit(api.import_fhir(bundle, output=output, source=source_dir))


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
@partition_option
def load_command(
    files: tuple[Path, ...], endpoint: str, data_graph: str, source_dir: Path | None, partition_size: int
) -> None:
    """Load patient records (RDF, FHIR bundles or FHIR Bulk Data exports, codes resolved) and the knowledge
    graph into a SPARQL store; a bulk export is loaded partition by partition.

    The knowledge graph replaces the named graph urn:mesokg:graph:kb; the records are added to --graph.
    Then 'mesokg query --endpoint' and 'mesokg screen --endpoint' ask the store.
    Exit codes: 0 loaded, 2 an input could not be read (the others are loaded) or the store is down or refuses.
    """
    result = api.load(files, endpoint=endpoint, graph=data_graph, source=source_dir, partition_size=partition_size)
    click.echo(result.text(), err=True, nl=False)
    finish(result.errors, False)
