"""The Python API: one function per command of the `mesokg` CLI, with the same options and the same answers.

Each function returns a result object with `as_dict()` (what `-f json` prints), `text()` (what the command
prints by default) and `exit_code` (the command's exit code). Where the command takes a backend, the function
takes the same choice: `store=` (an on-disk embedded store) or `endpoint=` (a SPARQL endpoint loaded with
`load`). `source=` builds from another source directory than the bundled ontology. Errors are MesokgError
(InputError for bad input), each with a one-line message and the command's exit code.

    >>> import mesokg
    >>> mesokg.lookup("ICD10CM:E11.65").as_dict()["concepts"][0]["concept"]
    'https://w3id.org/mesokg/type-2-diabetes-mellitus'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.query import Result

from mesokg import graphs
from mesokg.bulk import PARTITION_SIZE, split_inputs
from mesokg.checks import run_checks
from mesokg.engine import Engine, load_endpoint
from mesokg.errors import InputError, MesokgError
from mesokg.export import merged_sssom
from mesokg.graph import knowledge_graph, source_fingerprint, write_atomically, write_outputs
from mesokg.graph import stats as count_stats
from mesokg.inputs import import_bundle
from mesokg.partitions import load_partitioned
from mesokg.partitions import screen_stream as run_screen_stream
from mesokg.partitions import validate_stream as run_validate_stream
from mesokg.prefixes import compact
from mesokg.queries import format_result, load_data, run_query, run_remote_query, run_store_query
from mesokg.rdfio import canonical_graph
from mesokg.reasoner import ReasonResult
from mesokg.reasoner import reason as run_reasoner
from mesokg.remote import RemoteStore
from mesokg.resolve import Hit, lookup_text, nearest_hint
from mesokg.resolve import lookup as find_concepts
from mesokg.results import ScreenOutcome, ScreenStream, ValidationOutcome, ValidationStream
from mesokg.screening import screen as run_screen
from mesokg.store import Store
from mesokg.validation import load_shapes
from mesokg.validation import validate as run_validation

Paths = str | Path | list[str | Path] | tuple[str | Path, ...]


def _paths(paths: Paths | None) -> list[Path]:
    if paths is None:
        return []
    if isinstance(paths, str | Path):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _source(source: str | Path | None) -> Path | None:
    return Path(source) if source is not None else None


# ---- build, stats, check, reason -----------------------------------------------------------------------------
@dataclass
class BuildResult:
    """What `build` wrote, and the counts of the graph."""

    written: list[Path]
    counts: dict[str, int]
    store: Path | None = None
    store_loaded: bool | None = None  # False: the store already held this build
    exit_code: int = 0

    def as_dict(self) -> dict:
        return {
            "written": [str(p) for p in self.written],
            "store": str(self.store) if self.store is not None else None,
            "storeLoaded": self.store_loaded,
            "triples": self.counts["triples"],
            "inferred": self.inferred,
        }

    @property
    def inferred(self) -> int:
        return self.counts["contraindications (inferred)"] + self.counts["adverse-effect assertions (inferred)"]

    def text(self) -> str:
        lines = []
        if self.store is not None:
            lines.append(f"{'loaded the graph into' if self.store_loaded else 'the graph is already in'} {self.store}")
        lines += [f"wrote {path}" for path in self.written]
        lines.append(f"{self.counts['triples']} triples, {self.inferred} inferred assertions")
        return "\n".join(lines) + "\n"


def build(
    output: str | Path | None = "build",
    *,
    source: str | Path | None = None,
    materialise: bool = True,
    store: str | Path | None = None,
) -> BuildResult:
    """Build the merged graph and write it as Turtle, RDF/XML, JSON-LD and N-Triples into `output` (all or
    nothing; None writes nothing); with `store`, also load it into that on-disk store."""
    source_dir = _source(source)
    graph = knowledge_graph(source_dir, materialise=materialise)
    loaded = None
    if store is not None:
        if not materialise:
            raise MesokgError("--store holds the materialised graph; leave out --no-materialise")
        target = Store(Path(store))
        loaded = target.ensure_kb(lambda: graph, source_fingerprint(source_dir))
        target.flush()
    written = write_outputs(graph, Path(output)) if output is not None else []
    return BuildResult(written, count_stats(graph), Path(store) if store is not None else None, loaded)


@dataclass
class StatsResult:
    counts: dict[str, int]
    exit_code: int = 0

    def as_dict(self) -> dict:
        return dict(self.counts)

    def text(self) -> str:
        width = max(len(kind) for kind in self.counts)
        return "".join(f"{kind:<{width}}  {n:>6}\n" for kind, n in self.counts.items())


def stats(*, source: str | Path | None = None) -> StatsResult:
    """Count the things in the built graph, per kind (and its triples)."""
    return StatsResult(count_stats(knowledge_graph(_source(source))))


@dataclass
class CheckResult:
    """Each quality check (queries/checks) with the rows it returned: (entity, problem)."""

    results: dict[str, list[tuple[str, str]]]

    @property
    def failed(self) -> dict[str, list[tuple[str, str]]]:
        return {name: rows for name, rows in self.results.items() if rows}

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def as_dict(self) -> dict:
        return {name: [{"entity": e, "problem": p} for e, p in rows] for name, rows in self.results.items()}

    def text(self) -> str:
        lines = []
        for name, rows in self.results.items():
            lines.append(f"{'FAIL' if rows else 'ok  '} {name}" + (f" ({len(rows)})" if rows else ""))
            lines += [f"       {compact(entity)}: {problem}" for entity, problem in rows]
        return "\n".join(lines) + "\n"


def check(*, source: str | Path | None = None, names: list[str] | None = None) -> CheckResult:
    """Run the quality checks (all, or those `names`) on the built graph; each must return no rows."""
    return CheckResult(run_checks(knowledge_graph(_source(source)), names))


def reason(*, source: str | Path | None = None) -> ReasonResult:
    """Run HermiT on the build without materialised inheritance: consistency, unsatisfiable classes and the
    inferred classification."""
    return run_reasoner(knowledge_graph(_source(source), materialise=False))


# ---- queries and lookup --------------------------------------------------------------------------------------
@dataclass
class QueryResult:
    """The result of a named query or query file: `result` is rdflib's, `text(fmt)` any output format."""

    result: Result
    exit_code: int = 0

    def as_dict(self) -> dict:
        """W3C SPARQL 1.1 JSON results (SELECT, ASK); for CONSTRUCT and DESCRIBE, the triples as N-Triples."""
        if self.result.type in ("CONSTRUCT", "DESCRIBE"):
            assert self.result.graph is not None
            return {"triples": sorted(canonical_graph(self.result.graph).serialize(format="nt").splitlines())}
        return json.loads(format_result(self.result, "json"))

    def text(self, fmt: str = "table") -> str:
        return format_result(self.result, fmt)

    @property
    def rows(self) -> list[dict[str, str]]:
        """SELECT solutions as {variable: value as text}, unbound variables left out."""
        names = [str(v) for v in self.result.vars or []]
        return [{n: str(row[n]) for n in names if row[n] is not None} for row in self.result]


def query(
    name_or_file: str | Path,
    *,
    data: Paths | None = None,
    store: str | Path | None = None,
    endpoint: str | None = None,
    graph: str = graphs.DATA,
    source: str | Path | None = None,
    **params: str,
) -> QueryResult:
    """Run a named query (`mesokg queries` lists them) or a SPARQL file, with `params` (an IRI, CURIE, local
    name, label, synonym or clinical code each) resolved to concepts and bound, never pasted into the query.
    `data` adds RDF files to the graph; `store` or `endpoint` ask that backend instead."""
    source_dir = _source(source)
    files = _paths(data)
    name = str(name_or_file)
    if endpoint is not None:
        if files:
            raise MesokgError("--data adds local files; with --endpoint load them first with 'mesokg load'")
        return QueryResult(run_remote_query(RemoteStore(endpoint, graph), knowledge_graph(source_dir), name, params))
    if store is not None:
        kb = knowledge_graph(source_dir)
        with Engine(lambda: kb, source_fingerprint(source_dir), Path(store)) as engine:
            loaded = engine.load(files)
            if loaded.errors:
                raise loaded.errors[0]
            return QueryResult(run_store_query(engine.store, kb, name, params))
    if files:
        target = Graph()
        target += knowledge_graph(source_dir)
        load_data(target, files)
    else:
        target = knowledge_graph(source_dir)
    return QueryResult(run_query(target, name, params))


@dataclass
class LookupResult:
    """The concepts a code, IRI, label or synonym names, with their clinical codes."""

    query: str
    concepts: list[Hit] = field(default_factory=list)
    hint: str = ""  # for a code that names nothing: the nearest mapped code above it

    @property
    def exit_code(self) -> int:
        return 0 if self.concepts else 1

    def as_dict(self) -> dict:
        return {"query": self.query, "concepts": [hit.as_dict() for hit in self.concepts]}

    def text(self) -> str:
        return lookup_text(self.query, self.concepts, self.hint) + "\n"


def lookup(text: str, *, source: str | Path | None = None) -> LookupResult:
    """What a clinical code (SNOMEDCT:77386006, ICD10CM:E11.65, ATC:B01AA03, ...), an IRI, CURIE, label or
    synonym names in the graph. A code below a mapped code resolves through its terminology's hierarchy."""
    graph = knowledge_graph(_source(source))
    hits = find_concepts(graph, text)
    return LookupResult(text, hits, "" if hits else nearest_hint(graph, text))


# ---- patient records -----------------------------------------------------------------------------------------
def validate(
    paths: Paths | None = None,
    *,
    engine: str = "auto",
    shapes: Paths | Graph | None = None,
    use_kb: bool = True,
    store: str | Path | None = None,
    source: str | Path | None = None,
    progress: bool = False,
    workers: int = 1,
    partition_size: int = PARTITION_SIZE,
) -> ValidationOutcome:
    """SHACL-validate patient records (files or directories: RDF in any syntax, FHIR R4 bundles, FHIR Bulk Data
    exports) against the patient shapes and the knowledge graph, or any data against your own `shapes` (files
    or a graph); `use_kb=False` validates the data alone. `engine`: auto, sparql (fast) or pyshacl (the
    reference). Bulk exports, and `workers` above 1, run in partitions (see validate_stream)."""
    files = _paths(paths)
    if workers > 1 or split_inputs(files)[0]:
        check_partitioned("validate", engine, store=store, shapes=shapes, use_kb=use_kb)
        return validate_stream(files, source=source, workers=workers, partition_size=partition_size).outcome()
    if not files and store is None:
        raise MesokgError("give patient files or directories to validate (or --store with a filled store)")
    if not use_kb and store is not None:
        raise MesokgError("--no-kb cannot be used with --store (the store holds the knowledge base)")
    if shapes is not None and not isinstance(shapes, Graph):
        shapes = load_shapes(_paths(shapes))
    if not use_kb:
        return run_validation(files, None, engine, None, "no-kb", progress, shapes=shapes, use_kb=False)
    source_dir = _source(source)
    kb = knowledge_graph(source_dir)
    path = Path(store) if store is not None else None
    return run_validation(files, kb, engine, path, source_fingerprint(source_dir), progress, shapes=shapes)


def screen(
    paths: Paths | None = None,
    *,
    treatment: str | None = None,
    engine: str = "sparql",
    store: str | Path | None = None,
    endpoint: str | None = None,
    graph: str = graphs.DATA,
    source: str | Path | None = None,
    progress: bool = False,
    workers: int = 1,
    partition_size: int = PARTITION_SIZE,
) -> ScreenOutcome:
    """Screen patients: each planned treatment (or `treatment`, for everyone) is contraindicated, caution or
    none, with every reason and its source. `store`: every patient of that store; `endpoint`: every patient
    an endpoint holds (loaded with `load`). Bulk exports, and `workers` above 1, run in partitions (see
    screen_stream)."""
    files = _paths(paths)
    if workers > 1 or split_inputs(files)[0]:
        check_partitioned("screen", engine, store=store, endpoint=endpoint)
        return screen_stream(
            files, treatment=treatment, source=source, workers=workers, partition_size=partition_size
        ).outcome()
    if endpoint is None and not files and store is None:
        raise MesokgError("give patient files or directories to screen (or --store with a filled store)")
    source_dir = _source(source)
    kb = knowledge_graph(source_dir)
    return run_screen(
        files,
        kb,
        treatment,
        engine,
        Path(store) if store is not None else None,
        source_fingerprint(source_dir),
        progress,
        endpoint=endpoint,
        data_graph=graph,
    )


def check_partitioned(command: str, engine: str, **options) -> None:
    """Refuse the options a partitioned run (bulk exports, --workers, -f jsonl) does not take: each partition
    is its own embedded store, validated by the compiled shapes (or screened by the rule) beside the
    knowledge base."""
    if engine not in ("auto", "sparql"):
        raise MesokgError(f"--engine {engine} cannot run in partitions (bulk exports, --workers, -f jsonl): use sparql")
    refused = [name for name, value in options.items() if value is not None and value is not True]
    if refused:
        flag = "--no-kb" if refused[0] == "use_kb" else f"--{refused[0]}"
        raise MesokgError(f"{flag} cannot be used with bulk exports, --workers or -f jsonl")


def screen_stream(
    paths: Paths,
    *,
    treatment: str | None = None,
    source: str | Path | None = None,
    workers: int = 1,
    partition_size: int = PARTITION_SIZE,
) -> ScreenStream:
    """Screen patients partition by partition, as `screen` does: iterate it for each PatientScreen as it is
    decided, or `write_jsonl(binary_file)` (what `-f jsonl` prints); `exit_code` once iterated. Bulk exports
    (directories of NDJSON) are read in partitions of about `partition_size` patients; `workers` processes
    decide partitions side by side (the results are the same as one's)."""
    files = _paths(paths)
    if not files:
        raise MesokgError("give patient files or directories to screen")
    return run_screen_stream(files, treatment, _source(source), workers, partition_size)


def validate_stream(
    paths: Paths, *, source: str | Path | None = None, workers: int = 1, partition_size: int = PARTITION_SIZE
) -> ValidationStream:
    """Validate patients partition by partition, as `validate` does (the compiled shapes): iterate it for
    each patient's PatientValidation, or `write_jsonl(binary_file, fail_on)`; `exit_code_for(fail_on)` once
    iterated."""
    files = _paths(paths)
    if not files:
        raise MesokgError("give patient files or directories to validate")
    return run_validate_stream(files, _source(source), workers, partition_size)


@dataclass
class ImportResult:
    """A FHIR bundle as mesokg patient records (Turtle), written to `output` if one was given."""

    graph: Graph
    output: Path | None = None
    exit_code: int = 0

    def as_dict(self) -> dict:
        return {"output": str(self.output) if self.output else None, "triples": len(self.graph)}

    def text(self) -> str:
        return canonical_graph(self.graph).serialize(format="turtle")


def import_fhir(
    bundle: str | Path, *, output: str | Path | None = None, source: str | Path | None = None
) -> ImportResult:
    """Read an HL7 FHIR R4 Bundle (JSON) into mesokg's patient model, codes resolved where mapped; with
    `output`, write it there as Turtle (whole or not at all; never over the bundle itself)."""
    bundle, target = Path(bundle), Path(output) if output is not None else None
    if target is not None and target.exists() and bundle.exists() and target.resolve() == bundle.resolve():
        raise InputError(f"{target}: refusing to overwrite the input bundle with its import")
    result = ImportResult(import_bundle(bundle, knowledge_graph(_source(source))), target)
    if target is not None:
        write_atomically(target, result.text())
    return result


@dataclass
class ExportResult:
    """Every mapping of ontology/mappings as one SSSOM/TSV mapping set."""

    tsv: str
    output: Path | None = None
    exit_code: int = 0

    def as_dict(self) -> dict:
        rows = [line for line in self.tsv.splitlines() if line and not line.startswith("#")]
        return {"output": str(self.output) if self.output else None, "mappings": max(len(rows) - 1, 0)}

    def text(self) -> str:
        return self.tsv


def export_sssom(*, output: str | Path | None = None, source: str | Path | None = None) -> ExportResult:
    """The merged SSSOM/TSV mapping set; with `output`, written there whole or not at all."""
    target = Path(output) if output is not None else None
    result = ExportResult(merged_sssom(_source(source)), target)
    if target is not None:
        write_atomically(target, result.tsv)
    return result


@dataclass
class LoadResult:
    """What `load` put into a SPARQL store."""

    files: list[Path]
    errors: list[InputError]
    endpoint: str
    graph: str

    @property
    def exit_code(self) -> int:
        return 2 if self.errors else 0

    def as_dict(self) -> dict:
        return {
            "files": [str(f) for f in self.files],
            "errors": [str(e) for e in self.errors],
            "endpoint": self.endpoint,
            "graph": self.graph,
        }

    def text(self) -> str:
        return f"loaded {len(self.files)} file(s) into {self.graph} at {self.endpoint}\n"


def load(
    paths: Paths,
    *,
    endpoint: str,
    graph: str = graphs.DATA,
    source: str | Path | None = None,
    partition_size: int = PARTITION_SIZE,
) -> LoadResult:
    """Load patient records (RDF or FHIR, codes resolved) and the knowledge graph into a SPARQL store through
    its Graph Store Protocol `endpoint`: the knowledge graph replaces urn:mesokg:graph:kb, the records are
    added to `graph`."""
    source_dir = _source(source)
    files = _paths(paths)
    if split_inputs(files)[0]:  # bulk exports: partition by partition, in bounded memory
        loaded = load_partitioned(files, endpoint, graph, source_dir, partition_size)
    else:
        kb = knowledge_graph(source_dir)
        loaded = load_endpoint(endpoint, files, kb, source_fingerprint(source_dir), graph)
    return LoadResult(loaded.files, loaded.errors, endpoint, graph)
