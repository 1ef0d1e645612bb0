"""The fast path: patient data in an embedded store (pyoxigraph), validated by SHACL compiled to SPARQL
(mesokg.sparql_shacl) and screened by running the clinical rule once for all planned sessions.

The results are the same objects the pySHACL path gives (validate.ValidationResult, screen.PatientScreen),
so the output, the exit codes and the tests are shared. No rdflib graph of the patient data is ever built:
rdflib holds only the knowledge base (a few thousand triples), for resolving codes and describing reasons.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import SH

from mesokg.errors import MesokgError
from mesokg.inputs import CodedRecord, _CodeResolver, record_kind, resolution_triples
from mesokg.lookup import codes_of
from mesokg.prefixes import compact
from mesokg.resolve import label_of
from mesokg.screen import STATUS_ORDER, STRENGTHS, Finding, PatientScreen, make_reason, rule_query
from mesokg.sparql_shacl import Violation, compile_shapes, evaluate
from mesokg.store import DATA_PREFIX, Loaded, Store, to_rdflib
from mesokg.validate import ValidationResult, patient_shapes

MESOKG = "https://w3id.org/mesokg/"
RESOLVED_PREFIX = "urn:mesokg:resolved:"
CLINICAL_COMPONENT = URIRef(MESOKG + "ContraindicationConstraintComponent")
SCREEN_GRAPH = ox.NamedNode("urn:mesokg:graph:screen")
PREFIX = "PREFIX mesokg: <https://w3id.org/mesokg/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"


class Engine:
    """A store with the knowledge base loaded, patient files added to it, and their codes resolved."""

    def __init__(self, kb: Callable[[], Graph], fingerprint: str, store_path: Path | None = None, store=None) -> None:
        """`store`: a store that already holds the knowledge base (mesokg.remote.RemoteStore); otherwise an
        embedded one, on disk at `store_path` or in memory."""
        self._kb_factory = kb
        self._kb: Graph | None = None
        self.remote = store is not None
        self.store = store if store is not None else Store(store_path)
        self.kb_reloaded = False if self.remote else self.store.ensure_kb(self.kb, fingerprint)
        self.shapes = patient_shapes()
        self.violations: list = []
        self._reasons: dict[str, dict] = {}

    def kb(self) -> Graph:
        if self._kb is None:
            self._kb = self._kb_factory()
        return self._kb

    # ---- loading ---------------------------------------------------------------------------------------------
    def load(self, paths, progress=None) -> Loaded:
        """Add the files (each replacing an earlier load of the same content) and resolve their codes; when
        the knowledge base was reloaded, codes of everything already in the store are resolved again."""
        loaded = self.store.load_files(paths, progress)
        graphs = self.store.data_graphs() if self.kb_reloaded else loaded.graphs
        if self.kb_reloaded:
            for graph in self.store.ox.named_graphs():
                if isinstance(graph, ox.NamedNode) and graph.value.startswith(RESOLVED_PREFIX):
                    self.store.ox.remove_graph(graph)
        for graph in graphs:
            self.resolve_codes(graph)
        self.store.flush()
        return loaded

    def resolve_codes(self, graph: ox.NamedNode) -> int:
        """Resolve the clinical codes of one data graph into a companion graph (replaced on each run)."""
        target = ox.NamedNode(RESOLVED_PREFIX + graph.value.removeprefix(DATA_PREFIX))
        if self.store.ox.contains_named_graph(target):
            self.store.ox.remove_graph(target)
        bind = {ox.Variable("g"): graph}
        codes: dict = defaultdict(list)
        for row in self.store.ox.query(
            f"{PREFIX}SELECT ?g ?n ?c WHERE {{ GRAPH ?g {{ ?n mesokg:code ?c }} }}", substitutions=bind
        ):
            codes[to_rdflib(row["n"])].append(to_rdflib(row["c"]))
        if not codes:
            return 0
        types, labels, conditions, linked = defaultdict(set), defaultdict(list), set(), set()
        for row in self._rows(graph, "?n a ?x"):
            types[row[0]].add(row[1])
        for row in self._rows(graph, "?n rdfs:label ?x"):
            labels[row[0]].append(row[1])
        for row in self._rows(graph, "?x mesokg:hasCondition ?n"):
            conditions.add(row[0])
        for row in self._rows(graph, "?n mesokg:medication|mesokg:substance ?x"):
            linked.add(row[0])
        records = []
        for node in sorted(codes, key=str):
            kind = record_kind(types[node], node in conditions)
            if kind is not None:
                records.append(
                    CodedRecord(node, kind, sorted(codes[node], key=str), types[node], node in linked, labels[node])
                )
        triples = resolution_triples(records, _CodeResolver(self.kb()))
        self.store.add_triples(triples, target)
        return len(triples)

    def _rows(self, graph: ox.NamedNode, pattern: str):
        query = f"{PREFIX}SELECT ?g ?n ?x WHERE {{ GRAPH ?g {{ ?n mesokg:code ?code . {pattern} }} }}"
        for row in self.store.ox.query(query, substitutions={ox.Variable("g"): graph}):
            yield to_rdflib(row["n"]), to_rdflib(row["x"])

    # ---- validation ------------------------------------------------------------------------------------------
    def validate(self) -> list[ValidationResult]:
        """Every SHACL result for the patient data in the store, sorted as the pySHACL path sorts them."""
        checks = compile_shapes(self.shapes)
        violations = list(evaluate(self.store, [c for c in checks if not self._is_the_rule(c)]))
        violations += self._rule_violations([c for c in checks if self._is_the_rule(c)])
        self.violations = violations
        if not violations:
            return []
        owners = self._patients_of({v.focus for v in violations})
        types = self._blank_types({n for v in violations for n in (v.focus, v.value) if isinstance(n, BNode)})
        chains = self._reason_chains(violations)
        results = [
            ValidationResult(
                patient=_term(owners.get(v.focus), types),
                focus=_term(v.focus, types) or "",
                shape=_term(v.constraint if isinstance(v.constraint, URIRef) else v.shape, types) or "",
                component=compact(str(v.component)),
                severity=str(v.severity).rsplit("#", 1)[-1],
                message=v.message,
                value=_term(v.value, types),
                path=_term(v.path, types),
                reasons=chains.get((v.focus, v.shape), ()),
            )
            for v in violations
        ]
        results.sort(key=lambda r: (r.patient or "", r.focus, r.shape, r.component, r.value or ""))
        return results

    def _is_the_rule(self, check) -> bool:
        """A check of the clinical constraint component, whose validator is the rule screening runs."""
        validator = self.shapes.value(check.component, SH.nodeValidator)
        return check.component == CLINICAL_COMPONENT and validator == URIRef(MESOKG + "ContraindicationRule")

    def _rule_violations(self, checks) -> list[Violation]:
        """The clinical shapes' results from the rule's bulk run (shared with the reasons and with screening,
        so the rule runs once per strength): a planned TreatmentSession with a reason at the shape's strength."""
        if not checks:
            return []
        query = f"{PREFIX}SELECT ?s WHERE {{ ?s a/rdfs:subClassOf* mesokg:TreatmentSession }}"
        sessions = {to_rdflib(row["s"]) for row in self.store.select(query)}
        found = []
        for check in checks:
            strength = self.shapes.value(check.shape, URIRef(MESOKG + "contraindicationStrength"))
            for session in self.session_reasons(str(strength).rsplit("/", 1)[-1]):
                if session in sessions:
                    found.append(
                        Violation(session, check.shape, check.component, check.severity, session, None, check.message)
                    )
        return found

    def _patients_of(self, nodes: set) -> dict:
        owners = {}
        for row in self.store.select(f"{PREFIX}SELECT ?p WHERE {{ ?p a mesokg:Patient }}"):
            patient = to_rdflib(row["p"])
            if patient in nodes:
                owners[patient] = patient
        query = f"{PREFIX}SELECT ?p ?x WHERE {{ ?p a mesokg:Patient ; ?r ?x . FILTER(!isLiteral(?x)) }}"
        for row in self.store.select(query):
            node = to_rdflib(row["x"])
            if node in nodes and node not in owners:
                owners[node] = to_rdflib(row["p"])
        return owners

    def _blank_types(self, nodes: set) -> dict:
        types: dict = defaultdict(list)
        if nodes:
            for row in self.store.select("SELECT ?x ?t WHERE { ?x a ?t FILTER(isBlank(?x)) }"):
                node = to_rdflib(row["x"])
                if node in nodes:
                    types[node].append(to_rdflib(row["t"]))
        return types

    def _reason_chains(self, violations) -> dict:
        clinical = {(v.focus, v.shape) for v in violations if v.component == CLINICAL_COMPONENT}
        if not clinical:
            return {}
        chains = {}
        for strength, _ in STRENGTHS:
            reasons = self.session_reasons(strength)
            for focus, shape in clinical:
                if self.shapes.value(shape, URIRef(MESOKG + "contraindicationStrength")) == URIRef(MESOKG + strength):
                    chains[(focus, shape)] = tuple(r.describe() for r in reasons.get(focus, []))
        return chains

    # ---- screening -------------------------------------------------------------------------------------------
    def session_reasons(self, strength: str) -> dict:
        """Planned session -> every reason the clinical rule gives at `strength`, for all sessions at once
        (computed once per strength)."""
        if not self._reasons:
            self._reasons.update(self._session_reasons())
        return self._reasons.get(strength, {})

    def _session_reasons(self) -> dict[str, dict]:
        """The rule run once for every strength: strength -> session -> sorted reasons."""
        kb = self.kb()
        record_codes = self._record_codes()
        labels = _Labels(kb, self.store)
        found: dict = defaultdict(lambda: defaultdict(set))
        cache: dict = {}

        def concept_codes(concept) -> tuple:
            if concept not in cache:
                cache[concept] = tuple(codes_of(kb, concept))
            return cache[concept]

        # the constraint component's parameter (the strength) becomes a variable selected beside the rule's own,
        # so one run answers both strengths; its values are the model's strengths, never a user's value
        query = re.sub(r"\$contraindicationStrength\b", "?mesokg_strength", rule_query(self.shapes))
        query = re.sub(r"\bSELECT\b", "SELECT ?mesokg_strength", query, count=1)
        strengths = " ".join(f"<{MESOKG}{strength}>" for strength, _ in STRENGTHS)
        query = re.sub(r"\bWHERE\s*\{", f"WHERE {{ VALUES ?mesokg_strength {{ {strengths} }}", query, count=1)
        solutions = self.store.select(query)
        names = [variable.value for variable in solutions.variables]
        for row in solutions:
            values = {name: to_rdflib(row[name]) for name in names if row[name] is not None}
            strength = str(values.pop("mesokg_strength")).rsplit("/", 1)[-1]
            session = values["this"]
            codes = record_codes.codes(session, str(values["kind"]), values.get("reason"))
            found[strength][session].add(make_reason(values, strength, kb, labels, codes, concept_codes))
        return {
            strength: {
                session: sorted(reasons, key=lambda r: (r.kind, r.concept, r.contraindicatedIn, r.assertion))
                for session, reasons in by_session.items()
            }
            for strength, by_session in found.items()
        }

    def screen(self, treatment: URIRef | None = None) -> list[PatientScreen]:
        """Every patient of the store: each planned session (or `treatment`, for everyone) with its status."""
        try:
            sessions = self._sessions(treatment)
            if treatment is not None:
                self._reasons.clear()  # the sessions just added are not in an earlier run of the rule
            by_strength = {strength: self.session_reasons(strength) for strength, _ in STRENGTHS}
        finally:
            if treatment is not None and self.store.ox.contains_named_graph(SCREEN_GRAPH):
                self.store.ox.remove_graph(SCREEN_GRAPH)
        kb = self.kb()
        labels: dict = {}
        screened = []
        for patient in sorted(sessions, key=str):
            result = PatientScreen(str(patient))
            for treated, session in sorted(sessions[patient], key=lambda pair: str(pair[0])):
                if treated not in labels:
                    labels[treated] = label_of(kb, treated)
                finding = Finding(str(treated), labels[treated], "none")
                for strength, status in STRENGTHS:
                    reasons = by_strength[strength].get(session, [])
                    finding.reasons.extend(reasons)
                    if reasons and STATUS_ORDER[status] > STATUS_ORDER[finding.status]:
                        finding.status = status
                result.findings.append(finding)
            screened.append(result)
        return screened

    def _sessions(self, treatment: URIRef | None) -> dict:
        sessions: dict = defaultdict(list)
        patients = [
            to_rdflib(r["p"]) for r in self.store.select(f"{PREFIX}SELECT DISTINCT ?p WHERE {{ ?p a mesokg:Patient }}")
        ]
        for patient in patients:
            sessions[patient]
        if treatment is not None:
            if self.remote:
                raise MesokgError("--treatment cannot be screened on a remote endpoint (it adds sessions)")
            quads = []
            for index, patient in enumerate(patients):
                session = ox.BlankNode(f"screen{index}")
                quads += [
                    ox.Quad(_ox(patient), ox.NamedNode(MESOKG + "hasSession"), session, SCREEN_GRAPH),
                    ox.Quad(session, _type(), ox.NamedNode(MESOKG + "TreatmentSession"), SCREEN_GRAPH),
                    ox.Quad(session, ox.NamedNode(MESOKG + "treatment"), ox.NamedNode(str(treatment)), SCREEN_GRAPH),
                    ox.Quad(
                        session, ox.NamedNode(MESOKG + "sessionStatus"), ox.NamedNode(MESOKG + "planned"), SCREEN_GRAPH
                    ),
                ]
                sessions[patient].append((treatment, to_rdflib(session)))
            self.store.ox.extend(quads)
            return sessions
        query = (
            f"{PREFIX}SELECT ?p ?s ?t WHERE {{ ?p a mesokg:Patient ; mesokg:hasSession ?s . "
            f"?s mesokg:sessionStatus mesokg:planned ; mesokg:treatment ?t . ?t a mesokg:Treatment }}"
        )
        for row in self.store.select(query):
            sessions[to_rdflib(row["p"])].append((to_rdflib(row["t"]), to_rdflib(row["s"])))
        return sessions

    def _record_codes(self) -> _RecordCodes:
        return _RecordCodes(self.store)


def local_engine(kb: Graph | None, store_path: Path | None, fingerprint: str | None) -> Engine:
    """An Engine over the bundled knowledge graph (built on demand) or the given one, in memory or on disk."""
    from mesokg.graph import build_graph, source_fingerprint

    if fingerprint is None:
        fingerprint = source_fingerprint() if kb is None else f"unnamed:{id(kb)}"
    return Engine((lambda: kb) if kb is not None else build_graph, fingerprint, store_path)


class _Labels:
    """Labels of reason concepts: from the knowledge base, else (a coded drug) from the patient data."""

    def __init__(self, kb: Graph, store: Store) -> None:
        self.kb, self.store, self.cache = kb, store, {}

    def __call__(self, concept) -> str:
        if concept not in self.cache:
            label = label_of(self.kb, concept)
            if label == compact(str(concept)) and isinstance(concept, URIRef):
                rows = self.store.select(
                    f"{PREFIX}SELECT ?c ?l WHERE {{ ?c rdfs:label ?l }}", {ox.Variable("c"): ox.NamedNode(str(concept))}
                )
                found = sorted(str(to_rdflib(r["l"])) for r in rows)
                label = found[0] if found else label
            self.cache[concept] = label
        return self.cache[concept]


class _RecordCodes:
    """The codes patient records gave, looked up in bulk: per condition node, and per (patient, substance)
    for medication uses and allergy records; and each session's patient."""

    def __init__(self, store: Store) -> None:
        self.condition: dict = defaultdict(set)
        self.linked: dict = defaultdict(set)
        self.patient_of_session: dict = {}
        q = f"{PREFIX}SELECT ?n ?c WHERE {{ ?p mesokg:hasCondition ?n . ?n mesokg:code ?c }}"
        for row in store.select(q):
            self.condition[to_rdflib(row["n"])].add(compact(row["c"].value))
        q = (
            f"{PREFIX}SELECT ?k ?p ?s ?c WHERE {{ {{ ?p mesokg:takesMedication ?u . ?u mesokg:medication ?s "
            f'BIND("medication" AS ?k) }} UNION {{ ?p mesokg:hasAllergy ?u . ?u mesokg:substance ?s '
            f'BIND("allergy" AS ?k) }} '
            f"?u mesokg:code ?c }}"
        )
        for row in store.select(q):
            key = (row["k"].value, to_rdflib(row["p"]), to_rdflib(row["s"]))
            self.linked[key].add(compact(row["c"].value))
        for row in store.select(f"{PREFIX}SELECT ?p ?s WHERE {{ ?p mesokg:hasSession ?s }}"):
            self.patient_of_session[to_rdflib(row["s"])] = to_rdflib(row["p"])

    def codes(self, session, kind: str, reason) -> tuple[str, ...]:
        if kind == "condition":
            return tuple(sorted(self.condition.get(reason, ())))
        patient = self.patient_of_session.get(session)
        return tuple(sorted(self.linked.get((kind, patient, reason), ())))


def _term(node, types: dict) -> str | None:
    """As validate._term: a CURIE, a literal's text, or a blank node described by its types."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, BNode):
        found = sorted(compact(str(t)) for t in types.get(node, []))
        return f"[a {', '.join(found)}]" if found else f"_:{node}"
    return str(node)


def _ox(term):
    from mesokg.store import to_ox

    return to_ox(term)


def _type() -> ox.NamedNode:
    return ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
