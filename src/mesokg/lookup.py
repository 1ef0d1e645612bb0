"""`mesokg lookup`: what a clinical code, IRI, label or synonym names in the graph, and the codes of a concept.

Unlike parameter resolution (mesokg.resolve), a lookup does not insist on one answer: a label shared by two
concepts lists both. A code resolves through its terminology's hierarchy to the nearest mapped code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from mesokg.errors import MesokgError
from mesokg.prefixes import compact, prefix_map
from mesokg.resolve import CODE, GRAPH_PREFIXES, ResolutionError, _as_iri, concepts_for_code, label_of
from mesokg.terminologies import code_system

MESOKG = "https://w3id.org/mesokg/"
ALL_MATCHES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch, SKOS.broadMatch)


@dataclass(frozen=True)
class Code:
    """One mapping of a concept to a clinical code, as a clinical system would display it."""

    curie: str
    system: str | None  # the FHIR Coding.system URI, where FHIR names the code system
    code: str
    match: str  # exactMatch, closeMatch, narrowMatch (the code is narrower), broadMatch (the code is broader)
    display: str | None  # the code's title from shipped code data; None where its licence forbids (SNOMED CT)


@dataclass(frozen=True)
class Hit:
    concept: str
    label: str
    kind: str
    matchedBy: str  # noqa: N815 - JSON field name
    codes: list[Code] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def codes_of(graph: Graph, concept: URIRef) -> list[Code]:
    """Every clinical code the concept is mapped to, in a stable order."""
    codes = []
    for predicate in ALL_MATCHES:
        for target in graph.objects(concept, predicate):
            curie = compact(str(target))
            prefix, _, local = curie.partition(":")
            system = code_system(prefix)
            codes.append(
                Code(
                    curie,
                    system.fhir_system if system else None,
                    local,
                    predicate.fragment,
                    system.title(local) if system else None,
                )
            )
    return sorted(codes, key=lambda c: (c.curie, c.match))


def kind_of(graph: Graph, iri: URIRef) -> str:
    m = lambda local: URIRef(MESOKG + local)  # noqa: E731
    types = set(graph.objects(iri, RDF.type))
    if m("Treatment") in types:
        return "treatment"
    if m("Procedure") in types:
        return "procedure"
    supers = set(graph.transitive_objects(iri, RDFS.subClassOf)) - {iri}
    if m("Condition") in supers:
        return "condition"
    if m("Substance") in supers:
        return "substance class"
    if any(m("Substance") in set(graph.transitive_objects(t, RDFS.subClassOf)) for t in types):
        return "substance"
    if OWL.Class in types:
        return "class"
    return "concept"


def lookup(graph: Graph, text: str) -> list[Hit]:
    """The concepts `text` names; an empty list when it names none. Raises MesokgError for an invalid code."""
    value = text.strip()
    code = CODE.fullmatch(value)
    if code and code.group(1) not in GRAPH_PREFIXES and not value.startswith(("http://", "https://", "urn:", "<")):
        return _by_code(graph, code.group(1), code.group(2))
    iri = _as_iri(value)
    if iri is not None:
        if (iri, RDFS.label, None) in graph:
            return [_hit(graph, iri, f"IRI {compact(str(iri))}")]
        return []
    wanted = value.casefold()
    hits = {}
    for predicate, how in ((RDFS.label, "label"), (SKOS.altLabel, "synonym")):
        for concept, literal in graph.subject_objects(predicate):
            if isinstance(concept, URIRef) and str(literal).casefold() == wanted and concept not in hits:
                hits[concept] = _hit(graph, concept, f'{how} "{literal}"')
    return [hits[c] for c in sorted(hits)]


def _by_code(graph: Graph, prefix: str, local: str) -> list[Hit]:
    if prefix not in prefix_map():
        raise MesokgError(f"{prefix}:{local}: {prefix} is not a code system mesokg knows (see ontology/prefixes.yaml)")
    try:
        step, concepts = concepts_for_code(graph, prefix, local)
    except ResolutionError as error:
        raise MesokgError(str(error).removeprefix("value=")) from None
    how = f"{prefix}:{step}" + ("" if step == local else f", above {prefix}:{local}")
    return [_hit(graph, c, how) for c in concepts]


def _hit(graph: Graph, concept: URIRef, how: str) -> Hit:
    return Hit(str(concept), label_of(graph, concept), kind_of(graph, concept), how, codes_of(graph, concept))


def nearest_hint(graph: Graph, text: str) -> str:
    """For a valid code that names nothing: the nearest code above it that has some mapping, and how."""
    from mesokg.resolve import _nearest, code_lineage

    code = CODE.fullmatch(text.strip())
    if not code or code.group(1) in GRAPH_PREFIXES or code.group(1) not in prefix_map():
        return ""
    try:
        return _nearest(graph, code.group(1), code_lineage(code.group(1), code.group(2)))
    except ResolutionError:
        return ""


def format_text(text: str, hits: list[Hit], hint: str = "") -> str:
    if not hits:
        return f"{text}: names nothing in the graph{hint}"
    lines = []
    for hit in hits:
        lines.append(f"{text} -> {compact(hit.concept)} ({hit.label}), {hit.kind}; matched by {hit.matchedBy}")
        shown: dict[tuple[str, str], int] = {}
        for c in hit.codes:
            group = (c.match, c.curie.partition(":")[0])
            shown[group] = shown.get(group, 0) + 1
            if shown[group] <= TEXT_CODES_PER_GROUP:
                display = f" {c.display}" if c.display else ""
                lines.append(f"    {c.match:<12} {c.curie}{display}")
        for (match, prefix), count in shown.items():
            if count > TEXT_CODES_PER_GROUP:
                more = count - TEXT_CODES_PER_GROUP
                lines.append(f"    {match:<12} ... and {more} more {prefix} codes (-f json lists them all)")
    return "\n".join(lines)


# the text output lists at most this many codes per match and code system (pregnancy has ~160 ICD-10-CM codes)
TEXT_CODES_PER_GROUP = 12
