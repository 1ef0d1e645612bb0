"""SHACL validation of patient records with pySHACL, the reference engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH

from mesokg.errors import InputError, MesokgError, located
from mesokg.graph import knowledge_graph, parse_turtle
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
    raw_report: Graph | None = None  # pySHACL's report; the SPARQL engine's is made on demand (see report)
    errors: list[InputError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    engine: str = "pyshacl"
    note: str | None = None  # why the requested engine was not the one that ran
    violations: list = field(default_factory=list, repr=False)  # the SPARQL engine's raw results
    shapes: Graph | None = field(default=None, repr=False)  # the shapes graph (for the report's paths)

    @property
    def report(self) -> Graph | None:
        """The standard sh:ValidationReport graph."""
        if self.raw_report is None and self.engine == "sparql" and (self.files or self.violations):
            self.raw_report = report_graph(self.violations, self.conforms, self.shapes)
        return self.raw_report

    def fails(self, fail_on: str = "violation") -> bool:
        threshold = SEVERITY_ORDER["Warning" if fail_on == "warning" else "Violation"]
        return any(SEVERITY_ORDER.get(r.severity, 2) >= threshold for r in self.results)

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "results": [{**r.__dict__, "reasons": list(r.reasons)} for r in self.results],
            "errors": [str(e) for e in self.errors],
            "files": [str(f) for f in self.files],
            "engine": self.engine,
        }


def patient_shapes() -> Graph:
    graph = Graph()
    parse_turtle(graph, ontology_dir() / "shapes" / "patient.shacl.ttl")
    return graph


def load_shapes(paths) -> Graph:
    """The shapes graph of the given files (`--shapes`), each parsed with its own URI as base, so that
    relative IRIs resolve as rdflib and pySHACL resolve them; a bad file is one InputError."""
    import rdflib

    from mesokg.graph import parse_rdf
    from mesokg.inputs import detect_format, expand_paths

    graph = Graph()
    files, errors = expand_paths(list(paths))
    if errors:
        raise errors[0]
    # literals as written: rdflib would otherwise turn "1"^^xsd:boolean into true, a different term
    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        for path in files:
            try:
                head = path.open("rb").read(512)
            except OSError as error:
                raise InputError(located(path, f"cannot read: {error.strerror or error}")) from None
            parse_rdf(graph, path, detect_format(path, head))
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
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


ENGINES = ("auto", "sparql", "pyshacl")


def validate(
    paths: list[Path] | tuple[Path, ...],
    kb: Graph | None = None,
    engine: str = "auto",
    store: Path | None = None,
    fingerprint: str | None = None,
    progress=None,
    shapes: Graph | None = None,
    use_kb: bool = True,
) -> ValidationOutcome:
    """Validate data files (or directories) against the patient shapes (or `shapes`) and the knowledge graph.

    `engine`: "sparql" compiles the shapes to SPARQL and runs them in an embedded store (fast; `store` keeps
    that store on disk); "pyshacl" is the reference engine; "auto" (the default) uses the SPARQL engine
    unless the shapes use a feature it does not evaluate, or one of its queries fails, and then pySHACL.
    `use_kb` False validates the data alone: the knowledge base is neither built nor merged in.
    """
    from mesokg.sparql_shacl import EvaluationError, Unsupported, compile_shapes

    if engine not in ENGINES:
        raise MesokgError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if engine == "pyshacl" and store is not None:
        raise MesokgError("--store works with the sparql engine only (pySHACL validates an in-memory graph)")
    if not use_kb and store is not None:
        raise MesokgError("--no-kb cannot be used with --store (the store holds the knowledge base)")
    shapes = shapes if shapes is not None else patient_shapes()
    note = None
    if engine != "pyshacl":
        try:
            plans = compile_shapes(shapes)
        except Unsupported as error:
            if engine == "sparql" or store is not None:
                raise MesokgError(f"the SPARQL engine cannot evaluate these shapes: {error}") from None
            note = f"handed to pySHACL: {error}"
        else:
            try:
                return validate_sparql(paths, kb, store, fingerprint, progress, shapes, plans, use_kb)
            except EvaluationError as error:
                if engine == "sparql" or store is not None:
                    raise MesokgError(f"the SPARQL engine cannot evaluate these shapes on this data: {error}") from None
                note = f"handed to pySHACL: {error}"
    outcome = validate_pyshacl(paths, kb, shapes, use_kb)
    outcome.note = note
    return outcome


def validate_sparql(
    paths,
    kb: Graph | None,
    store: Path | None,
    fingerprint: str | None,
    progress=None,
    shapes: Graph | None = None,
    plans=None,
    use_kb: bool = True,
):
    """The fast path (mesokg.engine): SHACL compiled to SPARQL over pyoxigraph."""
    from mesokg.engine import local_engine

    engine = local_engine(kb, store, fingerprint, shapes=shapes, use_kb=use_kb)
    loaded = engine.load(paths, progress)
    if not loaded.files and store is None:
        return ValidationOutcome(conforms=False, errors=loaded.errors, engine="sparql")
    results = engine.validate(plans, check=loaded.files)
    conforms = _conforms(results)
    outcome = ValidationOutcome(conforms, results, None, loaded.errors, loaded.files, "sparql")
    outcome.violations = engine.violations
    outcome.shapes = engine.shapes
    return outcome


def report_graph(violations, conforms: bool, shapes: Graph | None = None) -> Graph:
    """A sh:ValidationReport of the SPARQL engine's violations, for `-f turtle`; a result path that is a
    path expression (a blank node of `shapes`) is copied with its structure."""
    from rdflib import BNode, Literal
    from rdflib.namespace import XSD

    from mesokg.prefixes import bind_prefixes

    report = bind_prefixes(Graph())
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    report.add((root, SH.conforms, Literal(conforms, datatype=XSD.boolean)))
    for violation in violations:
        node = BNode()
        report.add((root, SH.result, node))
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
        if isinstance(violation.path, BNode) and shapes is not None:
            _copy_structure(shapes, violation.path, report)
    return report


def _copy_structure(source: Graph, node: BNode, target: Graph) -> None:
    """The triples of `source` reachable from the blank node `node` through blank nodes."""
    todo, seen = [node], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for predicate, obj in source.predicate_objects(current):
            target.add((current, predicate, obj))
            if isinstance(obj, BNode):
                todo.append(obj)


def validate_pyshacl(
    paths: list[Path] | tuple[Path, ...], kb: Graph | None = None, shapes: Graph | None = None, use_kb: bool = True
) -> ValidationOutcome:
    """The reference engine: pySHACL over an rdflib graph of the knowledge base (unless `use_kb` is False)
    and the data."""
    data = Graph()
    if use_kb:
        for triple in kb if kb is not None else knowledge_graph():
            data.add(triple)
    inputs = read_inputs(paths, data)
    if not inputs.files:
        return ValidationOutcome(conforms=False, errors=inputs.errors, engine="pyshacl")
    if use_kb:
        resolve_record_codes(data)
    shapes = shapes if shapes is not None else patient_shapes()
    try:
        _, report, text = pyshacl.validate(
            data, shacl_graph=shapes, advanced=True, inference="none", allow_warnings=True
        )
    except Exception as error:  # pySHACL reports bad shapes (and SPARQL it refuses) as several error types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MesokgError(f"pySHACL cannot validate with these shapes: {first}") from None
    if not isinstance(report, Graph):  # a ValidationFailure: the shapes are not valid SHACL
        first = str(text).strip().splitlines()[-1] if str(text).strip() else "validation failed"
        raise MesokgError(f"pySHACL cannot validate with these shapes: {first}")
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
    # conforming as mesokg means it for both engines: no result more severe than a warning (pySHACL's own
    # sh:conforms, in the report graph, can be false for warnings of SPARQL-based components)
    outcome = ValidationOutcome(_conforms(results), results, report, inputs.errors, inputs.files, "pyshacl")
    outcome.shapes = shapes
    return outcome


def _conforms(results) -> bool:
    """No result of severity sh:Violation (or a severity mesokg does not know, counted as one)."""
    return not any(SEVERITY_ORDER.get(r.severity, 2) >= 2 for r in results)


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
