"""What every command shares: the group that turns a MesokgError into one line, the common options, and
the helpers that print a result and exit with its code."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from mesokg.errors import MesokgError
from mesokg.version import __version__


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


def store_option_with(help_text: str):
    """`--store DIR` (an on-disk store), with the command's own help."""
    return click.option(
        "--store", "store_path", type=click.Path(path_type=Path, file_okay=False), default=None, help=help_text
    )


store_option = store_option_with(
    "Keep the knowledge graph and the patient data in this on-disk store (created if missing); files "
    "given are added to it, each replacing an earlier load of the same file content."
)


def output_option(what: str):
    """`-o/--output FILE`, written whole or not at all; standard output without it."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=f"{what} to write (written whole or not at all); standard output if not given.",
    )


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


def show(result, fmt: str = "text") -> None:
    """Print a result of mesokg.api: its JSON (`as_dict`) or its text."""
    if fmt == "json":
        click.echo(to_json(result.as_dict()))
    else:
        click.echo(result.text(), nl=False)


def finish(errors: list[MesokgError], flagged: bool) -> None:
    """After the results are printed: one stderr line per unreadable input, then the exit code
    (2 if any input could not be read, else 1 if anything was flagged, else 0)."""
    for error in errors:
        click.echo(f"mesokg: error: {error}", err=True)
    if errors:
        raise click.exceptions.Exit(2)
    if flagged:
        raise click.exceptions.Exit(1)


def emit(result) -> None:
    """A result that the API wrote to its `output` file: say so on stderr; one without a file: its text to
    standard output (so a graph is serialised once, for one place or the other)."""
    if result.output is None:
        click.echo(result.text(), nl=False)
    else:
        click.echo(f"wrote {result.output}", err=True)
