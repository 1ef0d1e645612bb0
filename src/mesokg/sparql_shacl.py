"""SHACL evaluated as SPARQL over an embedded store: the fast validation engine.

Each constraint of the shapes graph is compiled into one SPARQL SELECT that finds *all* its violations at once
(every focus node, every value), instead of evaluating constraint by constraint, focus node by focus node as
a general SHACL engine does. The queries run in pyoxigraph over the union of the knowledge base and the
patient data. pySHACL stays the reference: a differential test checks that both give the same set of
(focus node, shape, constraint component, severity, value) on generated populations.

Supported, because the patient shapes use them: node shapes with `sh:targetClass` (instances of the class and
of its subclasses); property shapes with an IRI `sh:path` and `sh:minCount`, `sh:maxCount`, `sh:class`,
`sh:datatype`, `sh:in`, `sh:node`; SPARQL constraints (`sh:sparql` with `sh:select`); SPARQL-based constraint
components whose validator is a `sh:nodeValidator` SELECT. Anything else in the shapes (another target, a path
expression, `sh:pattern`, `sh:or`, a constraint component with other validators, ...) raises Unsupported,
so that the caller hands the work to pySHACL rather than answer wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD

from mesokg.errors import MesokgError

# the shape predicates the compiler understands; documentation predicates are ignored
STRUCTURE = {SH.targetClass, SH.property, SH.path, SH.sparql, SH.severity, SH.message, SH.node}
CORE = {SH.minCount, SH.maxCount, SH["class"], SH.datatype, SH["in"]}
IGNORED = {SH.name, SH.description, SH.order, SH.group, SH.prefixes, SH.select, SH.declare, SH.prefix, SH.namespace}
COMPONENT = {
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
}
PREFIXES = (
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
THIS = re.compile(r"\$this\b")


class Unsupported(MesokgError):
    """A shapes-graph feature the SPARQL engine does not evaluate; pySHACL must do the work."""


@dataclass(frozen=True)
class Violation:
    """One validation result, as the SHACL report would give it."""

    focus: object
    shape: URIRef | BNode
    component: URIRef
    severity: URIRef
    value: object | None
    path: URIRef | None
    message: str
    constraint: URIRef | BNode | None = None


# A focus pattern binds the given variable to every focus node of a shape.
Focus = Callable[[str], str]


@dataclass(frozen=True)
class Check:
    """One compiled constraint: `query` selects ?f (focus) and ?v (value, may be unbound) of each violation."""

    shape: URIRef | BNode
    component: URIRef
    severity: URIRef
    message: str
    path: URIRef | None
    query: str
    constraint: URIRef | BNode | None = None
    value_is_focus: bool = False
    # sh:node: the value must conform to this shape (checked by evaluating the nested shape's own checks)
    nested: tuple[Check, ...] = ()
    owned: bool = False  # the query also selects ?o, the focus node of the shape using this one by sh:node


def compile_shapes(shapes: Graph) -> list[Check]:
    """Every check of every targeted node shape of `shapes`; raises Unsupported for what it cannot do."""
    _refuse_unknown_components(shapes)
    checks: list[Check] = []
    for shape in sorted(set(shapes.subjects(SH.targetClass, None)), key=str):
        _refuse_other_targets(shapes, shape)
        classes = sorted(shapes.objects(shape, SH.targetClass), key=str)

        def focus(var: str, classes: list = classes) -> str:
            return "{ " + " } UNION { ".join(f"{var} rdf:type/rdfs:subClassOf* <{c}> ." for c in classes) + " }"

        checks.extend(_node_shape(shapes, shape, focus))
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(RDF.type, SH.PropertyShape)):
        for target in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
            if (shape, target, None) in shapes:
                raise Unsupported(f"{shape}: {target.fragment} targets are not evaluated by the SPARQL engine")
    return checks


def _node_shape(shapes: Graph, shape, focus: Focus) -> list[Check]:
    _refuse_unknown_predicates(shapes, shape)
    checks: list[Check] = []
    severity = shapes.value(shape, SH.severity) or SH.Violation
    for prop in sorted(shapes.objects(shape, SH.property), key=str):
        checks.extend(_property_shape(shapes, prop, focus))
    for constraint in sorted(shapes.objects(shape, SH.sparql), key=str):
        checks.append(_sparql_constraint(shapes, shape, constraint, severity, focus))
    for component in _components(shapes):
        checks.extend(_component_checks(shapes, shape, component, severity, focus))
    if (shape, SH.node, None) in shapes:
        raise Unsupported(f"{shape}: sh:node on a node shape is not evaluated by the SPARQL engine")
    return checks


def _property_shape(shapes: Graph, prop, focus: Focus) -> list[Check]:
    _refuse_unknown_predicates(shapes, prop)
    path = shapes.value(prop, SH.path)
    if not isinstance(path, URIRef):
        raise Unsupported(f"{prop}: only a single IRI sh:path is evaluated by the SPARQL engine")
    severity = shapes.value(prop, SH.severity) or SH.Violation
    message = str(shapes.value(prop, SH.message) or "")
    f, v = "?mesokg_f", "?mesokg_v"
    base = f"{focus(f)}"

    def check(component, where: str, nested: tuple[Check, ...] = ()) -> Check:
        query = f"{PREFIXES}SELECT DISTINCT ({f} AS ?f) ({v} AS ?v) WHERE {{ {base} {where} }}"
        return Check(prop, component, severity, message, path, query, nested=nested)

    def count(component, comparison: str, optional: bool) -> Check:
        values = f"OPTIONAL {{ {f} <{path}> ?mesokg_x }}" if optional else f"{f} <{path}> ?mesokg_x ."
        query = (
            f"{PREFIXES}SELECT ({f} AS ?f) WHERE {{ {base} {values} }} "
            f"GROUP BY {f} HAVING (COUNT(DISTINCT ?mesokg_x) {comparison})"
        )
        return Check(prop, component, severity, message, path, query)

    def focus_only(component, where: str) -> Check:
        query = f"{PREFIXES}SELECT DISTINCT ({f} AS ?f) WHERE {{ {base} {where} }}"
        return Check(prop, component, severity, message, path, query)

    # the common cardinalities without grouping every focus node: "no value" and "two different values"
    checks = []
    min_count = shapes.value(prop, SH.minCount)
    if min_count is not None and int(min_count) == 1:
        where = f"OPTIONAL {{ {f} <{path}> ?mesokg_x }} FILTER(!BOUND(?mesokg_x))"
        checks.append(focus_only(SH.MinCountConstraintComponent, where))
    elif min_count is not None:
        checks.append(count(SH.MinCountConstraintComponent, f"< {int(min_count)}", optional=True))
    max_count = shapes.value(prop, SH.maxCount)
    if max_count is not None and int(max_count) == 1:
        where = f"{f} <{path}> ?mesokg_x , ?mesokg_y . FILTER(!sameTerm(?mesokg_x, ?mesokg_y))"
        checks.append(focus_only(SH.MaxCountConstraintComponent, where))
    elif max_count is not None:
        checks.append(count(SH.MaxCountConstraintComponent, f"> {int(max_count)}", optional=False))
    for cls in shapes.objects(prop, SH["class"]):
        checks.append(
            check(
                SH.ClassConstraintComponent,
                # MINUS, not FILTER NOT EXISTS: the same answer here (both sides bind the value), and a store
                # can find the class's instances once instead of walking the hierarchy for every value
                f"{f} <{path}> {v} . MINUS {{ {v} rdf:type/rdfs:subClassOf* <{cls}> }}",
            )
        )
    for datatype in shapes.objects(prop, SH.datatype):
        checks.append(check(SH.DatatypeConstraintComponent, _datatype_filter(f, v, path, datatype)))
    for members in shapes.objects(prop, SH["in"]):
        allowed = ", ".join(_sparql_term(t) for t in Collection(shapes, members))
        checks.append(check(SH.InConstraintComponent, f"{f} <{path}> {v} . FILTER({v} NOT IN ({allowed}))"))
    for node_shape in shapes.objects(prop, SH.node):
        if (node_shape, SH.targetClass, None) in shapes:
            raise Unsupported(f"{node_shape}: a shape used by sh:node must not have targets of its own")

        def inner(var: str, outer: Focus = focus, path: URIRef = path) -> str:
            return f"{outer('?mesokg_o')} ?mesokg_o <{path}> {var} ."

        nested = tuple(_with_owner(c) for c in _node_shape(shapes, node_shape, inner))
        checks.append(check(SH.NodeConstraintComponent, f"{f} <{path}> {v} .", nested))
    return checks


def _with_owner(check: Check) -> Check:
    """A check of a shape used by sh:node, also selecting ?o, the focus node of the shape that uses it (bound
    by the focus pattern as ?mesokg_o), so the outer result needs no second query."""
    if check.query.count("SELECT DISTINCT ") != 1 or check.nested:
        return check
    query = check.query.replace("SELECT DISTINCT ", "SELECT DISTINCT (?mesokg_o AS ?o) ", 1)
    return Check(**{**check.__dict__, "query": query, "owned": True})


def _datatype_filter(f: str, v: str, path: URIRef, datatype) -> str:
    """A value that is not a literal of the datatype, or whose lexical form is not valid for it."""
    if datatype == XSD.date:
        lexical = "^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$"
        valid = f'REGEX(STR({v}), "{lexical}") && BOUND(?mesokg_d)'
        return (
            f"{f} <{path}> {v} . BIND(<{XSD.date}>(STR({v})) AS ?mesokg_d) "
            f"FILTER(!isLiteral({v}) || datatype({v}) != <{datatype}> || !({valid}))"
        )
    if datatype in (XSD.string, RDF.langString):
        return f"{f} <{path}> {v} . FILTER(!isLiteral({v}) || datatype({v}) != <{datatype}>)"
    raise Unsupported(f"sh:datatype {datatype}: only xsd:date and xsd:string are evaluated by the SPARQL engine")


def _sparql_constraint(shapes: Graph, shape, constraint, severity, focus: Focus) -> Check:
    _refuse_unknown_predicates(shapes, constraint)
    own = shapes.value(constraint, SH.severity)
    if own is not None and own != severity:
        raise Unsupported(f"{constraint}: a SPARQL constraint whose severity differs from its shape's")
    select = str(shapes.value(constraint, SH.select) or "")
    if not select:
        raise Unsupported(f"{constraint}: only SELECT-based SPARQL constraints are evaluated")
    query, projects_value = _rewrite(select, focus, {}, value_is_focus=False)
    message = str(shapes.value(constraint, SH.message) or shapes.value(shape, SH.message) or "")
    return Check(
        shape,
        SH.SPARQLConstraintComponent,
        severity,
        message,
        None,
        _prefixes(shapes, constraint) + query,
        constraint=constraint,
        value_is_focus=not projects_value,
    )


def _components(shapes: Graph) -> list:
    return sorted(shapes.subjects(RDF.type, SH.ConstraintComponent), key=str)


def _component_checks(shapes: Graph, shape, component, severity, focus: Focus) -> list[Check]:
    parameters = [shapes.value(p, SH.path) for p in shapes.objects(component, SH.parameter)]
    if not parameters or not all((shape, p, None) in shapes for p in parameters):
        return []
    validator = shapes.value(component, SH.nodeValidator)
    if validator is None:
        raise Unsupported(f"{component}: only SELECT node validators are evaluated by the SPARQL engine")
    select = str(shapes.value(validator, SH.select) or "")
    bindings = {str(p).rsplit("/", 1)[-1].rsplit("#", 1)[-1]: shapes.value(shape, p) for p in parameters}
    query, _ = _rewrite(select, focus, bindings, value_is_focus=True)
    message = str(shapes.value(shape, SH.message) or shapes.value(validator, SH.message) or "")
    return [Check(shape, component, severity, message, None, _prefixes(shapes, validator) + query, value_is_focus=True)]


def _rewrite(select: str, focus: Focus, bindings: dict, value_is_focus: bool) -> tuple[str, bool]:
    """The constraint's SELECT over every focus node at once: $this becomes a variable bound by the focus
    pattern, parameters become constants, and ?f / ?v are projected."""
    text = select.strip()
    if len(re.findall(r"\bSELECT\b", text, re.IGNORECASE)) != 1 or re.search(r"\b(MINUS|SERVICE)\b", text, re.I):
        raise Unsupported("a SPARQL constraint with a subquery, MINUS or SERVICE is not rewritten")
    for name, value in bindings.items():
        text = re.sub(rf"\${re.escape(name)}\b", _sparql_term(value), text)
    if value_is_focus:  # pySHACL pre-binds $value to the focus node in node validators
        text = re.sub(r"\$value\b", "$this", text)
    if re.search(r"\$(?!this\b)\w+", text):
        raise Unsupported("a SPARQL constraint using pre-bound variables other than $this")
    projects_value = re.search(r"SELECT[^{]*\?value\b", text, re.IGNORECASE | re.DOTALL) is not None
    where = re.search(r"\bWHERE\s*\{", text, re.IGNORECASE)
    if where is None or not text.endswith("}"):
        raise Unsupported("a SPARQL constraint that is not SELECT ... WHERE { ... } is not rewritten")
    body = THIS.sub("?mesokg_this", text[where.end() : -1])
    value = "?value" if projects_value else "?mesokg_this"
    query = f"{PREFIXES}SELECT DISTINCT (?mesokg_this AS ?f) ({value} AS ?v) WHERE {{ {focus('?mesokg_this')} {body} }}"
    return query, projects_value


def _prefixes(shapes: Graph, node) -> str:
    declared = shapes.value(node, SH.prefixes)
    lines = []
    for declaration in shapes.objects(declared, SH.declare) if declared is not None else []:
        lines.append(f"PREFIX {shapes.value(declaration, SH.prefix)}: <{shapes.value(declaration, SH.namespace)}>\n")
    return "".join(lines)


def _sparql_term(term) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise Unsupported(f"{term!r}: only IRIs and literals are evaluated as constants")


def _refuse_unknown_predicates(shapes: Graph, node) -> None:
    for predicate in set(shapes.predicates(node, None)):
        if str(predicate).startswith(str(SH)) and predicate not in STRUCTURE | CORE | IGNORED:
            raise Unsupported(f"{node}: sh:{predicate.fragment} is not evaluated by the SPARQL engine")
    if (node, RDF.type, SH.PropertyShape) in shapes and (node, SH.targetClass, None) in shapes:
        raise Unsupported(f"{node}: a property shape with a target of its own")


def _refuse_unknown_components(shapes: Graph) -> None:
    for component in _components(shapes):
        for validator in (SH.validator, SH.propertyValidator):
            if (component, validator, None) in shapes:
                raise Unsupported(f"{component}: only SELECT node validators are evaluated by the SPARQL engine")


def _refuse_other_targets(shapes: Graph, shape) -> None:
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, URIRef(str(RDFS) + "Class")) in shapes:
        raise Unsupported(f"{shape}: implicit class targets are not evaluated by the SPARQL engine")


def evaluate(store, checks: list[Check]) -> Iterator[Violation]:
    """Run the compiled checks on the store; yield one Violation per (check, focus, value)."""
    from mesokg.store import to_rdflib

    for check in checks:
        yield from _run(store, check, to_rdflib)


def _run(store, check: Check, to_rdflib) -> Iterator[Violation]:
    if check.nested and all(nested.owned for nested in check.nested):
        pairs = {(row["o"], row["f"]) for nested in check.nested for row in store.select(nested.query)}
        for owner, value in pairs:
            yield _violation(check, to_rdflib(owner), to_rdflib(value))
        return
    failing = None
    if check.nested:
        failing = {v.focus for nested in check.nested for v in _run(store, nested, to_rdflib)}
    for row in store.select(check.query):
        focus = to_rdflib(row["f"])
        value = to_rdflib(row["v"]) if "v" in _names(row) else None
        if failing is None or value in failing:
            yield _violation(check, focus, focus if check.value_is_focus else value)


def _violation(check: Check, focus, value) -> Violation:
    message = _message(check.message, value)
    return Violation(focus, check.shape, check.component, check.severity, value, check.path, message, check.constraint)


def _names(row) -> set[str]:
    try:
        row["v"]
    except KeyError:
        return set()
    return {"v"}


def _message(template: str, value) -> str:
    return template.replace("{?value}", str(value)) if value is not None else template
