"""Naming concepts: what a user or a record writes (IRI, CURIE, local name, label, synonym or clinical code)
resolved to concepts of the graph, and a concept's own clinical codes.

`resolve` insists on exactly one concept of a kind (parameters, --treatment): it returns an IRI that exists
in the graph, or raises an error listing the candidates. `lookup` (the `mesokg lookup` command) lists every
concept a value names. A code resolves through its terminology's hierarchy to the nearest mapped code.
Resolution never builds query text.
"""

from __future__ import annotations

import difflib
import re
import weakref
from dataclasses import asdict, dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from mesokg.errors import MesokgError
from mesokg.namespace import BASE, MESOKG
from mesokg.prefixes import compact, converter, iri_of, prefix_map
from mesokg.results import Code
from mesokg.terminologies import code_system

# kind -> SPARQL pattern selecting the candidate concepts ?c of that kind
KIND_PATTERNS = {
    "condition": "?c rdfs:subClassOf+ mesokg:Condition .",
    "treatment": "?c a mesokg:Treatment .",
    "substance": "?c a/rdfs:subClassOf* mesokg:Substance .",
    "role": "?c rdfs:subClassOf+ mesokg:Substance .",
    "frequency": "?c a mesokg:FrequencyBand .",
    "subject": "{ ?c a mesokg:Treatment } UNION { ?c a mesokg:Procedure } "
    "UNION { ?c a/rdfs:subClassOf* mesokg:Substance }",
    "concept": "?c rdfs:label ?any .",
}
KIND_QUERY = """
PREFIX mesokg: <https://w3id.org/mesokg/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?c WHERE {{ {pattern} FILTER(isIRI(?c)) }}
"""


class ResolutionError(MesokgError):
    """A value that names no concept, or several."""


@dataclass(frozen=True)
class Candidate:
    iri: URIRef
    label: str

    def __str__(self) -> str:
        return f"{compact(str(self.iri))} ({self.label})"


def candidates(graph: Graph, kind: str) -> list[URIRef]:
    return list(_kind_index(graph, kind)[0])


# per graph and kind: (sorted candidates, their set, casefolded label or synonym -> candidates). Kept while the
# graph is alive and unchanged in size, so a warm query does not run the kind's SPARQL query again.
_INDEXES: dict[int, tuple[weakref.ref, int, dict]] = {}


def _kind_index(graph: Graph, kind: str) -> tuple[tuple[URIRef, ...], frozenset, dict[str, frozenset]]:
    if kind not in KIND_PATTERNS:
        raise MesokgError(f"unknown parameter kind {kind!r}; known: {', '.join(sorted(KIND_PATTERNS))}")
    key, size = id(graph), len(graph)
    entry = _INDEXES.get(key)
    if entry is None or entry[0]() is not graph or entry[1] != size:
        entry = _INDEXES[key] = (weakref.ref(graph, lambda _: _INDEXES.pop(key, None)), size, {})
    kinds = entry[2]
    if kind not in kinds:
        pool = tuple(sorted(row.c for row in graph.query(KIND_QUERY.format(pattern=KIND_PATTERNS[kind]))))
        labels: dict[str, set] = {}
        for c in pool:
            for lit in (*graph.objects(c, RDFS.label), *graph.objects(c, SKOS.altLabel)):
                labels.setdefault(str(lit).casefold(), set()).add(c)
        kinds[kind] = (pool, frozenset(pool), {label: frozenset(found) for label, found in labels.items()})
    return kinds[kind]


def label_of(graph: Graph, iri: URIRef) -> str:
    label = graph.value(iri, RDFS.label)
    return str(label) if label is not None else compact(str(iri))


def resolve(graph: Graph, value: str, kind: str = "concept", name: str = "value") -> URIRef:
    """The one concept of `kind` that `value` names: an IRI, a CURIE, the local name of a mesokg IRI, a label
    or synonym (any case), or a clinical code. An unknown or ambiguous value is an error listing candidates."""
    text = value.strip()
    pool, members, by_label = _kind_index(graph, kind)
    code = CODE.fullmatch(text)
    if code and code.group(1) not in GRAPH_PREFIXES and not text.startswith(("http://", "https://", "urn:", "<")):
        return resolve_code(graph, code.group(1), code.group(2), members, kind, name)
    iri = _as_iri(text)
    if iri is not None:
        if iri in members:
            return iri
        raise ResolutionError(f"{name}={value!r}: {compact(str(iri))} is not a {kind} of the graph")
    if LOCAL_NAME.fullmatch(text) and URIRef(BASE + text) in members:
        return URIRef(BASE + text)
    wanted = text.casefold()
    matches = sorted(by_label.get(wanted, ()))
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = "; ".join(str(Candidate(c, label_of(graph, c))) for c in matches)
        raise ResolutionError(f"{name}={value!r} names {len(matches)} {kind}s: {listed}")
    labels = {
        str(lit).casefold(): c
        for c in pool
        for lit in (*graph.objects(c, RDFS.label), *graph.objects(c, SKOS.altLabel))
    }
    close = difflib.get_close_matches(wanted, list(labels), n=5, cutoff=0.6)
    if not close:
        close = [label for label in labels if wanted and (wanted in label or label in wanted)][:5]
    if close:
        hint = "; did you mean: " + "; ".join(str(Candidate(labels[c], c)) for c in close)
    else:  # nothing alike: some of the candidates, so the user sees what a value looks like
        shown = "; ".join(str(Candidate(c, label_of(graph, c))) for c in pool[:CANDIDATES_SHOWN])
        hint = f"; the {len(pool)} {kind}s include: {shown}" if pool else f"; the graph has no {kind}"
    raise ResolutionError(f"{name}={value!r} names no {kind}{hint}")


LOCAL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # the local names of mesokg's IRIs (docs: Identifiers)
CANDIDATES_SHOWN = 8


# prefixes whose IRIs name concepts of the graph itself; every other prefix is a code system
GRAPH_PREFIXES = frozenset({"mesokg"})
CODE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):(\S+)")
# a record coded X has concept C when C exactMatch/closeMatch X, or when X is narrower than C (C narrowMatch X);
# C broadMatch X says X is broader than C, so a record coded X need not have C: not followed
MATCH_PROPERTIES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch)


def code_lineage(prefix: str, local: str, name: str = "value") -> list[str]:
    """The code and the codes above it in its terminology, nearest first; an invalid code is an error."""
    code = f"{prefix}:{local}"
    if prefix not in prefix_map():
        raise ResolutionError(f"{name}={code!r}: no concept of the graph is mapped to the {prefix} code system")
    system = code_system(prefix)
    if system is not None and not system.is_valid(local):
        raise ResolutionError(f"{name}={code!r} is not a valid {system.name} code")
    return [local, *(system.ancestors(local) if system is not None else [])]


def concepts_for_code(graph: Graph, prefix: str, local: str, name: str = "value") -> tuple[str, list[URIRef]]:
    """The nearest code in the lineage of prefix:local that some concept is mapped to (exact, close or
    narrower), with those concepts; ("", []) when none is."""
    for step in code_lineage(prefix, local, name):
        target = URIRef(iri_of(prefix, step))
        mapped = sorted({c for p in MATCH_PROPERTIES for c in graph.subjects(p, target)})
        if mapped:
            return step, mapped
    return "", []


def resolve_code(graph: Graph, prefix: str, local: str, members: set[URIRef], kind: str, name: str = "value") -> URIRef:
    """The concept mapped (exact, close or narrower match) to a clinical code, or to its nearest mapped
    ancestor in the code system's hierarchy (ICD10CM:E11.65 -> the concept mapped to ICD10CM:E11)."""
    code = f"{prefix}:{local}"
    lineage = code_lineage(prefix, local, name)
    for step in lineage:
        target = URIRef(iri_of(prefix, step))
        mapped = sorted({c for p in MATCH_PROPERTIES for c in graph.subjects(p, target)} & members)
        if len(mapped) == 1:
            return mapped[0]
        if mapped:
            listed = "; ".join(str(Candidate(c, label_of(graph, c))) for c in mapped)
            raise ResolutionError(f"{name}={code!r} is mapped (as {prefix}:{step}) to {len(mapped)} {kind}s: {listed}")
    raise ResolutionError(
        f"{name}={code!r}: no {kind} of the graph is mapped to this code or any code above it"
        + _nearest(graph, prefix, lineage)
    )


def _nearest(graph: Graph, prefix: str, lineage: list[str]) -> str:
    """A hint naming the nearest code of the lineage that has some mapping the resolution could not use."""
    for step in lineage:
        target = URIRef(iri_of(prefix, step))
        for predicate, verb in ((SKOS.broadMatch, "is broader than"), *((p, "is mapped to") for p in MATCH_PROPERTIES)):
            related = sorted(graph.subjects(predicate, target))
            if related:
                listed = "; ".join(str(Candidate(c, label_of(graph, c))) for c in related)
                return f"; nearest mapped code: {prefix}:{step}, which {verb} {listed}"
    return ""


def _as_iri(text: str) -> URIRef | None:
    """An IRI written as <...>, http(s)://..., or a CURIE whose prefix is in the prefix map."""
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text.startswith(("http://", "https://", "urn:")):
        if any(ch in text for ch in ' <>"{}|\\^`'):
            raise ResolutionError(f"{text!r} is not a valid IRI")
        return URIRef(text)
    if " " in text or ":" not in text:
        return None
    expanded = converter().expand(text, passthrough=False)  # None unless the prefix is in the map
    return URIRef(expanded) if expanded is not None else None


ALL_MATCHES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.narrowMatch, SKOS.broadMatch)


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
    types = set(graph.objects(iri, RDF.type))
    if MESOKG.Treatment in types:
        return "treatment"
    if MESOKG.Procedure in types:
        return "procedure"
    supers = set(graph.transitive_objects(iri, RDFS.subClassOf)) - {iri}
    if MESOKG.Condition in supers:
        return "condition"
    if MESOKG.Substance in supers:
        return "substance class"
    if any(MESOKG.Substance in set(graph.transitive_objects(t, RDFS.subClassOf)) for t in types):
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
    if LOCAL_NAME.fullmatch(value) and (URIRef(BASE + value), RDFS.label, None) in graph:
        hits[URIRef(BASE + value)] = _hit(graph, URIRef(BASE + value), f"local name {value}")
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
    code = CODE.fullmatch(text.strip())
    if not code or code.group(1) in GRAPH_PREFIXES or code.group(1) not in prefix_map():
        return ""
    try:
        return _nearest(graph, code.group(1), code_lineage(code.group(1), code.group(2)))
    except ResolutionError:
        return ""


# the text output lists at most this many codes per match and code system (pregnancy has ~160 ICD-10-CM codes)
TEXT_CODES_PER_GROUP = 12


def lookup_text(text: str, hits: list[Hit], hint: str = "") -> str:
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
