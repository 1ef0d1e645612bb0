"""Reading a FHIR Bulk Data export: a directory of NDJSON files (one resource a line, any file names, several
files per type allowed), grouped by patient and converted patient by patient with mesokg.fhir's converter.

The export is read in one streaming pass that writes each resource line into one of several partition files
on disk, chosen by a stable hash of the patient it belongs to (Patient.id, or the Patient a resource's
`subject` / `patient` names); Medication resources, which many patients share, go into a small SQLite table
that every partition reads. A partition is then read back alone, its lines grouped per patient, and each
patient becomes a FHIR Bundle of its own resources (and the Medications they name) for `bundle_data_to_graph`:
one converter for bundles and exports. Memory is bounded by a partition, not by the export.

Node IRIs do not depend on how patients are partitioned: with a `manifest.json` whose `request` names the
kick-off URL, a resource's IRI is the server's URL for it (`[base]/Type/id`); without one, the converter's
derived urn:uuid of Type/id in one fixed scope (`urn:mesokg:bulk-export`); a resource without an id gets a
urn:uuid derived from its content.

Every bad line is one InputError naming the file and line: bad JSON, not a resource, an unknown resource type,
a reference to no Patient of the export, a Patient id used twice, and anything the converter refuses (a
resource failing fhir.resources validation, a treatment code naming no treatment). A patient with a bad
resource line is left out (screening it without that line could hide a contraindication); every other patient
is read. Resource types the converter does not read (Encounter, ...) are skipped unvalidated.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from mesokg.errors import InputError, located
from mesokg.fhir import bundle_data_to_graph, is_resource_type

SUFFIX = ".ndjson"
MANIFEST = "manifest.json"
PARTITION_SIZE = 10_000  # patients a partition holds, by default
SCOPE = {"system": "urn:mesokg:bulk-export", "value": "bulk"}  # the one scope of derived node IRIs
# the element of each resource type read that names its patient (None: the Patient itself)
PATIENT_ELEMENT = {
    "Patient": None,
    "Condition": "subject",
    "MedicationStatement": "subject",
    "MedicationRequest": "subject",
    "AllergyIntolerance": "patient",
    "Observation": "subject",
    "Procedure": "subject",
    "ServiceRequest": "subject",
}
SHARED = "Medication"
FHIR_ID = r"[A-Za-z0-9.\-]{1,64}"
PATIENT_REFERENCE = re.compile(rf"(?:\S*/)?Patient/(?P<id>{FHIR_ID})(?:/_history/\S+)?")
MEDICATION_REFERENCE = re.compile(rf"(?:\S*/)?Medication/(?P<id>{FHIR_ID})(?:/_history/\S+)?")
KICK_OFF = re.compile(rf"(?P<base>https?://\S+?/)(?:Patient/|Group/{FHIR_ID}/)?\$export")
LABEL = "<bulk>"  # the name a patient's bundle is converted under; errors are located at the lines instead
BUFFERED = 32 * 1024 * 1024  # bytes of partition lines held before they are appended to the partition files


class LineError(InputError):
    """A bad line of an NDJSON file: the message is `FILE:LINE: problem`; `file` and `line` are kept apart."""

    def __init__(self, file: str, line: int, message: str, column: int | None = None) -> None:
        super().__init__(located(file, message, line, column))
        self.file, self.line, self.problem, self.column = file, line, message, column

    def __reduce__(self):  # crosses from worker processes as itself
        return LineError, (self.file, self.line, self.problem, self.column)


@dataclass(frozen=True)
class Export:
    """One bulk export: its NDJSON files, and the FHIR server base of its resources (from manifest.json)."""

    root: Path
    files: tuple[Path, ...]
    base: str | None = None


@dataclass(frozen=True)
class Resource:
    """One resource line: where it is, and its JSON."""

    file: str
    line: int
    data: dict


@dataclass
class PatientGroup:
    """One patient's resources (the Patient first, then the others in file and line order)."""

    export: int
    patient: str  # the Patient's id
    resources: list[Resource] = field(default_factory=list)


def is_export(path: Path) -> bool:
    """A bulk export: a directory holding NDJSON files, or one NDJSON file."""
    if path.is_dir():
        return any(p.is_file() and p.suffix.lower() == SUFFIX for p in path.iterdir())
    return path.suffix.lower() == SUFFIX


def split_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(bulk exports, other inputs) among the paths given."""
    exports, others = [], []
    for path in map(Path, paths):
        (exports if is_export(path) else others).append(path)
    return exports, others


def read_export(path: Path) -> Export:
    """The export at `path`: its NDJSON files (sorted by name) and the server base its manifest names."""
    if not path.is_dir():
        return Export(path.parent, (path,))
    files = tuple(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == SUFFIX))
    base = None
    manifest = path / MANIFEST
    if manifest.is_file():
        try:
            data = orjson.loads(manifest.read_bytes())
        except (OSError, orjson.JSONDecodeError) as error:
            raise InputError(located(manifest, f"not a bulk-export manifest: {error}")) from None
        request = data.get("request") if isinstance(data, dict) else None
        found = KICK_OFF.fullmatch(request.split("?", 1)[0]) if isinstance(request, str) else None
        base = found.group("base") if found else None
    return Export(path, files, base)


# ---- one line ----------------------------------------------------------------------------------------------------
def classify(data, file: str, line: int) -> tuple[str, str | None]:
    """What a parsed line is: ("patient", patient id) for a resource of a patient, ("shared", id) for a
    Medication, ("skip", None) for a resource type the converter does not read. Raises LineError."""
    if not isinstance(data, dict):
        raise LineError(file, line, "not a FHIR resource: the line is not a JSON object")
    kind = data.get("resourceType")
    if not isinstance(kind, str):
        raise LineError(file, line, 'not a FHIR resource: no "resourceType"')
    if kind == SHARED:
        return ("shared", data["id"]) if isinstance(data.get("id"), str) else ("skip", None)
    if kind not in PATIENT_ELEMENT:
        if not is_resource_type(kind):
            raise LineError(file, line, f"$.resourceType: {orjson.dumps(kind).decode()} is not a FHIR R4 resource type")
        return "skip", None
    element = PATIENT_ELEMENT[kind]
    if element is None:
        if not isinstance(data.get("id"), str):
            raise LineError(file, line, "$.id: a Patient of a bulk export needs an id")
        return "patient", data["id"]
    reference = data.get(element)
    text = reference.get("reference") if isinstance(reference, dict) else None
    found = PATIENT_REFERENCE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        named = repr(text) if text else "nothing"
        raise LineError(file, line, f"$.{element}: {kind} refers to {named}, which is no Patient of this export")
    return "patient", found.group("id")


def parse(raw: bytes, file: str, line: int):
    """A line's JSON; raises LineError."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise LineError(file, line, f"malformed JSON: {error.msg}", error.colno) from None


def lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-blank line of an NDJSON file."""
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            if raw.strip():
                yield number, raw.rstrip(b"\r\n")


# ---- partitioning ------------------------------------------------------------------------------------------------
@dataclass
class Partitioned:
    """An export written as partitions: the partition files, the Medication table, the files read, and one
    error per bad line found while partitioning."""

    exports: list[Export]
    partitions: list[Path]
    medications: Path
    files: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def count_partitions(exports: list[Export], size: int) -> int:
    """Enough partitions for `size` patients each, counted from the files whose first line is a Patient."""
    patients = 0
    for export in exports:
        for path in export.files:
            first = next(lines(path), None)
            if first is not None and b'"Patient"' in first[1] and _kind(first[1]) == "Patient":
                patients += sum(1 for _ in lines(path))
    return max(1, math.ceil(patients / max(1, size)))


def _kind(raw: bytes) -> str | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data.get("resourceType") if isinstance(data, dict) else None


def partition_of(export: int, patient: str, count: int) -> int:
    """The partition of a patient: a hash stable across processes and runs (Python's hash() is not)."""
    return zlib.crc32(f"{export}/{patient}".encode()) % count


def partition_exports(paths: list[Path], workdir: Path, size: int = PARTITION_SIZE) -> Partitioned:
    """Stream every line of the exports into `workdir`: partition files of about `size` patients each, and
    the Medication table."""
    exports = [read_export(path) for path in paths]
    count = count_partitions(exports, size)
    partitions = [workdir / f"partition-{index:05d}.txt" for index in range(count)]
    table = Medications.create(workdir / "medications.sqlite")
    done = Partitioned(exports, partitions, table.path)
    buffers: list[list[bytes]] = [[] for _ in partitions]
    held = 0
    for number, export in enumerate(exports):
        for path in export.files:
            done.files.append(path)
            for line, raw in lines(path):
                try:
                    data = parse(raw, str(path), line)
                    kind, key = classify(data, str(path), line)
                except LineError as error:
                    done.errors.append(error)
                    continue
                if kind == "shared":
                    error = table.add(number, key, Resource(str(path), line, data), raw)
                    if error is not None:
                        done.errors.append(error)
                elif kind == "patient":
                    record = orjson.dumps([number, key, str(path), line]) + b"\t" + raw + b"\n"
                    buffers[partition_of(number, key, count)].append(record)
                    held += len(record)
                    if held > BUFFERED:
                        held = _flush(buffers, partitions)
    _flush(buffers, partitions)
    table.close()
    return done


def _flush(buffers: list[list[bytes]], partitions: list[Path]) -> int:
    for buffer, path in zip(buffers, partitions, strict=True):
        with path.open("ab") as stream:  # created even when empty: every partition exists
            stream.writelines(buffer)
        buffer.clear()
    return 0


def read_partition(path: Path) -> Iterator[tuple[int, str, Resource]]:
    """(export, patient id, resource) for every line of a partition file."""
    with path.open("rb") as stream:
        for raw in stream:
            header, line = raw.rstrip(b"\n").split(b"\t", 1)
            export, patient, file, number = orjson.loads(header)
            yield export, patient, Resource(file, number, orjson.loads(line))


def group_patients(records: Iterable[tuple[int, str, Resource]]) -> tuple[list[PatientGroup], list[InputError]]:
    """The patients of some resource lines, each with its resources, sorted by export and patient id; an error
    for every line of a patient the lines do not hold, and for a Patient id used twice (that patient is left
    out)."""
    groups: dict[tuple[int, str], PatientGroup] = {}
    for export, patient, resource in records:
        groups.setdefault((export, patient), PatientGroup(export, patient)).resources.append(resource)
    found, errors = [], []
    for key in sorted(groups):
        group = groups[key]
        group.resources.sort(key=lambda r: (r.file, r.line))
        patients = [r for r in group.resources if r.data.get("resourceType") == "Patient"]
        if not patients:
            for r in group.resources:
                element = PATIENT_ELEMENT[r.data["resourceType"]]
                errors.append(
                    LineError(
                        r.file,
                        r.line,
                        f"$.{element}: {r.data['resourceType']} refers to 'Patient/{group.patient}', which is no "
                        "Patient of this export",
                    )
                )
            continue
        if len(patients) > 1:
            first = patients[0]
            errors += [
                LineError(
                    r.file,
                    r.line,
                    f"$.id: Patient/{group.patient} is also at {first.file}:{first.line} (patient left out)",
                )
                for r in patients[1:]
            ]
            continue
        group.resources.remove(patients[0])
        group.resources.insert(0, patients[0])
        found.append(group)
    return found, errors


# ---- the Medication table ----------------------------------------------------------------------------------------
class Medications:
    """Medication resources by (export, id), in SQLite on disk, shared by every partition (read-only)."""

    def __init__(self, path: Path, connection: sqlite3.Connection | None = None) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def create(cls, path: Path) -> Medications:
        connection = sqlite3.connect(path)
        connection.execute(
            "CREATE TABLE medication (export INTEGER, id TEXT, file TEXT, line INTEGER, json BLOB, "
            "PRIMARY KEY (export, id))"
        )
        return cls(path, connection)

    def add(self, export: int, key: str, resource: Resource, raw: bytes) -> InputError | None:
        assert self._db is not None
        row = (export, key, resource.file, resource.line, raw)
        if self._db.execute("INSERT OR IGNORE INTO medication VALUES (?, ?, ?, ?, ?)", row).rowcount:
            return None
        first = self.get((export, key))
        assert first is not None
        return LineError(resource.file, resource.line, f"$.id: Medication/{key} is also at {first.file}:{first.line}")

    def get(self, key: tuple[int, str]) -> Resource | None:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        row = self._db.execute(
            "SELECT file, line, json FROM medication WHERE export = ? AND id = ?", (key[0], key[1])
        ).fetchone()
        return Resource(row[0], row[1], orjson.loads(row[2])) if row is not None else None

    def close(self) -> None:
        if self._db is not None:
            self._db.commit()
            self._db.close()
            self._db = None


# ---- one patient as a bundle -------------------------------------------------------------------------------------
def patient_bundle(
    group: PatientGroup, base: str | None, medications: Mapping | Medications
) -> tuple[dict, list[Resource]]:
    """The patient's resources, and the Medications they name, as one FHIR Bundle (and each entry's line)."""
    shown = list(group.resources)
    named = set()
    for resource in group.resources:
        reference = resource.data.get("medicationReference")
        text = reference.get("reference") if isinstance(reference, dict) else None
        found = MEDICATION_REFERENCE.fullmatch(text) if isinstance(text, str) else None
        if found is not None and found.group("id") not in named:
            named.add(found.group("id"))
            medication = medications.get((group.export, found.group("id")))
            if medication is not None:
                shown.append(medication)
    entries = []
    for resource in shown:
        entry = {"resource": resource.data}
        url = full_url(resource.data, base)
        if url is not None:
            entry["fullUrl"] = url
        entries.append(entry)
    return {"resourceType": "Bundle", "identifier": SCOPE, "type": "collection", "entry": entries}, shown


def full_url(data: dict, base: str | None) -> str | None:
    """The server's URL of a resource (with a base), a urn:uuid of its content (without an id), or None (the
    converter then derives the IRI from Type/id in the export's scope)."""
    kind, key = data.get("resourceType"), data.get("id")
    if not isinstance(key, str):
        digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{SCOPE['system']}/{digest}").urn
    return f"{base}{kind}/{key}" if base is not None else None


ENTRY = re.compile(r"\$\.entry\[(?P<index>\d+)\](?:\.resource)?")


def convert(group: PatientGroup, base: str | None, medications, treatments=None) -> bytes:
    """The patient as N-Triples, by mesokg.fhir's converter; raises LineError at the line at fault."""
    bundle, shown = patient_bundle(group, base, medications)
    try:
        graph = bundle_data_to_graph(bundle, LABEL, treatments)
    except InputError as error:
        message = str(error).removeprefix(f"{LABEL}: ")
        found = ENTRY.match(message)
        at = shown[int(found.group("index"))] if found is not None else shown[0]
        message = "$" + message[found.end() :] if found is not None else message
        message = message.replace("of this bundle", "of this export").replace("in this bundle", "in this export")
        raise LineError(at.file, at.line, f"{message} (patient Patient/{group.patient} left out)") from None
    return graph.serialize(format="nt", encoding="utf-8")
