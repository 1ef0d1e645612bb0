"""Resolving the clinical codes of patient records (mesokg:code) into the graph's concepts.

A condition gets the class its code resolves to, a medication use or an allergy record the substance (or
class of substances) its code names. The same triples are made for an rdflib graph and for a store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from mesokg.namespace import MESOKG
from mesokg.prefixes import compact
from mesokg.resolve import CODE as CODE_PATTERN
from mesokg.resolve import GRAPH_PREFIXES, ResolutionError, candidates, resolve_code


def resolve_record_codes(graph: Graph) -> int:
    """Turn the clinical codes (mesokg:code) of patient records into the graph's concepts; returns how many
    records were resolved.

    - a condition (untyped, or typed only outside the condition hierarchy) gets the class its code resolves to
      (ICD10CM:E11.65 -> type 2 diabetes mellitus), for each of its codes;
    - a medication use without mesokg:medication gets the substance its code resolves to (ATC:B01AA03 ->
      warfarin); a code that resolves only to a class of substances (ATC:B01AE07 -> anticoagulants, through
      ATC B01AE) names the coded drug itself, typed with that class, so a class-wide contraindication applies;
    - an allergy record without mesokg:substance gets the substance or class of substances its code names.
    A code that resolves to nothing is left alone: the shapes then report the record as incomplete.
    """
    records = []
    for node in sorted(set(graph.subjects(CODE, None)), key=str):
        types = set(graph.objects(node, RDF.type))
        kind = record_kind(types, (None, HAS_CONDITION, node) in graph)
        if kind is None:
            continue
        link = graph.value(node, LINKS[kind]) if kind in LINKS else None
        records.append(
            CodedRecord(
                node,
                kind,
                sorted(graph.objects(node, CODE), key=str),
                types,
                link is not None,
                list(graph.objects(node, RDFS.label)),
            )
        )
    triples = resolution_triples(records, CodeResolver(graph))
    for triple in triples:
        graph.add(triple)
    return len({t[0] for t in triples if t[0] in {r.node for r in records}})


CODE = MESOKG.code


HAS_CONDITION = MESOKG.hasCondition


LINKS = {"medication": MESOKG.medication, "allergy": MESOKG.substance}


@dataclass
class CodedRecord:
    """A patient-record node that carries clinical codes: a condition, a medication use or an allergy."""

    node: object
    kind: str  # condition, medication, allergy
    codes: list
    types: set
    linked: bool  # a medication use that names its substance already, an allergy that names its allergen
    labels: list


def record_kind(types: set, is_condition: bool) -> str | None:
    if MESOKG.MedicationUse in types:
        return "medication"
    if MESOKG.AllergyRecord in types:
        return "allergy"
    return "condition" if is_condition else None


def resolution_triples(records: list[CodedRecord], resolver: CodeResolver) -> list[tuple]:
    """The triples that state, in the graph's terms, what the records' codes mean (see resolve_record_codes).

    What a record means depends only on its kind, codes, types, link and labels, so records alike (a
    population repeats a few thousand kinds of record) are answered once and the answer is given each node."""
    triples: list[tuple] = []
    answered: dict[tuple, list[tuple]] = {}
    for record in records:
        alike = (record.kind, tuple(record.codes), frozenset(record.types), record.linked, tuple(record.labels))
        answer = answered.get(alike)
        if answer is None:
            answer = answered[alike] = _record_triples(replace(record, node=_THE_RECORD), resolver)
        triples.extend(tuple(record.node if term is _THE_RECORD else term for term in triple) for triple in answer)
    return triples


_THE_RECORD = object()  # stands for the record's node in an answer shared by records alike


def _record_triples(record: CodedRecord, resolver: CodeResolver) -> list[tuple]:
    if record.kind == "condition":
        if record.types & resolver.members("condition"):
            return []
        classes = sorted({c for c in (resolver.resolve(x, "condition") for x in record.codes) if c is not None})
        return [(record.node, RDF.type, cls) for cls in classes]
    if not record.linked:
        return _substance_triples(record, resolver, LINKS[record.kind], record.kind == "medication")
    return []


def _substance_triples(record: CodedRecord, resolver: CodeResolver, link: URIRef, name_the_drug: bool) -> list:
    substances = sorted({c for c in (resolver.resolve(x, "substance") for x in record.codes) if c is not None})
    if substances:  # two different substances: the shapes report the record
        return [(record.node, link, substance) for substance in substances]
    for coded in record.codes:
        cls = resolver.resolve(coded, "role")
        if cls is None:
            continue
        if not name_the_drug:
            return [(record.node, link, cls)]
        return [
            (record.node, link, coded),
            (coded, RDF.type, cls),
            *((coded, RDFS.label, label) for label in record.labels),
        ]
    return []


class CodeResolver:
    """Code -> concept of a kind, with the candidate sets and answers computed once per graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._members: dict[str, set[URIRef]] = {}
        self._answers: dict[tuple[str, str], URIRef | None] = {}

    def members(self, kind: str) -> set[URIRef]:
        if kind not in self._members:
            self._members[kind] = set(candidates(self.graph, kind))
        return self._members[kind]

    def resolve(self, code, kind: str) -> URIRef | None:
        key = (str(code), kind)
        if key not in self._answers:
            match = CODE_PATTERN.fullmatch(compact(str(code)))
            answer = None
            if isinstance(code, URIRef) and code in self.members(kind):
                answer = code  # a record coded with a concept of the graph itself (FHIR system mesokg)
            elif match and match.group(1) not in GRAPH_PREFIXES:
                try:
                    answer = resolve_code(self.graph, match.group(1), match.group(2), self.members(kind), kind)
                except ResolutionError:
                    answer = None
            self._answers[key] = answer
        return self._answers[key]
