"""mesokg: the open knowledge graph of mesotherapy, as a Python library.

The functions below are the command line's commands, with the same options and answers (mesokg.api):
each returns a result with `as_dict()` (the JSON the command prints), `text()` and `exit_code`.
`knowledge_graph()` is the built graph itself (shared and read-only; `build_graph()` gives a copy).
"""

from typing import TYPE_CHECKING

from mesokg.version import __version__

# where each public name lives: imported on first use, so that `import mesokg` (and every command) loads
# only what it runs
_PUBLIC = {
    **{
        name: "mesokg.api"
        for name in (
            "BuildResult",
            "CheckResult",
            "ExportResult",
            "ImportResult",
            "LoadResult",
            "LookupResult",
            "QueryResult",
            "StatsResult",
            "build",
            "check",
            "export_sssom",
            "import_fhir",
            "load",
            "lookup",
            "query",
            "reason",
            "screen",
            "screen_stream",
            "stats",
            "validate",
            "validate_stream",
        )
    },
    "InputError": "mesokg.errors",
    "MesokgError": "mesokg.errors",
    "build_graph": "mesokg.graph",
    "knowledge_graph": "mesokg.graph",
    "ReasonResult": "mesokg.reasoner",
    "ScreenOutcome": "mesokg.results",
    "ScreenStream": "mesokg.results",
    "ValidationOutcome": "mesokg.results",
    "ValidationStream": "mesokg.results",
}


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'mesokg' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


if TYPE_CHECKING:
    from mesokg.api import (
        BuildResult,
        CheckResult,
        ExportResult,
        ImportResult,
        LoadResult,
        LookupResult,
        QueryResult,
        StatsResult,
        build,
        check,
        export_sssom,
        import_fhir,
        load,
        lookup,
        query,
        reason,
        screen,
        screen_stream,
        stats,
        validate,
        validate_stream,
    )
    from mesokg.errors import InputError, MesokgError
    from mesokg.graph import build_graph, knowledge_graph
    from mesokg.reasoner import ReasonResult
    from mesokg.results import ScreenOutcome, ScreenStream, ValidationOutcome, ValidationStream

__all__ = [
    "BuildResult",
    "CheckResult",
    "ExportResult",
    "ImportResult",
    "InputError",
    "LoadResult",
    "LookupResult",
    "MesokgError",
    "QueryResult",
    "ReasonResult",
    "ScreenOutcome",
    "ScreenStream",
    "StatsResult",
    "ValidationOutcome",
    "ValidationStream",
    "__version__",
    "build",
    "build_graph",
    "check",
    "export_sssom",
    "import_fhir",
    "knowledge_graph",
    "load",
    "lookup",
    "query",
    "reason",
    "screen",
    "screen_stream",
    "stats",
    "validate",
    "validate_stream",
]
