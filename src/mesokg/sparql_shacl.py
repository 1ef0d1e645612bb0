"""SHACL evaluated as SPARQL over an embedded store: the fast validation engine.

Each constraint of the shapes graph is compiled into SPARQL that finds *all* its violations at once (every
focus node, every value), instead of evaluating constraint by constraint, focus node by focus node as a
general SHACL engine does. The queries run in pyoxigraph over the union of the knowledge base and the data.
pySHACL stays the reference: differential tests and the W3C SHACL test suite (tests/test_w3c_shacl.py) check
that the answers are the same.

**Right or refuse.** Before anything is compiled, every shape reachable from a target is checked against
`REGISTRY`, the (shape kind, predicate) combinations this module evaluates, each with a check of its
parameter's value (`sh:datatype` only for the datatypes whose lexical forms are tested, `sh:pattern` only
for regular expressions that mean the same in SPARQL, ...). Anything else in the `sh:` namespace on such a
shape raises Unsupported, so that the caller hands the work to pySHACL rather than answer wrongly. The
supported features, and how many W3C tests each passes, are in docs/shacl-support.md.

SPARQL-based constraints and components: `$this` (and `$value` in ASK validators) is *pre-bound*, as the
SHACL specification defines, by joining the query with the focus pattern. That is the same as substituting
the focus node only when every use of `$this` sits where the join has already bound it; `prebinding_problem`
checks that on the query's algebra and the query is refused otherwise (an inner group, a UNION branch or an
OPTIONAL that reads `$this` in a FILTER or BIND before binding it; MINUS, VALUES, SERVICE, GRAPH, subqueries,
aggregates and LIMIT, which the specification excludes or which would mix focus nodes).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD

from mesokg import cache
from mesokg.errors import MesokgError
from mesokg.rdfio import to_rdflib
from mesokg.version import __version__

PREFIXES = (
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
NODE, PROPERTY = "node", "property"
BOTH = frozenset({NODE, PROPERTY})
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)


class Unsupported(MesokgError):
    """A shapes-graph feature the SPARQL engine does not evaluate; pySHACL must do the work."""


class EvaluationError(MesokgError):
    """A compiled query failed in the store (pySHACL must do the work, or the command stops)."""


@dataclass(frozen=True)
class Violation:
    """One validation result, as the SHACL report would give it. `path` is the shape's sh:path (a node of the
    shapes graph) or, for sh:closed and a SPARQL ?path, the predicate found."""

    focus: object
    shape: URIRef | BNode
    component: URIRef
    severity: URIRef
    value: object | None
    path: URIRef | BNode | None
    message: str
    constraint: URIRef | BNode | None = None
    # of a sh:node result: the results of validating the value against the node shape, as pySHACL nests them
    # under sh:detail (each one again with its own details)
    details: tuple[Violation, ...] = ()


# A focus pattern binds the given variable to every focus node of a shape.
Focus = Callable[[str], str]
_fresh = itertools.count()


def fresh() -> str:
    return f"?mesokg_o{next(_fresh)}"


# ---- the registry ------------------------------------------------------------------------------------------
def _integer(shapes, value) -> None:
    if not (
        isinstance(value, Literal) and isinstance(value.toPython(), int) and not isinstance(value.toPython(), bool)
    ):
        raise Unsupported(f"{value!r} is not an integer")
    if value.toPython() < 0:
        raise Unsupported(f"{value!r} is negative")


def _iri(shapes, value) -> None:
    if not isinstance(value, URIRef):
        raise Unsupported(f"{value!r} is not an IRI")


def _constant(shapes, value) -> None:
    if not isinstance(value, URIRef | Literal):
        raise Unsupported(f"{value!r}: only IRIs and literals are evaluated as constants")


def _literal(shapes, value) -> None:
    if not isinstance(value, Literal):
        raise Unsupported(f"{value!r} is not a literal")


def _boolean(shapes, value) -> None:
    if not (isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) in ("true", "false", "1", "0")):
        raise Unsupported(f"{value!r} is not an xsd:boolean")


def _true(shapes: Graph, node, predicate) -> bool:
    """Whether the parameter is the literal true: only that term activates it (`"1"^^xsd:boolean` does not,
    as the W3C suite reads the specification)."""
    value = shapes.value(node, predicate)
    return isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"


def _constant_list(shapes, value) -> None:
    for member in _list(shapes, value):
        _constant(shapes, member)


def _iri_list(shapes, value) -> None:
    for member in _list(shapes, value):
        _iri(shapes, member)


def _language_list(shapes, value) -> None:
    for member in _list(shapes, value):
        if not (isinstance(member, Literal) and member.datatype in (None, XSD.string) and not member.language):
            raise Unsupported(f"{member!r} is not a language tag")


def _shape_list(shapes, value) -> None:
    _list(shapes, value)


def _any(shapes, value) -> None:
    return None


# datatypes whose lexical forms are tested (the store keeps an ill-formed literal as written)
LEXICAL = {
    XSD.boolean: "^(true|false|1|0)$",
    XSD.integer: "^[+-]?[0-9]+$",
    XSD.decimal: "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$",
    XSD.double: "^([+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)$",
    XSD.float: "^([+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)$",
    XSD.date: "^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$",
    XSD.dateTime: "^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$",
}
CASTS = {XSD.date, XSD.dateTime}  # also cast, which rejects a month 13 or a 30 February
PLAIN = {XSD.string, RDF.langString}


def _datatype(shapes, value) -> None:
    if value not in LEXICAL and value not in PLAIN:
        known = ", ".join(sorted(t.n3().rsplit("#", 1)[-1].rstrip(">") for t in (*LEXICAL, *PLAIN)))
        raise Unsupported(f"sh:datatype {value}: the SPARQL engine tests only {known}")


NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}


def _node_kind(shapes, value) -> None:
    if value not in NODE_KINDS:
        raise Unsupported(f"sh:nodeKind {value!r} is not a node kind")


def _pattern(shapes, value) -> None:
    _literal(shapes, value)
    text = str(value)
    # SPARQL REGEX is XPath's dialect: no look-around, back references, named groups or inline flags
    if re.search(r"\(\?|\\[1-9kpPbBAzZ]", text):
        raise Unsupported(f"sh:pattern {text!r}: a construct whose meaning differs between regex dialects")
    try:
        re.compile(text)
    except re.error as error:
        raise Unsupported(f"sh:pattern {text!r} is not a valid regular expression: {error}") from None


def _flags(shapes, value) -> None:
    _literal(shapes, value)
    if not set(str(value)) <= set("imsx"):
        raise Unsupported(f"sh:flags {str(value)!r}: only i, m, s and x are evaluated")


@dataclass(frozen=True)
class Parameter:
    kinds: frozenset
    check: Callable


# (shape kind, predicate) -> the check of its value; a predicate of the sh: namespace that is not here, on a
# shape that is validated, is refused. Documentation predicates are accepted and ignored.
REGISTRY: dict[URIRef, Parameter] = {
    # structure
    SH.targetClass: Parameter(BOTH, _iri),
    SH.targetNode: Parameter(BOTH, _constant),
    SH.targetSubjectsOf: Parameter(BOTH, _iri),
    SH.targetObjectsOf: Parameter(BOTH, _iri),
    SH.path: Parameter(frozenset({PROPERTY}), _any),  # checked by sparql_path
    SH.property: Parameter(BOTH, _any),
    SH.severity: Parameter(BOTH, _iri),
    SH.message: Parameter(BOTH, _literal),
    SH.deactivated: Parameter(BOTH, _boolean),
    SH.sparql: Parameter(BOTH, _any),  # checked when compiled
    # core constraint components
    SH["class"]: Parameter(BOTH, _iri),
    SH.datatype: Parameter(BOTH, _datatype),
    SH.nodeKind: Parameter(BOTH, _node_kind),
    SH.minCount: Parameter(frozenset({PROPERTY}), _integer),
    SH.maxCount: Parameter(frozenset({PROPERTY}), _integer),
    SH.minExclusive: Parameter(BOTH, _literal),
    SH.minInclusive: Parameter(BOTH, _literal),
    SH.maxExclusive: Parameter(BOTH, _literal),
    SH.maxInclusive: Parameter(BOTH, _literal),
    SH.minLength: Parameter(BOTH, _integer),
    SH.maxLength: Parameter(BOTH, _integer),
    SH.pattern: Parameter(BOTH, _pattern),
    SH.flags: Parameter(BOTH, _flags),
    SH.languageIn: Parameter(BOTH, _language_list),
    SH.uniqueLang: Parameter(frozenset({PROPERTY}), _boolean),
    SH.equals: Parameter(BOTH, _iri),
    SH.disjoint: Parameter(BOTH, _iri),
    SH.lessThan: Parameter(frozenset({PROPERTY}), _iri),
    SH.lessThanOrEquals: Parameter(frozenset({PROPERTY}), _iri),
    SH["in"]: Parameter(BOTH, _constant_list),
    SH.hasValue: Parameter(BOTH, _constant),
    SH.closed: Parameter(BOTH, _boolean),
    SH.ignoredProperties: Parameter(BOTH, _iri_list),
    SH.node: Parameter(BOTH, _any),
    SH["not"]: Parameter(BOTH, _any),
    SH["and"]: Parameter(BOTH, _shape_list),
    SH["or"]: Parameter(BOTH, _shape_list),
    SH.xone: Parameter(BOTH, _shape_list),
    SH.qualifiedValueShape: Parameter(frozenset({PROPERTY}), _any),
    SH.qualifiedMinCount: Parameter(frozenset({PROPERTY}), _integer),
    SH.qualifiedMaxCount: Parameter(frozenset({PROPERTY}), _integer),
    SH.qualifiedValueShapesDisjoint: Parameter(frozenset({PROPERTY}), _boolean),
}
IGNORED = {SH.name, SH.description, SH.order, SH.group, SH.defaultValue}
SHAPE_VALUED = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)
SPARQL_CONSTRAINT_PREDICATES = {SH.select, SH.message, SH.prefixes, SH.deactivated, SH.severity}
VALIDATOR_PREDICATES = {SH.select, SH.ask, SH.message, SH.prefixes}


def supported_predicates() -> dict[str, list[str]]:
    """The registry for the documentation: shape kind -> the sh: predicates evaluated."""
    table: dict[str, list[str]] = {NODE: [], PROPERTY: []}
    for predicate, parameter in REGISTRY.items():
        for kind in sorted(parameter.kinds):
            table[kind].append("sh:" + predicate.fragment)
    return {kind: sorted(names) for kind, names in table.items()}


# ---- the compiled form ---------------------------------------------------------------------------------------
@dataclass
class Shape:
    node: URIRef | BNode
    kind: str
    severity: URIRef
    message: str
    path: URIRef | BNode | None = None  # the sh:path node
    sparql_path: str | None = None
    deactivated: bool = False
    constraints: list = field(default_factory=list)
    properties: list[Shape] = field(default_factory=list)

    def values(self, f: str, v: str) -> str:
        """The pattern binding `v` to each value node of focus node `f`."""
        return f"{f} {self.sparql_path} {v} ." if self.kind == PROPERTY else f"BIND({f} AS {v})"

    def value_focus(self, focus: Focus) -> Focus:
        """A focus pattern for the value nodes of this shape's focus nodes."""
        if self.kind == NODE:
            return focus

        def inner(var: str) -> str:
            outer = fresh()
            return f"{{ {focus(outer)} {outer} {self.sparql_path} {var} . }}"

        return inner


@dataclass
class QueryConstraint:
    """One SELECT giving every violation: ?f, and ?v (the value) and ?p (a path) when the component gives them.
    `build(focus, shape)` writes the query for a focus pattern."""

    component: URIRef
    build: Callable[[Focus], str]
    constraint: URIRef | BNode | None = None
    value: str = "v"  # "v": ?v is the value; "focus": the value is the focus node; "none": no value
    dynamic_path: bool = False  # ?p is the result path
    message: str | None = None
    validator: URIRef | BNode | None = None  # of a SPARQL-based constraint component


@dataclass
class ShapeConstraint:
    """sh:node, sh:not, sh:and, sh:or, sh:xone: decided from which value nodes conform to other shapes."""

    component: URIRef
    rule: str  # node | not | and | or | xone
    shapes: list[Shape]


@dataclass
class QualifiedConstraint:
    shape: Shape
    siblings: list[Shape]
    minimum: int | None
    maximum: int | None


@dataclass
class Plan:
    """A targeted shape with its focus pattern: the unit of evaluation."""

    shape: Shape
    focus: Focus


def compile_shapes(shapes: Graph) -> list[Plan]:
    """Every targeted shape of `shapes`, compiled; raises Unsupported, before compiling anything, for any
    construct the engine does not evaluate."""
    if (None, SH.entailment, None) in shapes:
        raise Unsupported("sh:entailment is not evaluated by the SPARQL engine")
    components = _components(shapes)
    targeted = _targeted(shapes)
    reachable = _reachable(shapes, targeted)
    for node in sorted(reachable, key=_order):
        _check_shape(shapes, node, components)
    compiled: dict = {}
    plans = []
    for node in sorted(targeted, key=_order):
        shape = _compile(shapes, node, components, compiled, (), reachable)
        plans.append(Plan(shape, _focus(shapes, node)))
    return plans


def _order(node) -> tuple:
    return (isinstance(node, BNode), str(node))


def _types(shapes: Graph, node) -> set:
    """The SHACL types of a node in the shapes graph (rdf:type/rdfs:subClassOf*)."""
    found, todo = set(), list(shapes.objects(node, RDF.type))
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo.extend(shapes.objects(cls, RDFS.subClassOf))
    return found


def _targeted(shapes: Graph) -> set:
    # sh:target (a SHACL-AF target) makes a shape targeted too, so that the registry refuses it
    nodes = {s for t in (*TARGETS, SH.target) for s in shapes.subjects(t, None)}
    for node in set(shapes.subjects(RDF.type, None)):
        types = _types(shapes, node)
        if RDFS.Class in types and types & set(SHAPE_TYPES):
            nodes.add(node)
    for node in nodes:
        if isinstance(node, Literal):
            raise Unsupported(f"{node!r}: a literal cannot be a shape")
    return nodes


def _children(shapes: Graph, node) -> list:
    children = [o for p in SHAPE_VALUED for o in shapes.objects(node, p)]
    for p in SHAPE_LISTS:
        for members in shapes.objects(node, p):
            children.extend(_list(shapes, members))
    return children


def _reachable(shapes: Graph, roots: set) -> set:
    seen, todo = set(), list(roots)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        if not isinstance(node, URIRef | BNode):
            raise Unsupported(f"{node!r}: a literal cannot be a shape")
        seen.add(node)
        todo.extend(_children(shapes, node))
    return seen


def _list(shapes: Graph, head) -> list:
    """The members of a well-formed RDF list (refused otherwise)."""
    members, node, seen = [], head, set()
    while node != RDF.nil:
        if node in seen or not isinstance(node, BNode | URIRef):
            raise Unsupported(f"{head!r}: not a well-formed RDF list")
        seen.add(node)
        first, rest = list(shapes.objects(node, RDF.first)), list(shapes.objects(node, RDF.rest))
        if len(first) != 1 or len(rest) != 1:
            raise Unsupported(f"{head!r}: not a well-formed RDF list")
        members.append(first[0])
        node = rest[0]
    return members


def _kind(shapes: Graph, node) -> str:
    types = _types(shapes, node)
    has_path = (node, SH.path, None) in shapes
    if SH.PropertyShape in types and not has_path:
        raise Unsupported(f"{node}: a sh:PropertyShape without sh:path")
    if SH.NodeShape in types and has_path:
        raise Unsupported(f"{node}: a sh:NodeShape with a sh:path")
    return PROPERTY if has_path else NODE


def _check_shape(shapes: Graph, node, components: dict) -> None:
    """Refuse a shape using anything not in the registry (or a malformed value of something that is)."""
    kind = _kind(shapes, node)
    custom = {p for component in components.values() for p in component.parameters}
    for predicate in sorted(set(shapes.predicates(node, None))):
        values = list(shapes.objects(node, predicate))
        if predicate in REGISTRY:
            parameter = REGISTRY[predicate]
            if kind not in parameter.kinds:
                raise Unsupported(f"{node}: sh:{predicate.fragment} on a {kind} shape is not evaluated")
            for value in values:
                parameter.check(shapes, value)
        elif predicate in IGNORED or predicate in custom:
            continue
        elif predicate in SPARQL_CONSTRAINT_PREDICATES and (None, SH.sparql, node) in shapes:
            continue  # the shape is a SPARQL constraint too
        elif str(predicate).startswith(str(SH)):
            raise Unsupported(
                f"{node}: sh:{predicate.fragment} on a {kind} shape is not evaluated by the SPARQL engine"
            )
    for predicate in (SH.severity, SH.deactivated, SH.path, SH.closed, SH.qualifiedValueShapesDisjoint, SH.flags):
        if len(list(shapes.objects(node, predicate))) > 1:
            raise Unsupported(f"{node}: more than one sh:{predicate.fragment}")
    if (node, SH.flags, None) in shapes and (node, SH.pattern, None) not in shapes:
        raise Unsupported(f"{node}: sh:flags without sh:pattern")
    if kind == PROPERTY:
        sparql_path(shapes, shapes.value(node, SH.path))
    qualified = [(node, p, None) in shapes for p in (SH.qualifiedMinCount, SH.qualifiedMaxCount)]
    if (node, SH.qualifiedValueShape, None) in shapes:
        if len(list(shapes.objects(node, SH.qualifiedValueShape))) > 1 or not any(qualified):
            raise Unsupported(f"{node}: sh:qualifiedValueShape needs one shape and a qualified count")
    elif any(qualified):
        raise Unsupported(f"{node}: a qualified count without sh:qualifiedValueShape")
    if (node, SH.ignoredProperties, None) in shapes and (node, SH.closed, None) not in shapes:
        raise Unsupported(f"{node}: sh:ignoredProperties without sh:closed")


def sparql_path(shapes: Graph, node, depth: int = 0) -> str:
    """A SHACL path as a SPARQL property path; a malformed path is refused."""
    if depth > 50:
        raise Unsupported("a sh:path nested too deeply (or cyclic)")
    if isinstance(node, URIRef):
        return f"<{node}>"
    if not isinstance(node, BNode):
        raise Unsupported(f"{node!r} is not a SHACL path")
    predicates = set(shapes.predicates(node, None))
    if RDF.first in predicates:
        members = _list(shapes, node)
        if len(members) < 2 or predicates != {RDF.first, RDF.rest}:
            raise Unsupported(f"{node}: a sequence path needs at least two members and nothing else")
        return "(" + "/".join(sparql_path(shapes, m, depth + 1) for m in members) + ")"
    if len(predicates) != 1 or len(list(shapes.objects(node, next(iter(predicates))))) != 1:
        raise Unsupported(f"{node}: not a well-formed SHACL path")
    predicate = next(iter(predicates))
    value = shapes.value(node, predicate)
    if predicate == SH.alternativePath:
        members = _list(shapes, value)
        if len(members) < 2:
            raise Unsupported(f"{node}: an alternative path needs at least two members")
        return "(" + "|".join(sparql_path(shapes, m, depth + 1) for m in members) + ")"
    inner = sparql_path(shapes, value, depth + 1)
    operators = {
        SH.inversePath: "(^{})",
        SH.zeroOrMorePath: "({}*)",
        SH.oneOrMorePath: "({}+)",
        SH.zeroOrOnePath: "({}?)",
    }
    if predicate not in operators:
        raise Unsupported(f"{node}: not a well-formed SHACL path")
    return operators[predicate].format(inner)


def _focus(shapes: Graph, node) -> Focus:
    parts: list[Callable[[str], str]] = []
    classes = sorted(shapes.objects(node, SH.targetClass), key=str)
    types = _types(shapes, node)
    if RDFS.Class in types and types & set(SHAPE_TYPES):
        if not isinstance(node, URIRef):
            raise Unsupported(f"{node}: an implicit class target on a blank node")
        classes.append(node)
    for cls in classes:
        parts.append(lambda var, cls=cls: f"{var} rdf:type/rdfs:subClassOf* <{cls}> .")
    nodes = sorted(shapes.objects(node, SH.targetNode), key=str)
    if nodes:
        constants = " ".join(_sparql_term(n) for n in nodes)
        parts.append(lambda var: f"VALUES {var} {{ {constants} }}")
    for predicate in sorted(shapes.objects(node, SH.targetSubjectsOf), key=str):
        parts.append(lambda var, p=predicate: f"{var} <{p}> [] .")
    for predicate in sorted(shapes.objects(node, SH.targetObjectsOf), key=str):
        parts.append(lambda var, p=predicate: f"[] <{p}> {var} .")
    return lambda var: "{ " + " } UNION { ".join(part(var) for part in parts) + " }"


def _compile(shapes: Graph, node, components: dict, compiled: dict, stack: tuple, reachable: set) -> Shape:
    if node in stack:
        raise Unsupported(f"{node}: a recursive shape is not evaluated by the SPARQL engine")
    if node in compiled:
        return compiled[node]
    kind = _kind(shapes, node)
    shape = Shape(
        node,
        kind,
        shapes.value(node, SH.severity) or SH.Violation,
        str(shapes.value(node, SH.message) or ""),
        deactivated=_true(shapes, node, SH.deactivated),
    )
    if kind == PROPERTY:
        shape.path = shapes.value(node, SH.path)
        shape.sparql_path = sparql_path(shapes, shape.path)
    stack = (*stack, node)

    def sub(child) -> Shape:
        return _compile(shapes, child, components, compiled, stack, reachable)

    for prop in sorted(shapes.objects(node, SH.property), key=_order):
        shape.properties.append(sub(prop))
    shape.constraints.extend(_core(shapes, shape))
    for child in sorted(shapes.objects(node, SH.node), key=_order):
        shape.constraints.append(ShapeConstraint(SH.NodeConstraintComponent, "node", [sub(child)]))
    for child in sorted(shapes.objects(node, SH["not"]), key=_order):
        shape.constraints.append(ShapeConstraint(SH.NotConstraintComponent, "not", [sub(child)]))
    for predicate, rule, component in (
        (SH["and"], "and", SH.AndConstraintComponent),
        (SH["or"], "or", SH.OrConstraintComponent),
        (SH.xone, "xone", SH.XoneConstraintComponent),
    ):
        for members in sorted(shapes.objects(node, predicate), key=_order):
            shape.constraints.append(ShapeConstraint(component, rule, [sub(m) for m in _list(shapes, members)]))
    qualified = shapes.value(node, SH.qualifiedValueShape)
    if qualified is not None:
        siblings = []
        if _true(shapes, node, SH.qualifiedValueShapesDisjoint):
            for parent in shapes.subjects(SH.property, node):
                for other in shapes.objects(parent, SH.property):
                    if other != node:
                        siblings.extend(sub(s) for s in shapes.objects(other, SH.qualifiedValueShape))
        minimum, maximum = shapes.value(node, SH.qualifiedMinCount), shapes.value(node, SH.qualifiedMaxCount)
        shape.constraints.append(
            QualifiedConstraint(
                sub(qualified),
                siblings,
                int(minimum) if minimum is not None else None,
                int(maximum) if maximum is not None else None,
            )
        )
    for constraint in sorted(shapes.objects(node, SH.sparql), key=_order):
        found = _sparql_constraint(shapes, shape, constraint)
        if found is not None:
            shape.constraints.append(found)
    for component in components.values():
        shape.constraints.extend(component.constraints(shapes, shape))
    compiled[node] = shape
    return shape


# ---- core constraint components ------------------------------------------------------------------------------
F, V = "?mesokg_f", "?mesokg_v"


def _select(focus: Focus, body: str, project: str = f"({F} AS ?f) ({V} AS ?v)") -> str:
    return f"{PREFIXES}SELECT DISTINCT {project} WHERE {{ {focus(F)} {body} }}"


def _value_check(component, shape: Shape, condition: str) -> QueryConstraint:
    """A violation for each value node for which `condition` (on {v}) holds."""
    test = condition.replace("{v}", V)
    where = f"{shape.values(F, V)} FILTER({test})"
    return QueryConstraint(component, lambda focus: _select(focus, where))


def _core(shapes: Graph, shape: Shape) -> list:
    node, found = shape.node, []
    values = shape.values(F, V)

    def objects(predicate) -> list:
        return sorted(shapes.objects(node, predicate), key=str)

    for cls in objects(SH["class"]):
        # MINUS, not FILTER NOT EXISTS: the same answer here (both sides bind the value), and a store can find
        # the class's instances once instead of walking the hierarchy for every value
        where = f"{values} MINUS {{ {V} rdf:type/rdfs:subClassOf* <{cls}> }}"
        found.append(QueryConstraint(SH.ClassConstraintComponent, lambda focus, w=where: _select(focus, w)))
    for datatype in objects(SH.datatype):
        found.append(_value_check(SH.DatatypeConstraintComponent, shape, _datatype_violation(datatype)))
    for kind in objects(SH.nodeKind):
        found.append(_value_check(SH.NodeKindConstraintComponent, shape, "!" + NODE_KINDS[kind]))
    for predicate, operator, component in (
        (SH.minExclusive, ">", SH.MinExclusiveConstraintComponent),
        (SH.minInclusive, ">=", SH.MinInclusiveConstraintComponent),
        (SH.maxExclusive, "<", SH.MaxExclusiveConstraintComponent),
        (SH.maxInclusive, "<=", SH.MaxInclusiveConstraintComponent),
    ):
        for bound in objects(predicate):
            # a value that cannot be compared is a violation: the comparison's error counts as false
            found.append(
                _value_check(
                    component,
                    shape,
                    f'!COALESCE(lang({{v}}) = "" && {{v}} {operator} {_sparql_term(bound, exact=False)}, false)',
                )
            )
    for predicate, operator, component in (
        (SH.minLength, "<", SH.MinLengthConstraintComponent),
        (SH.maxLength, ">", SH.MaxLengthConstraintComponent),
    ):
        for length in objects(predicate):
            condition = f"isBlank({{v}}) || STRLEN(STR({{v}})) {operator} {int(length)}"
            found.append(_value_check(component, shape, condition))
    flags = shapes.value(node, SH.flags)
    for pattern in objects(SH.pattern):
        arguments = _sparql_term(Literal(str(pattern))) + (f", {_sparql_term(Literal(str(flags)))}" if flags else "")
        condition = f"isBlank({{v}}) || !COALESCE(REGEX(STR({{v}}), {arguments}), false)"
        found.append(_value_check(SH.PatternConstraintComponent, shape, condition))
    for languages in objects(SH.languageIn):
        tags = [str(t) for t in _list(shapes, languages)]
        matches = " || ".join(f"langMatches(lang({{v}}), {_sparql_term(Literal(t))})" for t in tags) or "false"
        found.append(_value_check(SH.LanguageInConstraintComponent, shape, f"!(isLiteral({{v}}) && ({matches}))"))
    for members in objects(SH["in"]):
        allowed = " || ".join(f"sameTerm({{v}}, {_sparql_term(t)})" for t in _list(shapes, members)) or "false"
        found.append(_value_check(SH.InConstraintComponent, shape, f"!({allowed})"))
    for value in objects(SH.hasValue):
        term = _sparql_term(value)
        if shape.kind == NODE:
            check = _value_check(SH.HasValueConstraintComponent, shape, f"!sameTerm({{v}}, {term})")
            check.value = "none"
            found.append(check)
        else:
            where = f"FILTER NOT EXISTS {{ {F} {shape.sparql_path} ?mesokg_x . FILTER(sameTerm(?mesokg_x, {term})) }}"
            found.append(
                QueryConstraint(
                    SH.HasValueConstraintComponent,
                    lambda focus, w=where: _select(focus, w, f"({F} AS ?f)"),
                    value="none",
                )
            )
    if shape.kind == PROPERTY:
        found.extend(_counts(shapes, shape))
    for other in objects(SH.equals):
        # a value not among the other property's values, and a value of the other property not among these
        first = f"{values} FILTER NOT EXISTS {{ {F} <{other}> {V} }}"
        second = f"{F} <{other}> {V} . FILTER NOT EXISTS {{ {_exists_value(shape)} }}"
        for where in (first, second):
            found.append(QueryConstraint(SH.EqualsConstraintComponent, lambda focus, w=where: _select(focus, w)))
    for other in objects(SH.disjoint):
        where = f"{values} {F} <{other}> {V} ."
        found.append(QueryConstraint(SH.DisjointConstraintComponent, lambda focus, w=where: _select(focus, w)))
    for predicate, operator, component in (
        (SH.lessThan, "<", SH.LessThanConstraintComponent),
        (SH.lessThanOrEquals, "<=", SH.LessThanOrEqualsConstraintComponent),
    ):
        for other in objects(predicate):
            where = (
                f"{values} {F} <{other}> ?mesokg_w . "
                f'FILTER(!COALESCE(lang({V}) = "" && lang(?mesokg_w) = "" && {V} {operator} ?mesokg_w, false))'
            )
            project = f"({F} AS ?f) ({V} AS ?v) ?mesokg_w"  # a result for each pair
            found.append(QueryConstraint(component, lambda focus, w=where, p=project: _select(focus, w, p)))
    if _true(shapes, node, SH.uniqueLang):
        second = shape.values(F, "?mesokg_y")
        where = (
            f'{values} {second} FILTER(!sameTerm({V}, ?mesokg_y) && lang({V}) != "" && '
            f"LCASE(lang({V})) = LCASE(lang(?mesokg_y))) BIND(LCASE(lang({V})) AS ?mesokg_lang)"
        )
        project = f"({F} AS ?f) ?mesokg_lang"
        found.append(
            QueryConstraint(
                SH.UniqueLangConstraintComponent, lambda focus: _select(focus, where, project), value="none"
            )
        )
    if _true(shapes, node, SH.closed):
        allowed = {shapes.value(p, SH.path) for p in shapes.objects(node, SH.property)}
        for ignored in shapes.objects(node, SH.ignoredProperties):
            allowed.update(_list(shapes, ignored))
        allowed = sorted(a for a in allowed if isinstance(a, URIRef))
        test = f"FILTER(?mesokg_p NOT IN ({', '.join(f'<{a}>' for a in allowed)}))" if allowed else ""
        where = f"{values} {V} ?mesokg_p ?mesokg_x . {test}"
        project = f"({F} AS ?f) (?mesokg_x AS ?v) (?mesokg_p AS ?p) {V}"
        found.append(
            QueryConstraint(
                SH.ClosedConstraintComponent, lambda focus: _select(focus, where, project), dynamic_path=True
            )
        )
    return found


def _exists_value(shape: Shape) -> str:
    return f"{F} {shape.sparql_path} {V} ." if shape.kind == PROPERTY else f"FILTER(sameTerm({F}, {V}))"


def _datatype_violation(datatype) -> str:
    """A value that is not a literal of the datatype, or whose lexical form is not valid for it."""
    if datatype == RDF.langString:
        return '!isLiteral({v}) || lang({v}) = ""'
    if datatype == XSD.string:
        return f"!isLiteral({{v}}) || datatype({{v}}) != <{datatype}>"
    valid = f'REGEX(STR({{v}}), "{LEXICAL[datatype]}")'
    if datatype in CASTS:
        valid += f" && isLiteral(<{datatype}>(STR({{v}})))"
        valid = f"COALESCE({valid}, false)"
    return f"!isLiteral({{v}}) || datatype({{v}}) != <{datatype}> || !({valid})"


def _counts(shapes: Graph, shape: Shape) -> list:
    path, node, found = shape.sparql_path, shape.node, []

    def focus_only(component, where: str) -> QueryConstraint:
        return QueryConstraint(component, lambda focus: _select(focus, where, f"({F} AS ?f)"), value="none")

    def count(component, comparison: str, optional: bool) -> QueryConstraint:
        values = f"OPTIONAL {{ {F} {path} ?mesokg_x }}" if optional else f"{F} {path} ?mesokg_x ."

        def build(focus: Focus) -> str:
            return (
                f"{PREFIXES}SELECT ({F} AS ?f) WHERE {{ {focus(F)} {values} }} "
                f"GROUP BY {F} HAVING (COUNT(DISTINCT ?mesokg_x) {comparison})"
            )

        return QueryConstraint(component, build, value="none")

    # the common cardinalities without grouping every focus node: "no value" and "two different values"
    for minimum in shapes.objects(node, SH.minCount):
        if int(minimum) == 1:
            where = f"OPTIONAL {{ {F} {path} ?mesokg_x }} FILTER(!BOUND(?mesokg_x))"
            found.append(focus_only(SH.MinCountConstraintComponent, where))
        elif int(minimum) > 1:
            found.append(count(SH.MinCountConstraintComponent, f"< {int(minimum)}", optional=True))
    for maximum in shapes.objects(node, SH.maxCount):
        if int(maximum) == 1:
            where = f"{F} {path} ?mesokg_x , ?mesokg_y . FILTER(!sameTerm(?mesokg_x, ?mesokg_y))"
            found.append(focus_only(SH.MaxCountConstraintComponent, where))
        elif int(maximum) == 0:
            found.append(focus_only(SH.MaxCountConstraintComponent, f"{F} {path} ?mesokg_x ."))
        else:
            found.append(count(SH.MaxCountConstraintComponent, f"> {int(maximum)}", optional=False))
    return found


# ---- SPARQL-based constraints ------------------------------------------------------------------------------
def _sparql_constraint(shapes: Graph, shape: Shape, constraint) -> QueryConstraint | None:
    for predicate in sorted(set(shapes.predicates(constraint, None))):
        if constraint == shape.node and predicate in REGISTRY:
            continue  # a shape that is its own SPARQL constraint: its shape predicates are checked as such
        if str(predicate).startswith(str(SH)) and predicate not in SPARQL_CONSTRAINT_PREDICATES | IGNORED:
            raise Unsupported(f"{constraint}: sh:{predicate.fragment} in a SPARQL constraint is not evaluated")
    if _true(shapes, constraint, SH.deactivated):
        return None
    own = shapes.value(constraint, SH.severity)
    if own is not None and own != shape.severity:
        raise Unsupported(f"{constraint}: a SPARQL constraint whose severity differs from its shape's")
    selects = list(shapes.objects(constraint, SH.select))
    if len(selects) != 1:
        raise Unsupported(f"{constraint}: only SPARQL constraints with one sh:select are evaluated")
    prologue = _prefixes(shapes, constraint)
    rewritten = _rewrite_select(prologue, str(selects[0]), shape, {}, prebound={"this"})
    message = shapes.value(constraint, SH.message) or shapes.value(shape.node, SH.message)
    return QueryConstraint(
        SH.SPARQLConstraintComponent,
        rewritten.build,
        constraint=constraint,
        value=rewritten.value,
        dynamic_path=rewritten.path,
        message=str(message or ""),
    )


@dataclass
class _Rewritten:
    build: Callable[[Focus], str]
    value: str
    path: bool


def _rewrite_select(prologue: str, text: str, shape: Shape, constants: dict, prebound: set[str]) -> _Rewritten:
    """A SELECT of a SPARQL-based constraint over every focus node at once: parameters become constants,
    $PATH the shape's path, and $this is pre-bound by the focus pattern (refused where that differs from
    substitution)."""
    text = _substitute(text, shape, constants)
    parts = _split(text)
    if parts.form != "SELECT":
        raise Unsupported("a SPARQL constraint or validator that is not a SELECT query")
    query = prologue + PREFIXES + text
    # both answers need rdflib's SPARQL parser (a second for the patient shapes): kept on disk per text
    problem = _ANALYSES.get(
        f"prebinding {sorted(prebound)} {query}", lambda: prebinding_problem(query, frozenset(prebound))
    )
    if problem:
        raise Unsupported(f"a SPARQL query the engine cannot pre-bind: {problem}")
    projected = set(_ANALYSES.get(f"projected {query}", lambda: sorted(_projected(_algebra(query)))))
    has_value = "value" in projected
    has_path = "path" in projected
    # one result per (focus node, value, path), as pySHACL reports them: solutions that differ only in other
    # variables are one result (the focus nodes are made distinct first)
    body = _rename(parts.body, {"this": "?mesokg_this"})
    head = _rename(parts.projection, {"this": "?mesokg_this"})
    outputs = "(?mesokg_this AS ?f)" + (" (?value AS ?v)" if has_value else "") + (" (?path AS ?p)" if has_path else "")
    expressions = "(" in _mask(parts.projection)

    def build(focus: Focus) -> str:
        focused = f"{{ SELECT DISTINCT ?mesokg_this WHERE {{ {focus('?mesokg_this')} }} }}"
        where = f"{{ {focused} {body} }}"
        if expressions:  # keep the projection's expressions (`(ex:p AS ?path)`) in a subquery
            listed = "*" in _mask(head) or re.search(r"\?mesokg_this\b", _mask(head))
            inner = head if listed else f"{head} ?mesokg_this"
            where = f"{{ SELECT {inner} WHERE {where} }}"
        return f"{PREFIXES}{prologue}{parts.prologue}SELECT DISTINCT {outputs} WHERE {where}"

    return _Rewritten(build, "v" if has_value else "focus", has_path)


def _substitute(text: str, shape: Shape, constants: dict) -> str:
    replacements = {name: _sparql_term(value) for name, value in constants.items()}
    if shape.kind == PROPERTY:
        replacements["PATH"] = shape.sparql_path
    elif re.search(r"\$PATH\b", _mask(text)):
        raise Unsupported("$PATH in a query of a node shape")
    masked = _mask(text)
    for name in ("shapesGraph", "currentShape"):
        if re.search(rf"[?$]{name}\b", masked):
            raise Unsupported(f"${name} is not evaluated by the SPARQL engine")
    return _replace_variables(text, replacements)


def _replace_variables(text: str, replacements: dict[str, str]) -> str:
    """Replace `$name` / `?name` outside strings, IRIs and comments."""
    if not replacements:
        return text
    masked = _mask(text)
    pattern = re.compile(r"[?$](" + "|".join(map(re.escape, replacements)) + r")\b")
    out, last = [], 0
    for match in pattern.finditer(masked):
        out.append(text[last : match.start()])
        out.append(replacements[match.group(1)])
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def _rename(text: str, names: dict[str, str]) -> str:
    return _replace_variables(text, names)


_TOKENS = re.compile(
    r"'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|<[^<>\"{}|^`\\\s]*>|#[^\n]*", re.S
)


def _mask(text: str) -> str:
    """The text with strings, IRIs and comments blanked out (same length), for finding keywords and braces."""
    return _TOKENS.sub(
        lambda m: (
            m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1]
            if m.group(0)[0] != "#"
            else " " * len(m.group(0))
        ),
        text,
    )


@dataclass
class _Parts:
    prologue: str
    form: str
    projection: str
    body: str
    tail: str


def _closing_brace(masked: str, start: int) -> int | None:
    """The index of the brace closing the one at `start` in a masked text (_mask), or None."""
    depth = 0
    for index in range(start, len(masked)):
        depth += {"{": 1, "}": -1}.get(masked[index], 0)
        if depth == 0:
            return index
    return None


def _split(text: str) -> _Parts:
    masked = _mask(text)
    form = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", masked, re.I)
    if form is None:
        raise Unsupported("a SPARQL text that is not a query")
    start = masked.find("{", form.end())
    if start < 0:
        raise Unsupported("a SPARQL query without a WHERE clause")
    end = _closing_brace(masked, start)
    if end is None:
        raise Unsupported("unbalanced braces in a SPARQL query")
    projection = re.sub(r"\bWHERE\s*$", "", text[form.end() : start].rstrip(), flags=re.I)
    return _Parts(text[: form.start()], form.group(1).upper(), projection, text[start + 1 : end], text[end + 1 :])


_ANALYSES = cache.Memo("sparql-analyses", f"{__version__}-{cache.code_digest(__file__)}")


@lru_cache(maxsize=256)
def _algebra(text: str):
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        return translateQuery(parseQuery(text)).algebra
    except Exception as error:  # pyparsing and rdflib raise several types for a bad query
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise Unsupported(f"a SPARQL query rdflib cannot parse: {first}") from None


def _projected(algebra) -> set[str]:
    node = algebra
    while node is not None and getattr(node, "name", None) not in ("Project",):
        node = node.get("p") if hasattr(node, "get") else None
    if node is None:
        return set()
    return {str(v) for v in node.get("PV") or []}


REFUSED_NODES = {
    "Minus": "MINUS",
    "Graph": "GRAPH",
    "ToMultiSet": "a subquery or VALUES",
    "values": "VALUES",
    "ServiceGraphPattern": "SERVICE",
    "Slice": "LIMIT or OFFSET",
    "Group": "GROUP BY",
    "AggregateJoin": "an aggregate",
}


def prebinding_problem(text: str, prebound: frozenset) -> str | None:
    """Why joining the query with the focus pattern would not give what pre-binding gives, or None.

    The focus pattern is joined at the start of the query's top group (here a marker triple pattern binding
    the pre-bound variables stands for it), so they are bound wherever the top group's FILTERs, BINDs and
    OPTIONALs are evaluated. Inside an inner group (a UNION branch, an OPTIONAL, a `{ ... }` block) a triple
    pattern using them is joined correctly, but an expression reading them before they are bound there is
    not: that, and the constructs the specification excludes, are refused."""
    if re.search(r"\bSERVICE\b", _mask(text), re.I):
        return "SERVICE"
    parts = _split(text)
    start = len(text) - len(parts.tail) - len(parts.body) - 1
    marker = " ".join(f"?{name} <urn:mesokg:prebound> ?{name} ." for name in sorted(prebound))
    try:
        _Analysis(prebound).top(_algebra(text[:start] + marker + text[start:]))
    except _Refused as refused:
        return str(refused)
    return None


class _Refused(Exception):
    pass


class _Analysis:
    def __init__(self, prebound: frozenset) -> None:
        self.prebound = prebound

    def top(self, algebra) -> None:
        node = algebra
        # solution modifiers over the whole query: every focus node's solutions are still apart
        while node.name in ("SelectQuery", "AskQuery", "Project", "Distinct", "Reduced"):
            node = node.p
        self.pattern(node, frozenset())

    def pattern(self, node, given: frozenset) -> frozenset:
        """The variables certainly bound by `node`; `given`: pre-bound variables substituted into it (the
        pattern of an EXISTS, which the store evaluates with the outer solution's bindings)."""
        name = getattr(node, "name", None)
        if name in REFUSED_NODES:
            raise _Refused(REFUSED_NODES[name])
        if name == "BGP":
            return frozenset(str(t) for triple in node.triples for t in triple if _is_variable(t)) | given
        if name == "Filter":
            bound = self.pattern(node.p, given)
            self.expression(node.expr, bound)
            return bound
        if name == "OrderBy":
            bound = self.pattern(node.p, given)
            for condition in node.expr:
                self.expression(condition, bound)
            return bound
        if name == "Join":
            return self.pattern(node.p1, given) | self.pattern(node.p2, given)
        if name == "LeftJoin":
            left = self.pattern(node.p1, given)
            right = self.pattern(node.p2, given)
            if self.mentions(node.p2) - left:
                raise _Refused("an OPTIONAL using a pre-bound variable that is not bound before it")
            if node.expr is not None:
                self.expression(node.expr, left | right)
            return left
        if name == "Union":
            return self.pattern(node.p1, given) & self.pattern(node.p2, given)
        if name == "Extend":
            bound = self.pattern(node.p, given)
            if str(node.var) in self.prebound:
                raise _Refused(f"BIND (... AS ?{node.var}) of a pre-bound variable")
            self.expression(node.expr, bound)
            return bound | {str(node.var)}
        raise _Refused(f"the SPARQL construct {name}")

    def expression(self, expr, bound: frozenset) -> None:
        """An expression may read a pre-bound variable only where it is bound."""
        for value in _walk(expr):
            if _is_variable(value) and str(value) in self.prebound and str(value) not in bound:
                raise _Refused(f"?{value} read where it is not bound (an inner group, UNION branch or OPTIONAL)")
            name = getattr(value, "name", None) or ""
            if name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                inner = value.graph
                if self.mentions(inner) - bound:
                    raise _Refused("EXISTS using a pre-bound variable where it is not bound")
                self.pattern(inner, bound & self.prebound)
            elif name.startswith("Aggregate_"):
                raise _Refused("an aggregate")

    def mentions(self, node) -> frozenset:
        return frozenset(str(v) for v in _walk(node) if _is_variable(v) and str(v) in self.prebound)


def _is_variable(term) -> bool:
    from rdflib.term import Variable

    return isinstance(term, Variable)


def _walk(node) -> Iterator:
    """Every term and sub-expression below an algebra node."""
    from rdflib.plugins.sparql.parserutils import CompValue

    todo = [node]
    while todo:
        item = todo.pop()
        yield item
        if isinstance(item, CompValue):
            if item.name == "BGP":
                todo.extend(t for triple in item.triples for t in triple)
                continue
            todo.extend(v for k, v in item.items() if k not in ("_vars",))
        elif isinstance(item, list | tuple):
            todo.extend(item)


def _prefixes(shapes: Graph, node) -> str:
    """The PREFIX lines of the sh:declare of the node's sh:prefixes, and of what those import (owl:imports)."""
    lines, todo, seen = [], list(shapes.objects(node, SH.prefixes)), set()
    while todo:
        declared = todo.pop(0)
        if declared in seen:
            continue
        seen.add(declared)
        todo.extend(shapes.objects(declared, OWL.imports))
        for declaration in shapes.objects(declared, SH.declare):
            prefix, namespace = shapes.value(declaration, SH.prefix), shapes.value(declaration, SH.namespace)
            if prefix is None or namespace is None:
                raise Unsupported(f"{declaration}: a prefix declaration without sh:prefix or sh:namespace")
            lines.append(f"PREFIX {prefix}: <{namespace}>\n")
    return "".join(lines)


_KEPT: dict = {}


def store_keeps(lexical: str, datatype: str) -> bool:
    """Whether the store keeps a literal as written. Oxigraph stores numbers, booleans, dates and times by
    value: `"4.0"^^xsd:decimal` comes back as `"4"`, `"1"^^xsd:byte` as an xsd:integer, so such a literal
    can neither be reported nor compared as the term it is."""
    key = (lexical, datatype)
    if key not in _KEPT:
        import pyoxigraph as ox

        scratch = ox.Store()
        literal = ox.Literal(lexical, datatype=ox.NamedNode(datatype))
        scratch.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), literal))
        back = next(iter(scratch)).object
        _KEPT[key] = back.value == lexical and back.datatype.value == datatype
    return _KEPT[key]


def _sparql_term(term, exact: bool = True) -> str:
    """A constant in a query. `exact`: compared as a term (sh:in, sh:hasValue, a target), so a literal the
    store keeps in another form is refused; a bound of a range is compared by value."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        if exact and term.datatype is not None and not store_keeps(str(term), str(term.datatype)):
            raise Unsupported(f"{term.n3()}: the store keeps this literal only in another form")
        return term.n3()
    raise Unsupported(f"{term!r}: only IRIs and literals are evaluated as constants")


# ---- SPARQL-based constraint components ------------------------------------------------------------------
@dataclass
class _Component:
    node: URIRef | BNode
    parameters: dict  # path -> optional?
    validators: dict  # NODE / PROPERTY -> (validator node, "select" | "ask")

    def constraints(self, shapes: Graph, shape: Shape) -> list[QueryConstraint]:
        mandatory = [p for p, optional in self.parameters.items() if not optional]
        if not all((shape.node, p, None) in shapes for p in mandatory):
            return []
        constants = {}
        for path in self.parameters:
            values = list(shapes.objects(shape.node, path))
            if len(values) > 1:
                raise Unsupported(f"{shape.node}: more than one value for the parameter {path}")
            if values:
                constants[_local_name(path)] = values[0]
        if shape.kind not in self.validators:
            raise Unsupported(f"{self.node}: no validator for a {shape.kind} shape")
        validator, form = self.validators[shape.kind]
        prologue = _prefixes(shapes, validator)
        message = str(shapes.value(shape.node, SH.message) or shapes.value(validator, SH.message) or "")
        text = str(shapes.value(validator, SH.select if form == "select" else SH.ask))
        if form == "select":
            if shape.kind == NODE:  # pySHACL binds $value to the focus node in node validators
                text = _replace_variables(text, {"value": "$this"})
            rewritten = _rewrite_select(prologue, text, shape, constants, prebound={"this"})
            return [
                QueryConstraint(
                    self.node,
                    rewritten.build,
                    value=rewritten.value if shape.kind == PROPERTY else "focus",
                    dynamic_path=rewritten.path,
                    message=message,
                    validator=validator,
                )
            ]
        return [_ask(self.node, prologue, text, shape, constants, message, validator)]


def _ask(component, prologue: str, text: str, shape: Shape, constants: dict, message: str, validator):
    """An ASK validator: a violation for each value node for which the ASK, $this and $value pre-bound, is
    false; evaluated as FILTER NOT EXISTS, which sees the focus node and the value bound."""
    text = _substitute(text, shape, constants)
    parts = _split(text)
    if parts.form != "ASK":
        raise Unsupported("sh:ask that is not an ASK query")
    problem = prebinding_problem(prologue + PREFIXES + text, frozenset({"this", "value"}))
    if problem:
        raise Unsupported(f"a SPARQL query the engine cannot pre-bind: {problem}")
    body = _rename(parts.body, {"this": F, "value": V})
    where = f"{shape.values(F, V)} FILTER NOT EXISTS {{ {body} }}"
    if parts.prologue.strip():
        raise Unsupported("an ASK validator with its own PREFIX lines")
    return QueryConstraint(
        component,
        lambda focus: PREFIXES + prologue + _select(focus, where).removeprefix(PREFIXES),
        message=message,
        validator=validator,
    )


def _local_name(iri) -> str:
    return re.split(r"[/#:]", str(iri))[-1]


def _components(shapes: Graph) -> dict:
    found = {}
    for node in sorted(set(shapes.subjects(RDF.type, None)), key=_order):
        if SH.ConstraintComponent not in _types(shapes, node):
            continue
        parameters = {}
        for parameter in shapes.objects(node, SH.parameter):
            path = shapes.value(parameter, SH.path)
            if not isinstance(path, URIRef):
                raise Unsupported(f"{node}: a parameter whose sh:path is not an IRI")
            if str(path).startswith(str(SH)):
                raise Unsupported(f"{node}: a parameter in the sh: namespace")
            optional = shapes.value(parameter, SH.optional)
            parameters[path] = optional == Literal(True)
        if not parameters:
            raise Unsupported(f"{node}: a constraint component without parameters")
        names = [_local_name(p) for p in parameters]
        if len(set(names)) != len(names) or set(names) & {"this", "value", "PATH", "shapesGraph", "currentShape"}:
            raise Unsupported(f"{node}: parameters whose variable names clash")
        validators = {}
        for predicate, kinds in ((SH.validator, BOTH), (SH.nodeValidator, {NODE}), (SH.propertyValidator, {PROPERTY})):
            for validator in shapes.objects(node, predicate):
                for p in sorted(set(shapes.predicates(validator, None))):
                    if str(p).startswith(str(SH)) and p not in VALIDATOR_PREDICATES | IGNORED:
                        raise Unsupported(f"{validator}: sh:{p.fragment} in a validator is not evaluated")
                select, ask = shapes.value(validator, SH.select), shapes.value(validator, SH.ask)
                if (select is None) == (ask is None):
                    raise Unsupported(f"{validator}: a validator needs exactly one of sh:select and sh:ask")
                form = "select" if select is not None else "ask"
                if (predicate == SH.validator) != (form == "ask"):
                    raise Unsupported(f"{validator}: sh:validator must be ASK, node and property validators SELECT")
                for kind in kinds:
                    if predicate != SH.validator or kind not in validators:
                        validators[kind] = (validator, form)
        found[node] = _Component(node, parameters, validators)
    return found


# ---- evaluation ----------------------------------------------------------------------------------------------
def evaluate(store, plans: list[Plan], skip: Callable | None = None) -> Iterator[Violation]:
    """Run the compiled shapes on the store; yield one Violation per result. `skip(shape, constraint)`: a
    constraint the caller evaluates itself (the clinical rule)."""
    runner = _Runner(store, skip)
    for plan in plans:
        for raw in runner.violations(plan.shape, plan.focus):
            yield raw.finish(to_rdflib)


@dataclass
class _Raw:
    focus: object  # store terms
    shape: Shape
    component: URIRef
    value: object | None
    path: object | None
    message: str
    constraint: object | None = None
    store_path: bool = False
    details: tuple[_Raw, ...] = ()

    def finish(self, to_rdflib) -> Violation:
        value = to_rdflib(self.value) if self.value is not None else None
        path = to_rdflib(self.path) if self.store_path else self.path
        message = _message(self.message, value)
        return Violation(
            to_rdflib(self.focus),
            self.shape.node,
            self.component,
            self.shape.severity,
            value,
            path,
            message,
            self.constraint,
            tuple(detail.finish(to_rdflib) for detail in self.details),
        )


class _Runner:
    def __init__(self, store, skip: Callable | None) -> None:
        self.store = store
        self.skip = skip or (lambda shape, constraint: False)

    def select(self, query: str):
        try:
            return list(self.store.select(query))
        except MesokgError as error:
            raise EvaluationError(f"a compiled query failed: {error}") from None
        except (OSError, RuntimeError, ValueError, SyntaxError) as error:
            raise EvaluationError(f"a compiled query failed in the store: {error}") from None

    def violations(self, shape: Shape, focus: Focus) -> list[_Raw]:
        return [raw for _, raw in self.owned(shape, focus)]

    def owned(self, shape: Shape, focus: Focus) -> list[tuple[object, _Raw]]:
        """Every result of validating the shape's focus nodes, each with the focus node of `shape` whose
        validation gave it (a result of a nested property shape has a value node of this shape as its own
        focus node)."""
        if shape.deactivated:
            return []
        found: list[tuple[object, _Raw]] = []
        for constraint in shape.constraints:
            if self.skip(shape, constraint):
                continue
            if isinstance(constraint, QueryConstraint):
                raws = self.query(shape, constraint, focus)
            elif isinstance(constraint, ShapeConstraint):
                raws = self.shape_constraint(shape, constraint, focus)
            else:
                raws = self.qualified(shape, constraint, focus)
            found.extend((raw.focus, raw) for raw in raws)
        if shape.properties:
            inner = shape.value_focus(focus)
            # a value reached from several focus nodes is validated once for each of them, as SHACL does
            owners: dict = defaultdict(list)
            if shape.kind == PROPERTY:
                for f, v in self.pairs(shape, focus):
                    owners[v].append(f)
            for prop in shape.properties:
                for value, raw in self.owned(prop, inner):
                    found.extend((f, raw) for f in (owners[value] if shape.kind == PROPERTY else (value,)))
        return found

    def failing(self, shape: Shape, focus: Focus) -> set:
        return {owner for owner, _ in self.owned(shape, focus)}

    def query(self, shape: Shape, constraint: QueryConstraint, focus: Focus) -> Iterator[_Raw]:
        message = constraint.message if constraint.message is not None else shape.message
        for row in self.select(constraint.build(focus)):
            f = row["f"]
            value = {"v": _get(row, "v"), "focus": f, "none": None}[constraint.value]
            if constraint.value == "v" and value is None and shape.kind == NODE:
                value = f  # a SPARQL constraint leaving ?value unbound: the focus node
            path, store_path = shape.path, False
            if constraint.dynamic_path and _get(row, "p") is not None:
                path, store_path = row["p"], True
            yield _Raw(f, shape, constraint.component, value, path, message, constraint.constraint, store_path)

    def pairs(self, shape: Shape, focus: Focus, optional: bool = False) -> list[tuple]:
        """(focus node, value node) of the shape under `focus` (value None for a focus node without any)."""
        if shape.kind == NODE:
            rows = self.select(f"{PREFIXES}SELECT DISTINCT ({F} AS ?f) WHERE {{ {focus(F)} }}")
            return [(row["f"], row["f"]) for row in rows]
        values = shape.values(F, V)
        where = f"OPTIONAL {{ {values} }}" if optional else values
        rows = self.select(f"{PREFIXES}SELECT DISTINCT ({F} AS ?f) ({V} AS ?v) WHERE {{ {focus(F)} {where} }}")
        return [(row["f"], _get(row, "v")) for row in rows]

    def shape_constraint(self, shape: Shape, constraint: ShapeConstraint, focus: Focus) -> Iterator[_Raw]:
        pairs = self.pairs(shape, focus)
        if not pairs:
            return
        candidates = shape.value_focus(focus)
        # the results of each inner shape, by the value node whose validation gave them
        results: list[dict] = []
        for inner in constraint.shapes:
            by_value: dict = defaultdict(list)
            for owner, raw in self.owned(inner, candidates):
                by_value[owner].append(raw)
            results.append(by_value)
        for f, v in pairs:
            conforms = [v not in by_value for by_value in results]
            wrong = {
                "node": not all(conforms),
                "not": all(conforms),
                "and": not all(conforms),
                "or": not any(conforms),
                "xone": sum(conforms) != 1,
            }[constraint.rule]
            if wrong:
                # pySHACL nests the value's results against the node shape under a sh:node result (sh:detail)
                details = tuple(results[0].get(v, ())) if constraint.rule == "node" else ()
                yield _Raw(f, shape, constraint.component, v, shape.path, shape.message, details=details)

    def qualified(self, shape: Shape, constraint: QualifiedConstraint, focus: Focus) -> Iterator[_Raw]:
        pairs = self.pairs(shape, focus, optional=True)
        candidates = shape.value_focus(focus)
        failing = self.failing(constraint.shape, candidates)
        siblings = [self.failing(s, candidates) for s in constraint.siblings]
        counts: Counter = Counter()
        for f, v in pairs:
            counts[f] += 0
            if v is not None and v not in failing and all(v in fails for fails in siblings):
                counts[f] += 1
        for f, n in counts.items():
            if constraint.minimum is not None and n < constraint.minimum:
                yield _Raw(f, shape, SH.QualifiedMinCountConstraintComponent, None, shape.path, shape.message)
            if constraint.maximum is not None and n > constraint.maximum:
                yield _Raw(f, shape, SH.QualifiedMaxCountConstraintComponent, None, shape.path, shape.message)


def _get(row, name: str):
    try:
        return row[name]
    except KeyError:
        return None


def _message(template: str, value) -> str:
    return template.replace("{?value}", str(value)) if value is not None else template


def with_details(violations) -> Iterator[Violation]:
    """The violations and, depth first, the results nested under each (sh:detail)."""
    for violation in violations:
        yield violation
        yield from with_details(violation.details)


def all_shapes(plans: list[Plan]) -> Iterator[Shape]:
    """Every compiled shape reachable from the plans, once."""
    seen: set = set()
    todo = [plan.shape for plan in plans]
    while todo:
        shape = todo.pop()
        if id(shape) in seen:
            continue
        seen.add(id(shape))
        yield shape
        todo.extend(shape.properties)
        for constraint in shape.constraints:
            if isinstance(constraint, ShapeConstraint):
                todo.extend(constraint.shapes)
            elif isinstance(constraint, QualifiedConstraint):
                todo.extend([constraint.shape, *constraint.siblings])


@dataclass(frozen=True)
class Decorrelated:
    """A query whose top-level `FILTER NOT EXISTS { P }` blocks were taken out: `query` without them, and for
    each block its pattern `P` and the variables `P` shares with the rest of the query."""

    query: str
    blocks: tuple[tuple[str, tuple[str, ...]], ...]
    prologue: str = ""  # the query's PREFIX declarations, which the blocks' patterns use


_NOT_PLAIN = re.compile(r"\b(FILTER|BIND|OPTIONAL|MINUS|SELECT|EXISTS|SERVICE|GRAPH|VALUES)\b|\{", re.I)


def decorrelate_not_exists(text: str) -> Decorrelated:
    """Take the top-level `FILTER NOT EXISTS { ... }` blocks out of a SELECT's WHERE group, so that they can be
    answered once per distinct binding of their shared variables (see `exclusion_query`) instead of once per row,
    which is what an engine does with a correlated NOT EXISTS (for the clinical rule over a population, 94% of
    the run). Only blocks whose pattern holds no FILTER, BIND, OPTIONAL, MINUS, subquery or nested NOT EXISTS
    are taken out: for a plain group pattern, keeping the rows for which `P`, with the shared variables bound
    (an unbound one left free), has no solution is exactly what the filter does; and only those whose shared
    variables the query selects, since the rows must carry their values. Anything else stays in the query."""
    parts = _split(text)
    masked = _mask(parts.body)
    blocks = []  # (start, end, pattern) of each plain top-level block
    depth, index = 0, 0
    while index < len(masked):
        char = masked[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            found = re.match(r"FILTER\s+NOT\s+EXISTS\s*\{", masked[index:], re.I)
            if found:
                open_at = index + found.end() - 1
                close_at = _closing_brace(masked, open_at)
                if close_at is None:
                    break
                inner = masked[open_at + 1 : close_at]
                if not re.search(
                    r"\b(FILTER|BIND|OPTIONAL|MINUS|SELECT|EXISTS|SERVICE|GRAPH|VALUES)\b|\{", inner, re.I
                ):
                    blocks.append((index, close_at + 1, parts.body[open_at + 1 : close_at]))
                index = close_at + 1
                continue
        index += 1

    def without(cut) -> str:
        """The body with the blocks `cut` taken out."""
        pieces, position = [], 0
        for start, end, _ in cut:
            pieces.append(parts.body[position:start])
            position = end
        return "".join(pieces) + parts.body[position:]

    outer = set(re.findall(r"[?$](\w+)", _mask(parts.prologue + parts.projection + without(blocks))))
    projection = _mask(parts.projection)
    selected = outer if "*" in projection else set(re.findall(r"[?$](\w+)", projection))
    # a block is answered apart only if the rows carry the values of every variable it shares
    taken = []
    for block in blocks:
        shared = tuple(sorted(set(re.findall(r"[?$](\w+)", _mask(block[2]))) & outer))
        if set(shared) <= selected:
            taken.append((block, shared))
    if not taken:
        return Decorrelated(text, ())
    body = without([block for block, _ in taken])
    query = f"{parts.prologue}{parts.form} {parts.projection} WHERE {{{body}}}{parts.tail}"
    return Decorrelated(query, tuple((block[2], shared) for block, shared in taken), parts.prologue)


def exclusion_query(pattern: str, shared: tuple[str, ...], prologue: str = "") -> str:
    """A SELECT that has a solution for given values of the shared variables (bound as substitutions, never
    written into the text) exactly when `pattern` has one: the rows a FILTER NOT EXISTS on it removes."""
    return f"{prologue}SELECT {' '.join(f'?{name}' for name in shared)} WHERE {{ {pattern} }} LIMIT 1"
