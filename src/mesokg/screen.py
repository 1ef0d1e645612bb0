"""Screening patients against the knowledge base: for each patient and planned treatment (or a given
treatment), contraindicated / caution / none, with every reason.

The clinical rule is the one the SHACL shapes use (mesokg:ContraindicationRule in
ontology/shapes/patient.shacl.ttl), read from the shapes graph and run here with its parameters bound:
the rule is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.plugins.sparql import prepareQuery

from mesokg.errors import InputError, MesokgError
from mesokg.graph import knowledge_graph
from mesokg.inputs import read_inputs, resolve_record_codes
from mesokg.lookup import Code, codes_of
from mesokg.prefixes import compact
from mesokg.resolve import label_of, resolve
from mesokg.validate import patient_shapes

MESOKG = "https://w3id.org/mesokg/"
STRENGTHS = (("absolute", "contraindicated"), ("relative", "caution"))
STATUS_ORDER = {"contraindicated": 2, "caution": 1, "none": 0}


def m(local: str) -> URIRef:
    return URIRef(MESOKG + local)


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


def rule_query(shapes: Graph) -> str:
    """The SELECT of mesokg:ContraindicationRule with the shapes graph's declared prefixes."""
    rule = m("ContraindicationRule")
    select = shapes.value(rule, SH.select)
    prefixes = "".join(
        f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
        for d in shapes.objects(shapes.value(rule, SH.prefixes), SH.declare)
    )
    return prefixes + str(select)


def screen(
    paths: list[Path] | tuple[Path, ...],
    kb: Graph | None = None,
    treatment: str | None = None,
    engine: str = "sparql",
    store: Path | None = None,
    fingerprint: str | None = None,
    progress=None,
) -> ScreenOutcome:
    """Screen every patient in the inputs: their planned sessions' treatments, or `treatment` for all.

    `engine` "sparql" runs the clinical rule once for all sessions in an embedded store (fast; `store` keeps it
    on disk, and then every patient in it is screened); "rdflib" runs it session by session over an rdflib
    graph (the reference the tests compare with).
    """
    if engine == "sparql":
        return screen_sparql(paths, kb, treatment, store, fingerprint, progress)
    if engine != "rdflib":
        raise MesokgError(f"unknown engine {engine!r}; known: sparql, rdflib")
    graph = Graph()
    for triple in kb if kb is not None else knowledge_graph():
        graph.add(triple)
    given = resolve(graph, treatment, "treatment", "--treatment") if treatment is not None else None
    inputs = read_inputs(paths, graph)
    outcome = ScreenOutcome(errors=inputs.errors)
    if not inputs.files:
        return outcome
    resolve_record_codes(graph)
    query = prepareQuery(rule_query(patient_shapes()))  # parsed once, evaluated per session
    for patient in sorted(graph.subjects(RDF.type, m("Patient")), key=str):
        sessions = _sessions_to_screen(graph, patient, given)
        screened = PatientScreen(str(patient))
        for treated, session in sessions:
            finding = Finding(str(treated), label_of(graph, treated), "none")
            for strength, status in STRENGTHS:
                reasons = session_reasons(graph, session, strength, query)
                finding.reasons.extend(reasons)
                if reasons and STATUS_ORDER[status] > STATUS_ORDER[finding.status]:
                    finding.status = status
            screened.findings.append(finding)
        outcome.patients.append(screened)
    return outcome


def screen_sparql(paths, kb: Graph | None, treatment: str | None, store, fingerprint, progress=None) -> ScreenOutcome:
    from mesokg.engine import local_engine

    engine = local_engine(kb, store, fingerprint)
    given = resolve(engine.kb(), treatment, "treatment", "--treatment") if treatment is not None else None
    loaded = engine.load(paths, progress)
    outcome = ScreenOutcome(errors=loaded.errors)
    if not loaded.files and store is None:
        return outcome
    outcome.patients = engine.screen(given)
    return outcome


def session_reasons(graph: Graph, session, strength: str, query=None) -> list[Reason]:
    """Every reason the clinical rule gives for contraindicating the session's treatment at `strength`."""
    rows = graph.query(
        query or rule_query(patient_shapes()),
        initBindings={"this": session, "contraindicationStrength": m(strength)},
    )
    reasons = {_reason(graph, session, row, strength) for row in rows}
    return sorted(reasons, key=lambda r: (r.kind, r.concept, r.contraindicatedIn, r.assertion))


def _sessions_to_screen(graph: Graph, patient: URIRef, given: URIRef | None) -> list[tuple[URIRef, object]]:
    """(treatment, session) pairs: the patient's planned sessions, or one new planned session of `given`."""
    if given is not None:
        session = BNode()
        graph.add((session, RDF.type, m("TreatmentSession")))
        graph.add((session, m("treatment"), given))
        graph.add((session, m("sessionStatus"), m("planned")))
        graph.add((patient, m("hasSession"), session))
        return [(given, session)]
    pairs = []
    for session in graph.objects(patient, m("hasSession")):
        treated = graph.value(session, m("treatment"))
        planned = (session, m("sessionStatus"), m("planned")) in graph
        if planned and treated is not None and (treated, RDF.type, m("Treatment")) in graph:
            pairs.append((treated, session))
    return sorted(pairs, key=lambda pair: str(pair[0]))


def _record_codes(graph: Graph, session, kind: str, reason) -> tuple[str, ...]:
    """The codes the patient's own record gave for the reason: on the condition, the medication use or the
    allergy record that named it."""
    if kind == "condition":
        records = [reason]
    else:
        link, value = ("takesMedication", "medication") if kind == "medication" else ("hasAllergy", "substance")
        records = [
            record
            for patient in graph.subjects(m("hasSession"), session)
            for record in graph.objects(patient, m(link))
            if (record, m(value), reason) in graph
        ]
    return tuple(sorted({compact(str(code)) for record in records for code in graph.objects(record, m("code"))}))


def _reason(graph: Graph, session, row, strength: str) -> Reason:
    values = row.asdict()
    record_codes = _record_codes(graph, session, str(values["kind"]), values.get("reason"))
    return make_reason(values, strength, graph, lambda concept: label_of(graph, concept), record_codes)


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


def format_text(outcome: ScreenOutcome) -> str:
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
