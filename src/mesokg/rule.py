"""The clinical rule, written once: mesokg:ContraindicationRule in ontology/shapes/patient.shacl.ttl.

Its text comes from the shapes graph; this module gives that text with its prefixes, the strengths it is
run at and the status each strength means, the roll-up of reasons into one status, and the Reason made of
one solution. The SHACL engines and every screening backend use these, and nothing else, to apply it.
"""

from __future__ import annotations

from rdflib import Graph
from rdflib.namespace import RDFS, SH

from mesokg.namespace import MESOKG
from mesokg.rdfio import parse_turtle
from mesokg.resolve import codes_of
from mesokg.resources import ontology_dir
from mesokg.results import Reason

# (strength, the status a reason at that strength gives), strongest first
STRENGTHS = (("absolute", "contraindicated"), ("relative", "caution"))


STATUS_ORDER = {"contraindicated": 2, "caution": 1, "none": 0}


def rule_query(shapes: Graph) -> str:
    """The SELECT of mesokg:ContraindicationRule with the shapes graph's declared prefixes."""
    rule = MESOKG.ContraindicationRule
    select = shapes.value(rule, SH.select)
    prefixes = "".join(
        f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
        for d in shapes.objects(shapes.value(rule, SH.prefixes), SH.declare)
    )
    return prefixes + str(select)


def make_reason(values: dict, strength: str, kb: Graph, label, record_codes: tuple[str, ...], codes=None) -> Reason:
    """A Reason from one solution of the clinical rule (`values` by variable name), the knowledge graph for
    sources and codes, `label` for the concept's label, and the codes the patient's record gave. `codes`, if
    given, replaces lookup.codes_of(kb, concept) (a cache, when many reasons share their concepts)."""
    codes = codes or (lambda concept: tuple(codes_of(kb, concept)))
    concept, source, condition = values["concept"], values.get("source"), values["condition"]
    via, rationale = values.get("via"), values.get("rationale")
    return Reason(
        kind=str(values["kind"]),
        concept=str(concept),
        conceptLabel=label(concept),
        strength=strength,
        source=str(kb.value(source, RDFS.label)) if source is not None else "",
        contraindicatedIn=str(condition),
        via=str(via) if via is not None else None,
        assertion=str(values["assertion"]),
        rationale=str(rationale) if rationale is not None else None,
        codes=codes(concept),
        recordCodes=record_codes,
        contraindicatedInCodes=codes(condition),
    )


def patient_shapes() -> Graph:
    graph = Graph()
    parse_turtle(graph, ontology_dir() / "shapes" / "patient.shacl.ttl")
    return graph


def status_of(reasons_by_strength: dict[str, list]) -> str:
    """The status of a finding: the status of the strongest strength that has a reason, else "none"."""
    for strength, status in STRENGTHS:
        if reasons_by_strength.get(strength):
            return status
    return "none"


def strength_of(shapes: Graph, shape) -> str | None:
    """The strength ("absolute", "relative") a clinical shape runs the rule at; None for any other shape."""
    strength = shapes.value(shape, MESOKG.contraindicationStrength)
    return None if strength is None else str(strength).rsplit("/", 1)[-1]


def reason_key(reason: Reason) -> tuple:
    """The order reasons are listed in, by every engine."""
    return (reason.kind, reason.concept, reason.contraindicatedIn, reason.assertion)
