"""Commands on the knowledge graph itself: build, stats, check, reason, export-sssom."""

from __future__ import annotations

from pathlib import Path

import click

from mesokg import api
from mesokg.cli._base import cli, emit, output_option, show, source_option, store_option_with


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
@store_option_with(
    "Also load the graph into this on-disk store (created if missing) for validate, screen, query and "
    "serve --store; a store that holds this very build already is left alone."
)
def build(out_dir: Path, source_dir: Path | None, no_materialise: bool, store_path: Path | None) -> None:
    """Build the merged graph and write it as Turtle, RDF/XML, JSON-LD and N-Triples.

    Exit codes: 0 written, 2 bad source or unwritable output (nothing is half-written).
    """
    result = api.build(out_dir, source=source_dir, materialise=not no_materialise, store=store_path)
    show(result)


@cli.command(name="stats")
@source_option
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def stats_command(source_dir: Path | None, fmt: str) -> None:
    """Count the things in the built graph, per kind.

    Exit codes: 0 ok, 2 bad source.
    """
    show(api.stats(source=source_dir), fmt)


@cli.command(name="reason")
@source_option
def reason_command(source_dir: Path | None) -> None:
    """Run the HermiT reasoner: consistency, unsatisfiable classes, inferred classification.

    The reasoner gets the graph without the build's materialised inheritance and derives it from the
    property chains itself. Exit codes: 0 consistent with no unsatisfiable class, 1 otherwise,
    2 bad source or the reasoner could not run.
    """
    result = api.reason(source=source_dir)
    show(result)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@cli.command(name="check")
@source_option
def check_command(source_dir: Path | None) -> None:
    """Run the quality checks (queries/checks/*-violation.rq) on the built graph.

    Exit codes: 0 every check returned no rows, 1 some did, 2 bad source.
    """
    result = api.check(source=source_dir)
    show(result)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@cli.command(name="export-sssom")
@output_option("File")
@source_option
def export_sssom_command(output: Path | None, source_dir: Path | None) -> None:
    """Write every mapping of ontology/mappings as one SSSOM/TSV mapping set.

    Exit codes: 0 written, 2 a malformed mapping file or an unwritable output.
    """
    emit(api.export_sssom(output=output, source=source_dir))
