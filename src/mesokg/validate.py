"""SHACL validation of patient records with pySHACL, the reference engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyshacl
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH

from mesokg.errors import InputError
from mesokg.graph import build_graph, parse_turtle
from mesokg.inputs import read_inputs, resolve_record_codes
from mesokg.prefixes import compact
from mesokg.resources import ontology_dir

MESOKG = "https://w3id.org/mesokg/"
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


@dataclass
class ValidationOutcome:
    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)
    report: Graph | None = None
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def fails(self, fail_on: str = "violation") -> bool:
        threshold = SEVERITY_ORDER["Warning" if fail_on == "warning" else "Violation"]
        return any(SEVERITY_ORDER.get(r.severity, 2) >= threshold for r in self.results)

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "results": [asdict(r) for r in self.results],
            "errors": [str(e) for e in self.errors],
            "files": [str(f) for f in self.files],
        }


def patient_shapes() -> Graph:
    graph = Graph()
    parse_turtle(graph, ontology_dir() / "shapes" / "patient.shacl.ttl")
    return graph


def patient_of(graph: Graph, node: URIRef) -> URIRef | None:
    """The patient a focus node belongs to: itself, or the patient whose record links to it."""
    patient_class = URIRef(MESOKG + "Patient")
    if (node, RDF.type, patient_class) in graph:
        return node
    for subject in graph.subjects(None, node):
        if (subject, RDF.type, patient_class) in graph:
            return subject
    return None


def _term(node, graph: Graph | None = None) -> str | None:
    """A node for people: a CURIE, a literal's text, or a blank node described by its types."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, BNode):
        types = sorted(compact(str(t)) for t in graph.objects(node, RDF.type)) if graph is not None else []
        return f"[a {', '.join(types)}]" if types else f"_:{node}"
    return str(node)


def validate(paths: list[Path] | tuple[Path, ...], kb: Graph | None = None) -> ValidationOutcome:
    """Validate patient data files (or directories) against the patient shapes and the knowledge graph."""
    data = Graph()
    for triple in kb if kb is not None else build_graph():
        data.add(triple)
    inputs = read_inputs(paths, data)
    if not inputs.files:
        return ValidationOutcome(conforms=False, errors=inputs.errors)
    resolve_record_codes(data)
    shapes = patient_shapes()
    conforms, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, advanced=True, inference="none", allow_warnings=True
    )
    results = []
    nested = set(report.objects(None, SH.detail))
    for node in report.subjects(RDF.type, SH.ValidationResult):
        if node in nested:
            continue
        focus = report.value(node, SH.focusNode)
        constraint = report.value(node, SH.sourceConstraint)
        rule = constraint if isinstance(constraint, URIRef) else report.value(node, SH.sourceShape)
        patient = patient_of(data, focus) if focus is not None else None
        results.append(
            ValidationResult(
                patient=_term(patient),
                focus=_term(focus, data) or "",
                shape=_term(rule) or "",
                component=compact(str(report.value(node, SH.sourceConstraintComponent))),
                severity=str(report.value(node, SH.resultSeverity)).rsplit("#", 1)[-1],
                message=str(report.value(node, SH.resultMessage) or ""),
                value=_term(report.value(node, SH.value), data),
                path=_term(report.value(node, SH.resultPath)),
                reasons=_reason_chain(data, shapes, report.value(node, SH.sourceShape), focus),
            )
        )
    results.sort(key=lambda r: (r.patient or "", r.focus, r.shape, r.component, r.value or ""))
    return ValidationOutcome(bool(conforms), results, report, inputs.errors, inputs.files)


def _reason_chain(data: Graph, shapes: Graph, shape, focus) -> tuple[str, ...]:
    """For a result of the clinical rule, the reasons behind it (the rule that `mesokg screen` runs)."""
    strength = shapes.value(shape, URIRef(MESOKG + "contraindicationStrength"))
    if strength is None:
        return ()
    from mesokg.screen import rule_query, session_reasons

    reasons = session_reasons(data, focus, str(strength).rsplit("/", 1)[-1], rule_query(shapes))
    return tuple(r.describe() for r in reasons)


def format_text(outcome: ValidationOutcome) -> str:
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
    return "\n".join(lines).lstrip("\n") + "\n"
