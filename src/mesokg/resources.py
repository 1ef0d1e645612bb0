"""Where the bundled ontology and queries are: inside the installed package, or in the checkout."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path


@functools.cache
def data_root() -> Path:
    """The directory holding `ontology/` and `queries/`.

    A built wheel carries them in `mesokg/_data`; an editable install or a checkout has them at the
    repository root, two levels above this package.
    """
    packaged = Path(str(resources.files("mesokg"))) / "_data"
    if (packaged / "ontology").is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "ontology").is_dir():
        return checkout
    raise FileNotFoundError("mesokg's bundled ontology is missing: reinstall the package")


def ontology_dir() -> Path:
    return data_root() / "ontology"


def queries_dir() -> Path:
    return data_root() / "queries"
