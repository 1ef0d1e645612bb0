"""mesokg: a knowledge graph of mesotherapy. The functions the command line uses, for pipelines."""

from __future__ import annotations

__version__ = "0.1.0"

from mesokg.checks import run_checks  # noqa: E402
from mesokg.errors import InputError, MesokgError  # noqa: E402
from mesokg.graph import build_graph, load_sources, stats, write_outputs  # noqa: E402
from mesokg.lookup import lookup  # noqa: E402
from mesokg.query import run_query  # noqa: E402
from mesokg.reason import ReasonResult, reason  # noqa: E402
from mesokg.screen import screen  # noqa: E402
from mesokg.validate import validate  # noqa: E402

load_graph = build_graph

__all__ = [
    "InputError",
    "MesokgError",
    "ReasonResult",
    "__version__",
    "build_graph",
    "load_graph",
    "load_sources",
    "lookup",
    "reason",
    "run_checks",
    "run_query",
    "screen",
    "stats",
    "validate",
    "write_outputs",
]
