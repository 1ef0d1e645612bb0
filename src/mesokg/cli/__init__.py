"""The `mesokg` command: a thin layer over mesokg.api, one module per group of commands. Every MesokgError
becomes one line on stderr with its exit code."""

from mesokg.cli import graph, queries, records  # noqa: F401 - each registers its commands on the group
from mesokg.cli._base import cli


def main() -> None:
    cli(prog_name="mesokg")


__all__ = ["cli", "main"]
