"""The result types every engine and backend returns, with their JSON form (`as_dict`) and text (`text`).

Validation results, screening findings and their reasons, and the clinical codes attached to them are the
contract of the command line's JSON output (docs/DESIGN.md); the engines only fill them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, SH, XSD

from mesokg.errors import InputError
from mesokg.prefixes import bind_prefixes, compact
from mesokg.rdfio import canonical_graph


@dataclass(frozen=True)
class Code:
    """One mapping of a concept to a clinical code, as a clinical system would display it."""

    curie: str
    system: str | None  # the FHIR Coding.system URI, where FHIR names the code system
    code: str
    match: str  # exactMatch, closeMatch, narrowMatch (the code is narrower), broadMatch (the code is broader)
    display: str | None  # the code's title from shipped code data; None where its licence forbids (SNOMED CT)


@dataclass(frozen=True)
class Reason:
    kind: str
    concept: str
    conceptLabel: str  # noqa: N815 - the JSON field name of the contract
    strength: str
    source: str
    contraindicatedIn: str  # noqa: N815
    via: str | None
    assertion: str
    rationale: str | None
    codes: tuple[Code, ...] = ()  # the concept's mappings to clinical terminologies
    recordCodes: tuple[str, ...] = ()  # noqa: N815 - the codes the patient's record itself gave (CURIEs)
    contraindicatedInCodes: tuple[Code, ...] = ()  # noqa: N815

    def describe(self) -> str:
        via = f" via {compact(self.via)}" if self.via else ""
        coded = f" (coded {', '.join(self.recordCodes)})" if self.recordCodes else ""
        return (
            f"{self.kind} {self.conceptLabel}{coded}: {self.strength} contraindication in "
            f"{compact(self.contraindicatedIn)}{via} (source: {self.source})"
        )


@dataclass
class Finding:
    treatment: str
    treatmentLabel: str  # noqa: N815
    status: str
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class PatientScreen:
    patient: str
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ScreenOutcome:
    patients: list[PatientScreen] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(f.status != "none" for p in self.patients for f in p.findings)

    @property
    def exit_code(self) -> int:
        """2 if an input could not be read, else 1 if any finding is not "none", else 0."""
        return 2 if self.errors else 1 if self.flagged else 0

    def text(self) -> str:
        return screen_text(self)

    def as_dict(self) -> dict:
        """The JSON contract of DESIGN.md (built by hand: dataclasses.asdict deep-copies, which costs seconds
        for a hundred thousand patients)."""
        made: dict[int, dict] = {}  # a reason shared by many patients becomes one dict, not one each

        def reason_dict(reason: Reason) -> dict:
            found = made.get(id(reason))
            if found is None:
                found = made[id(reason)] = _reason_dict(reason)
            return found

        return {
            "patients": [
                {
                    "patient": p.patient,
                    "findings": [
                        {
                            "treatment": f.treatment,
                            "treatmentLabel": f.treatmentLabel,
                            "status": f.status,
                            "reasons": [reason_dict(r) for r in f.reasons],
                        }
                        for f in p.findings
                    ],
                }
                for p in self.patients
            ]
        }


def _reason_dict(reason: Reason) -> dict:
    fields = dict(reason.__dict__)
    for name in ("codes", "contraindicatedInCodes"):
        fields[name] = [dict(code.__dict__) for code in fields[name]]
    fields["recordCodes"] = list(fields["recordCodes"])
    return fields


def screen_text(outcome: ScreenOutcome) -> str:
    lines = []
    for screened in outcome.patients:
        lines.append(f"patient {screened.patient}")
        if not screened.findings:
            lines.append("  no planned treatment to screen")
        for finding in screened.findings:
            lines.append(f"  {finding.status.upper():<15} {finding.treatmentLabel}")
            for r in finding.reasons:
                lines.append(f"    - {r.describe()}")
        lines.append("")
    return "\n".join(lines)


SEVERITY_ORDER = {"Info": 0, "Warning": 1, "Violation": 2}


@dataclass(frozen=True)
class ValidationResult:
    patient: str | None
    focus: str
    shape: str
    component: str
    severity: str
    message: str
    value: str | None = None
    path: str | None = None
    reasons: tuple[str, ...] = ()
    # of a sh:node result: the results of validating the value against the node shape (sh:detail)
    details: tuple[ValidationResult, ...] = ()

    def as_dict(self) -> dict:
        return {**self.__dict__, "reasons": list(self.reasons), "details": [d.as_dict() for d in self.details]}


def sorted_results(results) -> tuple[ValidationResult, ...]:
    """Results in the order both engines give them: by patient, focus node, shape, component and value."""
    return tuple(sorted(results, key=lambda r: (r.patient or "", r.focus, r.shape, r.component, r.value or "")))


@dataclass
class ValidationOutcome:
    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)
    raw_report: Graph | None = None  # pySHACL's report; the SPARQL engine's is made on demand (see report)
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    engine: str = "pyshacl"
    note: str | None = None  # why the requested engine was not the one that ran
    violations: list = field(default_factory=list, repr=False)  # the SPARQL engine's raw results
    shapes: Graph | None = field(default=None, repr=False)  # the shapes graph (for the report's paths)

    _report: Graph | None = field(default=None, repr=False)

    @property
    def report(self) -> Graph | None:
        """The standard sh:ValidationReport graph, its blank nodes labelled canonically (rdfio.canonical_graph):
        the same graph, serialised to the same bytes, on every run over the same input."""
        if self._report is None:
            if self.raw_report is None and self.engine == "sparql" and (self.files or self.violations):
                self.raw_report = report_graph(self.violations, self.conforms, self.shapes)
            if self.raw_report is not None:
                self._report = canonical_graph(self.raw_report)
        return self._report

    def fails(self, fail_on: str = "violation") -> bool:
        threshold = SEVERITY_ORDER["Warning" if fail_on == "warning" else "Violation"]
        return any(SEVERITY_ORDER.get(r.severity, 2) >= threshold for r in self.results)

    def exit_code_for(self, fail_on: str = "violation") -> int:
        """2 if an input could not be read, else 1 if a result is at least as severe as `fail_on`, else 0."""
        return 2 if self.errors else 1 if self.fails(fail_on) else 0

    @property
    def exit_code(self) -> int:
        return self.exit_code_for("violation")

    def text(self) -> str:
        return validation_text(self)

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "results": [r.as_dict() for r in self.results],
            "errors": [str(e) for e in self.errors],
            "files": [str(f) for f in self.files],
            "engine": self.engine,
        }


def report_graph(violations, conforms: bool, shapes: Graph | None = None) -> Graph:
    """A sh:ValidationReport of the SPARQL engine's violations, for `-f turtle`; a source shape, source
    constraint or result path that is a blank node of `shapes` (a path expression, an anonymous shape) is
    copied with its structure, as pySHACL copies it, so that the report stands alone."""
    report = bind_prefixes(Graph())
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    report.add((root, SH.conforms, Literal(conforms, datatype=XSD.boolean)))
    copied: set = set()  # blank nodes of the shapes already copied
    for violation in violations:
        node = BNode()
        report.add((root, SH.result, node))
        _add_result(report, node, violation, shapes, copied)
    return report


def _add_result(report: Graph, node: BNode, violation, shapes: Graph | None, copied: set) -> None:
    """One sh:ValidationResult, with its details (sh:detail), each a result node of its own as pySHACL gives
    them (a detail shared by two results is written under each)."""
    for predicate, term in (
        (RDF.type, SH.ValidationResult),
        (SH.focusNode, violation.focus),
        (SH.sourceShape, violation.shape),
        (SH.sourceConstraint, violation.constraint),
        (SH.sourceConstraintComponent, violation.component),
        (SH.resultSeverity, violation.severity),
        (SH.resultPath, violation.path),
        (SH.value, violation.value),
        (SH.resultMessage, Literal(violation.message) if violation.message else None),
    ):
        if term is not None:
            report.add((node, predicate, term))
    for term in (violation.shape, violation.constraint, violation.path):
        if isinstance(term, BNode) and shapes is not None and term not in copied:
            copied.add(term)
            for triple in blank_closure(shapes, term):
                report.add(triple)
    for detail in violation.details:
        child = BNode()
        report.add((node, SH.detail, child))
        _add_result(report, child, detail, shapes, copied)


def blank_closure(source: Graph, node: BNode):
    """The triples of `source` reachable from the blank node `node` through blank nodes (a path expression,
    a list): what a copy of `node` into another graph needs."""
    todo, seen = [node], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for predicate, obj in source.predicate_objects(current):
            yield current, predicate, obj
            if isinstance(obj, BNode):
                todo.append(obj)


def conforms_of(results) -> bool:
    """No result of severity sh:Violation (or a severity mesokg does not know, counted as one)."""
    return not any(SEVERITY_ORDER.get(r.severity, 2) >= 2 for r in results)


def _detail_lines(details, indent: str):
    """The results nested under a sh:node result, one line each, indented by depth."""
    for detail in details:
        value = f" [value: {detail.value}]" if detail.value and detail.value != detail.focus else ""
        yield f"{indent}detail: {detail.severity.upper()} {detail.shape} at {detail.focus}: {detail.message}{value}"
        yield from _detail_lines(detail.details, indent + "  ")


def validation_text(outcome: ValidationOutcome) -> str:
    lines = []
    if outcome.files:
        lines.append(
            f"{len(outcome.files)} file(s) validated: "
            + ("conforms" if outcome.conforms else f"{len(outcome.results)} result(s)")
        )
    current = object()
    for result in outcome.results:
        if result.patient != current:
            current = result.patient
            lines.append(f"\npatient {result.patient or '(no patient)'}")
        where = f" at {result.focus}" if result.focus != result.patient else ""
        value = f" [value: {result.value}]" if result.value and result.value != result.focus else ""
        lines.append(f"  {result.severity.upper()} {result.shape}{where}: {result.message}{value}")
        lines.extend(f"      because {reason}" for reason in result.reasons)
        lines.extend(_detail_lines(result.details, "      "))
    return "\n".join(lines).lstrip("\n") + "\n"


# ---- streaming: results as they are decided, and the JSON Lines format -------------------------------------------
def result_key(result: ValidationResult) -> tuple:
    """The order validation results are listed in (by patient, then focus node, shape, component, value)."""
    return (result.patient or "", result.focus, result.shape, result.component, result.value or "")


@dataclass
class PatientValidation:
    """One patient's validation results (`patient` None: results on nodes that belong to no patient)."""

    patient: str | None
    results: list[ValidationResult] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return conforms_of(self.results)


@dataclass
class Part:
    """What one partition of a run decided: its patients (PatientScreen or PatientValidation, sorted), its input
    errors, the files it read and (validation) the SPARQL engine's raw results, for the Turtle report."""

    patients: list = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    violations: list = field(default_factory=list)


class JsonlWriter:
    """`-f jsonl`: one JSON object a line, written as results arrive. A reason is written once per run, as a
    `reason` record with an id derived from its content, before the first patient that refers to it; patient
    records list reason ids. See README (Output formats) for the records."""

    def __init__(self, out) -> None:
        self.out = out
        self.ids: dict = {}  # reason -> id, for the reasons already written

    def _write(self, record: dict) -> None:
        self.out.write(orjson.dumps(record) + b"\n")

    def _reason(self, reason) -> str:
        found = self.ids.get(reason)
        if found is None:
            fields = _reason_dict(reason) if isinstance(reason, Reason) else {"text": reason}
            digest = hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
            found = self.ids[reason] = "r-" + digest[:16]
            self._write({"type": "reason", "id": found, **fields})
        return found

    def screened(self, patient: PatientScreen) -> None:
        findings = [
            {
                "treatment": f.treatment,
                "treatmentLabel": f.treatmentLabel,
                "status": f.status,
                "reasons": [self._reason(r) for r in f.reasons],
            }
            for f in patient.findings
        ]
        self._write({"type": "patient", "patient": patient.patient, "findings": findings})

    def validated(self, patient: PatientValidation) -> None:
        results = [
            {
                **{k: v for k, v in r.__dict__.items() if k not in ("patient", "reasons")},
                "reasons": [self._reason(text) for text in r.reasons],
            }
            for r in patient.results
        ]
        self._write({"type": "patient", "patient": patient.patient, "conforms": patient.conforms, "results": results})

    def error(self, error: InputError) -> None:
        file, line = getattr(error, "file", None), getattr(error, "line", None)
        self._write({"type": "error", "file": file, "line": line, "message": str(error)})

    def summary(self, **counts) -> None:
        self._write({"type": "summary", **counts})


class _Stream:
    """Results of a partitioned run, iterated once as the partitions finish: patients in partition order,
    sorted within a partition; `errors` and the counts grow as they go."""

    def __init__(self, parts: Iterable[Part]) -> None:
        self._parts = parts
        self.errors: list[InputError] = []
        self.files: list[Path] = []
        self.violations: list = []
        self.count = 0
        self._on_errors = None

    def __iter__(self) -> Iterator:
        for part in self._parts:
            self.errors += part.errors
            self.files += part.files
            self.violations += part.violations
            if self._on_errors is not None:
                for error in part.errors:
                    self._on_errors(error)
            for patient in part.patients:
                self.count += 1
                yield patient


class ScreenStream(_Stream):
    """`screen` patient by patient (mesokg.screen_stream); `exit_code` holds once iterated."""

    flagged = False

    def __iter__(self) -> Iterator[PatientScreen]:
        for patient in super().__iter__():
            self.flagged = self.flagged or any(f.status != "none" for f in patient.findings)
            yield patient

    @property
    def exit_code(self) -> int:
        return 2 if self.errors else 1 if self.flagged else 0

    def outcome(self) -> ScreenOutcome:
        """Every patient, sorted as one run sorts them: what `-f json` and `-f text` print."""
        patients = sorted(self, key=lambda p: p.patient)
        return ScreenOutcome(patients, self.errors)

    def write_jsonl(self, out) -> None:
        writer = JsonlWriter(out)
        self._on_errors = writer.error
        for patient in self:
            writer.screened(patient)
        writer.summary(patients=self.count, flagged=self.flagged, errors=len(self.errors), exitCode=self.exit_code)


class ValidationStream(_Stream):
    """`validate` patient by patient (mesokg.validate_stream); `exit_code_for` holds once iterated."""

    def __init__(self, parts: Iterable[Part], shapes: Graph | None = None) -> None:
        super().__init__(parts)
        self.shapes = shapes
        self.results = 0
        self.severities: set[str] = set()

    def __iter__(self) -> Iterator[PatientValidation]:
        for patient in super().__iter__():
            self.results += len(patient.results)
            self.severities.update(r.severity for r in patient.results)
            yield patient

    @property
    def conforms(self) -> bool:
        return not any(SEVERITY_ORDER.get(s, 2) >= SEVERITY_ORDER["Violation"] for s in self.severities)

    def exit_code_for(self, fail_on: str = "violation") -> int:
        threshold = SEVERITY_ORDER["Warning" if fail_on == "warning" else "Violation"]
        fails = any(SEVERITY_ORDER.get(s, 2) >= threshold for s in self.severities)
        return 2 if self.errors else 1 if fails else 0

    def outcome(self) -> ValidationOutcome:
        """Every result, sorted as one run sorts them: what `-f json`, `-f text` and `-f turtle` print."""
        results = sorted((r for patient in self for r in patient.results), key=result_key)
        outcome = ValidationOutcome(conforms_of(results), results, None, self.errors, self.files, "sparql")
        outcome.violations, outcome.shapes = self.violations, self.shapes
        if not self.files:
            outcome.conforms = False
        return outcome

    def write_jsonl(self, out, fail_on: str = "violation") -> None:
        writer = JsonlWriter(out)
        self._on_errors = writer.error
        for patient in self:
            writer.validated(patient)
        writer.summary(
            patients=self.count,
            conforms=self.conforms,
            results=self.results,
            errors=len(self.errors),
            files=[str(f) for f in self.files],
            exitCode=self.exit_code_for(fail_on),
        )
