"""SHACL validation of patient records: the compiled shapes over a backend (mesokg.engine, fast), or pySHACL
over an rdflib graph (the reference); `auto` picks the first and hands over to the second where needed."""

from __future__ import annotations

from pathlib import Path

import rdflib
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH

from mesokg.backends import GraphBackend
from mesokg.coding import resolve_record_codes
from mesokg.engine import Engine, local_engine
from mesokg.errors import InputError, MesokgError, located
from mesokg.graph import knowledge_graph
from mesokg.inputs import read_inputs
from mesokg.namespace import MESOKG
from mesokg.prefixes import compact
from mesokg.rdfio import detect_format, expand_paths, graph_label, parse_rdf, to_ox
from mesokg.results import ValidationOutcome, ValidationResult, conforms_of, sorted_results
from mesokg.rule import patient_shapes, strength_of
from mesokg.sparql_shacl import EvaluationError, Unsupported, compile_shapes


def load_shapes(paths) -> Graph:
    """The shapes graph of the given files (`--shapes`), each parsed with its own URI as base, so that
    relative IRIs resolve as rdflib and pySHACL resolve them; a bad file is one InputError."""
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
    patient_class = MESOKG.Patient
    if (node, RDF.type, patient_class) in graph:
        return node
    for subject in graph.subjects(None, node):
        if (subject, RDF.type, patient_class) in graph:
            return subject
    return None


def _term(node, graph: Graph | None = None, typed: bool = True) -> str | None:
    """A node for people: a CURIE, a literal's text, or a blank node described by its types (with `typed`),
    else by a label derived from its triples in `graph` (rdfio.content_label: the same on every run)."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, BNode):
        types = sorted(compact(str(t)) for t in graph.objects(node, RDF.type)) if graph is not None and typed else []
        if types:
            return f"[a {', '.join(types)}]"
        return f"_:{graph_label(graph, node)}" if graph is not None else f"_:{node}"
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
    with local_engine(kb, store, fingerprint, shapes=shapes, use_kb=use_kb) as engine:
        loaded = engine.load(paths, progress)
        if not loaded.files and store is None:
            return ValidationOutcome(conforms=False, errors=loaded.errors, engine="sparql")
        results = engine.validate(plans, check=loaded.files)
        conforms = conforms_of(results)
        outcome = ValidationOutcome(conforms, results, None, loaded.errors, loaded.files, "sparql")
        outcome.violations = engine.violations
        outcome.shapes = engine.shapes
        return outcome


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
        import pyshacl  # the reference engine, imported when it runs

        _, report, text = pyshacl.validate(
            data, shacl_graph=shapes, advanced=True, inference="none", allow_warnings=True
        )
    except Exception as error:  # pySHACL reports bad shapes (and SPARQL it refuses) as several error types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MesokgError(f"pySHACL cannot validate with these shapes: {first}") from None
    if not isinstance(report, Graph):  # a ValidationFailure: the shapes are not valid SHACL
        first = str(text).strip().splitlines()[-1] if str(text).strip() else "validation failed"
        raise MesokgError(f"pySHACL cannot validate with these shapes: {first}")
    nested = set(report.objects(None, SH.detail))
    nodes = [node for node in report.subjects(RDF.type, SH.ValidationResult) if node not in nested]
    chains = _reason_chains(
        data,
        shapes,
        [
            (report.value(n, SH.sourceShape), report.value(n, SH.focusNode))
            for n in report.subjects(RDF.type, SH.ValidationResult)
        ],
    )

    def result(node) -> ValidationResult:
        focus = report.value(node, SH.focusNode)
        constraint = report.value(node, SH.sourceConstraint)
        rule = constraint if isinstance(constraint, URIRef) else report.value(node, SH.sourceShape)
        patient = patient_of(data, focus) if focus is not None else None
        return ValidationResult(
            patient=_term(patient, data, typed=False),
            focus=_term(focus, data) or "",
            shape=_term(rule, shapes, typed=False) or "",
            component=compact(str(report.value(node, SH.sourceConstraintComponent))),
            severity=str(report.value(node, SH.resultSeverity)).rsplit("#", 1)[-1],
            message=str(report.value(node, SH.resultMessage) or ""),
            value=_term(report.value(node, SH.value), data),
            path=_term(report.value(node, SH.resultPath)),
            reasons=chains.get((report.value(node, SH.sourceShape), focus), ()),
            details=sorted_results(result(d) for d in report.objects(node, SH.detail)),
        )

    results = list(sorted_results(result(node) for node in nodes))
    # conforming as mesokg means it for both engines: no result more severe than a warning (pySHACL's own
    # sh:conforms, in the report graph, can be false for warnings of SPARQL-based components)
    outcome = ValidationOutcome(conforms_of(results), results, report, inputs.errors, inputs.files, "pyshacl")
    outcome.shapes = shapes
    return outcome


def _reason_chains(data: Graph, shapes: Graph, results: list) -> dict:
    """For the results of the clinical rule, the reasons behind each (the rule `mesokg screen` runs), from one
    run of the rule over the validated graph: (shape, focus) -> reason texts."""
    wanted = {(shape, focus) for shape, focus in results if strength_of(shapes, shape) is not None}
    if not wanted:
        return {}
    engine = Engine(lambda: data, "pyshacl", store=GraphBackend(data), shapes=shapes)
    return {
        (shape, focus): tuple(
            r.describe() for r in engine.session_reasons(strength_of(shapes, shape)).get(to_ox(focus), [])
        )
        for shape, focus in wanted
    }
