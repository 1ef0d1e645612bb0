"""Errors that the command line reports on one line, with an exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path


class MesokgError(Exception):
    """An error with a one-line message and the exit code the command line uses for it."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(" ".join(message.split()))
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(MesokgError):
    """Bad input given by the user: a missing, unreadable or malformed file, an unwritable directory."""


class QuerySyntaxError(MesokgError):
    """A SPARQL text that the engine cannot parse."""


def located(path: Path | str, message: str, line: int | None = None, column: int | None = None) -> str:
    """`FILE:LINE:COL: message`, leaving out what is not known."""
    where = str(path)
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    return f"{where}: {message}"
