"""Validation and screening partition by partition: bulk exports in patient partitions (mesokg.bulk), other
inputs as they are, run in this process or in worker processes (`--workers N`), results streamed as each
partition is decided.

Per-patient work is independent, so a partition is validated or screened alone, in an embedded store of its
own with the knowledge base: the same Engine, the same rule and the same results as one store holding
everything. Each process builds its context once, through the normal `graph.knowledge_graph()` path (so it
shares whatever that caches): the knowledge graph, its treatments, the compiled shapes, the treatment asked
for. Worker processes are started with `spawn` (no state copied from a process that runs threads).
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from mesokg.bulk import (
    PARTITION_SIZE,
    LineError,
    Medications,
    PatientGroup,
    convert,
    group_patients,
    partition_exports,
    read_partition,
    split_inputs,
)
from mesokg.engine import PREFIX, Engine, load_endpoint
from mesokg.errors import InputError, MesokgError
from mesokg.fhir import looks_like_fhir
from mesokg.graph import knowledge_graph, source_fingerprint
from mesokg.namespace import MESOKG
from mesokg.prefixes import compact
from mesokg.rdfio import expand_paths
from mesokg.resolve import resolve
from mesokg.results import Part, PatientValidation, ScreenStream, ValidationStream, result_key
from mesokg.rule import patient_shapes
from mesokg.sparql_shacl import EvaluationError, compile_shapes
from mesokg.store import Loaded

COMMANDS = ("screen", "validate", "load")


@dataclass(frozen=True)
class Job:
    """What every partition of a run does: `command` (screen, validate or load), with its options."""

    command: str
    treatment: str | None = None
    source: Path | None = None
    endpoint: str | None = None  # load: the Graph Store Protocol endpoint
    graph: str | None = None  # load: the named graph of the records


@dataclass(frozen=True)
class Work:
    """One partition: input files read together into one store, or a partition file of bulk exports (with each
    export's server base and the Medication table)."""

    files: tuple[Path, ...] = ()
    partition: Path | None = None
    bases: tuple[str | None, ...] = ()
    medications: Path | None = None


class Context:
    """What a process builds once per job: the knowledge graph (graph.knowledge_graph), its fingerprint and
    treatments, the patient shapes compiled, and the treatment asked for."""

    def __init__(self, job: Job) -> None:
        self.kb = knowledge_graph(job.source)
        self.fingerprint = source_fingerprint(job.source)
        self.treatments = frozenset(t for t in self.kb.subjects(RDF.type, MESOKG.Treatment) if isinstance(t, URIRef))
        self.given = resolve(self.kb, job.treatment, "treatment", "--treatment") if job.treatment else None
        self.shapes: Graph = patient_shapes()
        self.plans = compile_shapes(self.shapes) if job.command == "validate" else None


_CONTEXTS: dict[Job, Context] = {}


def context(job: Job) -> Context:
    """This process's context for `job`, built on first use (the worker initializer builds it at start)."""
    found = _CONTEXTS.get(job)
    if found is None:
        found = _CONTEXTS[job] = Context(job)
    return found


# ---- one partition -------------------------------------------------------------------------------------------
def run_work(job: Job, work: Work) -> Part:
    """Validate, screen or load one partition."""
    if work.partition is None:
        return run_files(job, list(work.files))
    records, errors = group_patients(read_partition(work.partition))
    medications = Medications(work.medications) if work.medications is not None else {}
    try:
        part = run_groups(job, records, work.bases, medications)
    finally:
        if isinstance(medications, Medications):
            medications.close()
    part.errors = errors + part.errors
    return part


def run_groups(job: Job, groups: Iterable[PatientGroup], bases, medications) -> Part:
    """Patients of a bulk export: each converted from FHIR (a bad one is an error at its line, and left out),
    then all of them validated, screened or loaded together. `bases`: each export's server base;
    `medications`: (export, id) -> the Medication resource."""
    treatments = context(job).treatments
    errors: list[InputError] = []
    chunks = []
    for group in groups:
        try:
            chunks.append(convert(group, bases[group.export] if bases else None, medications, treatments))
        except LineError as error:
            errors.append(error)
    if not chunks:
        return Part(errors=errors)
    with tempfile.TemporaryDirectory(prefix="mesokg-partition-") as directory:
        path = Path(directory) / "partition.nt"
        path.write_bytes(b"".join(chunks))
        part = run_files(job, [path])
    part.errors, part.files = errors + part.errors, []
    return part


def run_files(job: Job, files: list[Path]) -> Part:
    """Files read into one store of their own (beside the knowledge base) and validated, screened or loaded."""
    found = context(job)
    if job.command == "load":
        assert job.endpoint is not None and job.graph is not None
        loaded = load_endpoint(job.endpoint, files, found.kb, found.fingerprint, job.graph, replace_kb=False)
        return Part(errors=loaded.errors, files=loaded.files)
    with Engine(lambda: found.kb, found.fingerprint, shapes=found.shapes) as engine:
        loaded = engine.load(files)
        part = Part(errors=loaded.errors, files=loaded.files)
        if not loaded.files:
            return part
        if job.command == "screen":
            part.patients = engine.screen(found.given)
            return part
        try:
            results = engine.validate(found.plans, check=loaded.files)
        except EvaluationError as error:
            raise MesokgError(
                f"the SPARQL engine cannot evaluate the shapes on this data: {error} (validate without --workers, "
                "-f jsonl or a bulk export to hand it to pySHACL)"
            ) from None
        part.patients = by_patient(results, _patients(engine))
        part.violations = engine.violations
        return part


def _patients(engine: Engine) -> list[str]:
    """The patients of the store with an IRI, named as validation results name them (a CURIE or the IRI)."""
    rows = engine.store.select(f"{PREFIX}SELECT DISTINCT ?p WHERE {{ ?p a mesokg:Patient }}")
    return [compact(row["p"].value) for row in rows if isinstance(row["p"], ox.NamedNode)]


def by_patient(results, patients: list[str]) -> list[PatientValidation]:
    """Every patient with its results (none: it conforms), results on no patient first, sorted by patient."""
    grouped: dict[str | None, PatientValidation] = {name: PatientValidation(name) for name in patients}
    for result in sorted(results, key=result_key):
        grouped.setdefault(result.patient, PatientValidation(result.patient)).results.append(result)
    return sorted(grouped.values(), key=lambda p: p.patient or "")


# ---- a run ---------------------------------------------------------------------------------------------------
def run(job: Job, paths: Iterable[Path], workers: int = 1, partition_size: int = PARTITION_SIZE) -> Iterator[Part]:
    """Every partition of the inputs, decided in order: first the inputs that cannot be read and the bad lines
    of bulk exports, then other inputs (RDF files together; with several workers, FHIR bundles in groups of
    files), then the bulk exports' partitions of about `partition_size` patients."""
    if job.command not in COMMANDS:
        raise MesokgError(f"unknown command {job.command!r}; known: {', '.join(COMMANDS)}")
    exports, others = split_inputs(paths)
    files, errors = expand_paths(others) if others else ([], [])
    yield Part(errors=errors)
    with tempfile.TemporaryDirectory(prefix="mesokg-bulk-") as directory:
        works = file_works(files, workers, partition_size)
        if exports:
            done = partition_exports(exports, Path(directory), partition_size)
            yield Part(errors=done.errors, files=done.files)
            bases = tuple(export.base for export in done.exports)
            works += [Work(partition=path, bases=bases, medications=done.medications) for path in done.partitions]
        yield from execute(job, works, workers)


def file_works(files: list[Path], workers: int, size: int) -> list[Work]:
    """Inputs other than bulk exports: one partition, or with several workers, RDF files together (a patient
    may span them) and FHIR bundles (each complete in itself) split into groups of files."""
    if not files:
        return []
    if workers <= 1:
        return [Work(files=tuple(files))]
    bundles, rdf = [], []
    for path in files:
        try:
            with path.open("rb") as stream:
                (bundles if looks_like_fhir(stream.read(512)) else rdf).append(path)
        except OSError:
            rdf.append(path)  # the load reports it
    works = [Work(files=tuple(rdf))] if rdf else []
    if bundles:
        count = max(workers, -(-len(bundles) // max(1, size)))
        step = -(-len(bundles) // count)
        works += [Work(files=tuple(bundles[i : i + step])) for i in range(0, len(bundles), step)]
    return works


def execute(job: Job, works: list[Work], workers: int = 1) -> Iterator[Part]:
    """The partitions' results in order; with several workers, in worker processes, a few partitions ahead."""
    if workers <= 1 or len(works) <= 1:
        for work in works:
            yield run_work(job, work)
        return
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(works)), mp_context=spawn, initializer=context, initargs=(job,)) as pool:
        pending: deque = deque()
        todo = iter(works)
        for work in todo:
            pending.append(pool.submit(run_work, job, work))
            if len(pending) >= 2 * workers:
                break
        while pending:
            part = pending.popleft().result()
            following = next(todo, None)
            if following is not None:
                pending.append(pool.submit(run_work, job, following))
            yield part


def screen_stream(
    paths, treatment: str | None = None, source: Path | None = None, workers: int = 1, partition_size=PARTITION_SIZE
) -> ScreenStream:
    return ScreenStream(run(Job("screen", treatment, source), paths, workers, partition_size))


def validate_stream(
    paths, source: Path | None = None, workers: int = 1, partition_size=PARTITION_SIZE
) -> ValidationStream:
    return ValidationStream(run(Job("validate", None, source), paths, workers, partition_size), patient_shapes())


def load_partitioned(
    paths, endpoint: str, graph: str, source: Path | None = None, partition_size=PARTITION_SIZE
) -> Loaded:
    """Load inputs (bulk exports partition by partition) into a SPARQL store: the knowledge graph once, then
    each partition's records with their codes resolved."""
    job = Job("load", None, source, endpoint, graph)
    found = context(job)
    first = load_endpoint(endpoint, [], found.kb, found.fingerprint, graph)  # the knowledge graph alone
    loaded = Loaded(errors=first.errors)
    for part in run(job, paths, 1, partition_size):
        loaded.errors += part.errors
        loaded.files += part.files
    return loaded
