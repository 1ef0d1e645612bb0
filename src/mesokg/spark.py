"""Apache Spark: screen or validate the lines of FHIR Bulk Data exports (NDJSON) on a cluster.

`pip install "mesokg[spark]"`, then, with `lines` an RDD or DataFrame of the export's lines:

    from mesokg.spark import screen_partitions
    records = screen_partitions(lines, treatment="mesokg:methylxanthine-cellulite-mesotherapy")
    records.saveAsTextFile("screened/")  # the records of `mesokg screen -f jsonl`, one a line

The lines are parsed and grouped by patient (`groupByKey`, so a patient's resources meet in one Spark
partition, whatever file they came from); Medication resources, which patients share, are collected and
broadcast. Each Spark partition is then decided with `mapPartitions` by the code `mesokg screen` runs
(mesokg.partitions): every patient converted from FHIR by mesokg.fhir, all of them screened or validated in
one embedded store beside the knowledge base. Each Python worker process builds its context (the knowledge
graph, through graph.knowledge_graph, and the compiled shapes) once and keeps it for every partition it
decides; Spark reuses its Python workers by default (spark.python.worker.reuse).

The records are those of `-f jsonl` (README, Output formats): `patient` and `error` records, and a `reason`
record before the first patient of a Spark partition that refers to it (so a reason is written once per
Spark partition, not once per patient; readers key reasons by their id, which is derived from the content).
There is no `summary` record: count the records instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from mesokg.bulk import LineError, Resource, classify, group_patients, parse
from mesokg.partitions import Job, run_groups
from mesokg.results import JsonlWriter

INPUT = "<input>"  # the file name of lines given without one


def screen_partitions(
    lines, *, treatment: str | None = None, source: str | Path | None = None, base: str | None = None, partitions=None
):
    """Screen every patient of the export lines (an RDD of str, an RDD of (file, line number, str), or a
    DataFrame with a `value` column and optionally `file` and `line`) for their planned treatments, or
    `treatment` for everyone: an RDD of `-f jsonl` records. `base`: the FHIR server base of the resources
    (a manifest's; node IRIs are then the server's URLs); `partitions`: how many Spark partitions to group
    patients into (default: Spark's)."""
    return _decide(lines, Job("screen", treatment, _path(source)), base, partitions)


def validate_partitions(lines, *, source: str | Path | None = None, base: str | None = None, partitions=None):
    """Validate every patient of the export lines (as screen_partitions takes them) against the patient
    shapes: an RDD of `-f jsonl` records of `mesokg validate`."""
    return _decide(lines, Job("validate", None, _path(source)), base, partitions)


def _path(source: str | Path | None) -> Path | None:
    return Path(source).resolve() if source is not None else None


def _decide(lines, job: Job, base: str | None, partitions):
    numbered = _numbered(lines)
    parsed = numbered.map(_classified).cache()
    shared: dict = {}
    duplicates = []
    for key, resource in sorted(
        parsed.filter(lambda r: r[0] == "shared").map(lambda r: (r[1], r[2])).collect(),
        key=lambda pair: (pair[1].file, pair[1].line),
    ):
        if key in shared:
            first = shared[key]
            also = f"$.id: Medication/{key[1]} is also at {first.file}:{first.line}"
            duplicates.append(LineError(resource.file, resource.line, also))
        else:
            shared[key] = resource
    context = numbered.context
    medications = context.broadcast(shared)
    grouped = parsed.filter(lambda r: r[0] == "patient").map(lambda r: (r[1], r[2])).groupByKey(partitions)
    decided = grouped.mapPartitions(lambda groups: _run(job, groups, base, medications.value))
    errors = parsed.filter(lambda r: r[0] == "error").map(lambda r: r[2])
    errors = errors.union(context.parallelize(duplicates, 1)) if duplicates else errors
    return errors.map(_error_record).union(decided)


def _numbered(lines):
    """The lines as an RDD of (file, line number, text)."""
    if hasattr(lines, "columns") and hasattr(lines, "rdd"):  # a DataFrame
        if "file" in lines.columns and "line" in lines.columns:
            return lines.select("file", "line", "value").rdd.map(tuple)
        lines = lines.select("value").rdd.map(lambda row: row[0])
    return lines.zipWithIndex().map(
        lambda pair: (INPUT, pair[1] + 1, pair[0]) if isinstance(pair[0], str) else tuple(pair[0])
    )


def _classified(numbered: tuple) -> tuple:
    """("patient", (0, patient id), Resource), ("shared", (0, id), Resource), ("error", None, LineError) or
    ("skip", None, None) for one numbered line."""
    file, line, text = numbered
    if not text.strip():
        return "skip", None, None
    try:
        data = parse(text.encode("utf-8") if isinstance(text, str) else text, file, line)
        kind, key = classify(data, file, line)
    except LineError as error:
        return "error", None, error
    return (kind, (0, key), Resource(file, line, data)) if kind != "skip" else ("skip", None, None)


def _run(job: Job, groups: Iterable, base: str | None, medications: dict) -> Iterator[str]:
    records = ((export, patient, resource) for (export, patient), found in groups for resource in found)
    patients, errors = group_patients(records)
    part = run_groups(job, patients, (base,), medications)
    out = io.BytesIO()
    writer = JsonlWriter(out)
    for error in errors + part.errors:
        writer.error(error)
    for patient in part.patients:
        (writer.screened if job.command == "screen" else writer.validated)(patient)
    yield from out.getvalue().decode("utf-8").splitlines()


def _error_record(error: LineError) -> str:
    out = io.BytesIO()
    JsonlWriter(out).error(error)
    return out.getvalue().decode("utf-8").rstrip("\n")


__all__ = ["screen_partitions", "validate_partitions"]
