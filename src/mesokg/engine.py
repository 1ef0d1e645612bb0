"""The fast path: patient data in an embedded store (pyoxigraph), validated by SHACL compiled to SPARQL
(mesokg.sparql_shacl) and screened by running the clinical rule once for all planned sessions.

The results are the same objects the pySHACL path gives (validate.ValidationResult, screen.PatientScreen),
so the output, the exit codes and the tests are shared. No rdflib graph of the patient data is ever built:
rdflib holds only the knowledge base (a few thousand triples), for resolving codes and describing reasons.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import SH

from mesokg import graphs
from mesokg.backends import Backend
from mesokg.coding import CodedRecord, CodeResolver, record_kind, resolution_triples
from mesokg.errors import MesokgError
from mesokg.fhir import looks_like_fhir
from mesokg.graph import knowledge_graph, ntriples, source_fingerprint
from mesokg.namespace import BASE, MESOKG
from mesokg.prefixes import compact
from mesokg.rdfio import content_label, detect_format, expand_paths, graph_label, to_ox, to_rdflib
from mesokg.remote import KB_GRAPH as REMOTE_KB
from mesokg.remote import upload
from mesokg.resolve import codes_of, label_of
from mesokg.results import Finding, PatientScreen, ValidationResult, sorted_results
from mesokg.rule import STRENGTHS, make_reason, patient_shapes, reason_key, rule_query, status_of, strength_of
from mesokg.sparql_shacl import (
    EvaluationError,
    QueryConstraint,
    Violation,
    compile_shapes,
    decorrelate_not_exists,
    evaluate,
    exclusion_query,
    sparql_path,
    store_keeps,
    with_details,
)
from mesokg.store import BULK_THRESHOLD, DATA_PREFIX, KB_GRAPH, META_GRAPH, OX_FORMATS, Loaded, Store
from mesokg.terminologies import warm_code_systems

XSD_NS = "http://www.w3.org/2001/XMLSchema#"
RESOLVED_PREFIX = graphs.RESOLVED_PREFIX
CLINICAL_COMPONENT = MESOKG.ContraindicationConstraintComponent
PREFIX = "PREFIX mesokg: <https://w3id.org/mesokg/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"


def workers() -> int:
    """How many queries to run side by side: the cores this process may use (MESOKG_WORKERS overrides)."""
    try:
        return max(1, int(os.environ.get("MESOKG_WORKERS", "")))
    except ValueError:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class Engine:
    """Validation and screening over a backend (mesokg.backends): by default an embedded store with the
    knowledge base loaded, patient files added to it, and their codes resolved."""

    def __init__(
        self,
        kb: Callable[[], Graph],
        fingerprint: str,
        store_path: Path | None = None,
        store: Backend | None = None,
        shapes: Graph | None = None,
        use_kb: bool = True,
    ) -> None:
        """`store`: a backend that already holds the knowledge base and the data (a remote endpoint, an
        rdflib graph); otherwise an embedded store, on disk at `store_path` or in memory. The knowledge
        base is built and put in the store when first needed (while a big file is parsed, see `load`); with
        `use_kb` False it is never built and the data is validated alone. `shapes`: the shapes graph
        (default: the patient shapes)."""
        self._kb_factory = kb
        self._kb: Graph | None = None if use_kb else Graph()
        self._fingerprint = fingerprint
        self.use_kb = use_kb
        self._owns_store = store is None
        self.store = store if store is not None else Store(store_path)
        self._kb_reloaded: bool | None = False if self.store.holds_kb or not use_kb else None
        self.shapes = shapes if shapes is not None else patient_shapes()
        self.violations: list = []
        self._reasons: dict[str, dict] = {}

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the embedded store this engine opened (a backend it was given stays open)."""
        if self._owns_store:
            self.store.close()

    def kb(self) -> Graph:
        if self._kb is None:
            self._kb = self._kb_factory()
        return self._kb

    @property
    def kb_reloaded(self) -> bool:
        """Whether the knowledge base had to be (re)loaded into the store (False: the store already held it)."""
        if self._kb_reloaded is None:
            self._kb_reloaded = self.store.ensure_kb(self.kb, self._fingerprint)
        return self._kb_reloaded

    # ---- loading ---------------------------------------------------------------------------------------------
    def load(self, paths, progress=None) -> Loaded:
        """Add the files (each replacing an earlier load of the same content) and resolve their codes; when
        the knowledge base was reloaded, codes of everything already in the store are resolved again."""
        paths = list(paths)
        rdf, size = _read_before_kb(paths) if self._kb_reloaded is None else (False, 0)
        if rdf:
            # the store parses the files without Python's lock: build the knowledge base meanwhile, and for a
            # big population also read the code tables its records will need
            # (writing the knowledge base into the store would wait for the files, so it is only built here)
            self.store.hash_files(paths)
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(self.store.load_files, paths, progress)
                self.kb()
                if size > BULK_THRESHOLD:
                    warm_code_systems()
                loaded = pending.result()
            self.kb_reloaded  # noqa: B018 - stores the knowledge base
        else:
            self.kb_reloaded  # noqa: B018
            loaded = self.store.load_files(paths, progress)
        graphs = self.store.data_graphs() if self.kb_reloaded else loaded.graphs
        if self.kb_reloaded:
            for graph in self.store.ox.named_graphs():
                if isinstance(graph, ox.NamedNode) and graph.value.startswith(RESOLVED_PREFIX):
                    self.store.ox.remove_graph(graph)
        for graph in graphs if self.use_kb else ():
            self.resolve_codes(graph)
        self.store.flush()
        return loaded

    def resolve_codes(self, graph: ox.NamedNode) -> int:
        """Resolve the clinical codes of one data graph into a companion graph (replaced on each run)."""
        target = ox.NamedNode(RESOLVED_PREFIX + graph.value.removeprefix(DATA_PREFIX))
        if self.store.ox.contains_named_graph(target):
            self.store.ox.remove_graph(target)
        bind = {ox.Variable("g"): graph}
        # nodes stay store terms (they only go back into the store); the values (types, codes, labels) are
        # converted once each, as a population repeats the same few thousand of them
        term = functools.lru_cache(maxsize=None)(to_rdflib)
        codes: dict = defaultdict(list)
        for row in self.store.ox.query(
            f"{PREFIX}SELECT ?g ?n ?c WHERE {{ GRAPH ?g {{ ?n mesokg:code ?c }} }}", substitutions=bind
        ):
            codes[row["n"]].append(term(row["c"]))
        if not codes:
            return 0
        types, labels, conditions, linked = defaultdict(set), defaultdict(list), set(), set()
        for node, value in self._rows(graph, "?n a ?x"):
            types[node].add(term(value))
        for node, value in self._rows(graph, "?n rdfs:label ?x"):
            labels[node].append(term(value))
        for node, _ in self._rows(graph, "?x mesokg:hasCondition ?n"):
            conditions.add(node)
        for node, _ in self._rows(graph, "?n mesokg:medication|mesokg:substance ?x"):
            linked.add(node)
        records = []
        for node in sorted(codes, key=str):
            kind = record_kind(types[node], node in conditions)
            if kind is not None:
                records.append(
                    CodedRecord(node, kind, sorted(codes[node], key=str), types[node], node in linked, labels[node])
                )
        triples = resolution_triples(records, CodeResolver(self.kb()))
        self.store.add_triples(triples, target)
        return len(triples)

    def check_literals(self, files) -> None:
        """Raise EvaluationError if a file has a literal the store keeps in another form than written
        (sparql_shacl.store_keeps), whose term the shapes could then not see. N-Triples are scanned as
        bytes; other syntaxes are parsed again; FHIR bundles are converted by mesokg, which writes canonical
        forms."""
        for path in files:
            try:
                head = path.open("rb").read(512)
                if looks_like_fhir(head):
                    continue
                literals = _typed_literals(path, detect_format(path, head))
            except (OSError, SyntaxError, ValueError):
                continue  # the load reported it
            for lexical, datatype in sorted(literals):
                if not store_keeps(lexical, datatype):
                    raise EvaluationError(
                        f"{path}: the literal {lexical!r}^^<{datatype}> is kept by the store only in another "
                        "form, so its term cannot be checked"
                    )

    def _rows(self, graph: ox.NamedNode, pattern: str):
        """(coded node, value) pairs of one data graph, as store terms."""
        query = f"{PREFIX}SELECT ?g ?n ?x WHERE {{ GRAPH ?g {{ ?n mesokg:code ?code . {pattern} }} }}"
        for row in self.store.ox.query(query, substitutions={ox.Variable("g"): graph}):
            yield row["n"], row["x"]

    # ---- validation ------------------------------------------------------------------------------------------
    def validate(self, plans=None, check: list[Path] = ()) -> list[ValidationResult]:
        """Every SHACL result for the data in the store, sorted as the pySHACL path sorts them. `plans`: the
        shapes already compiled (mesokg.sparql_shacl.compile_shapes); `check`: files whose literals are
        checked (check_literals) while the queries run."""
        plans = plans if plans is not None else compile_shapes(self.shapes)
        rule = self._rule_constraints(plans)

        def skip(shape, constraint) -> bool:
            return (shape.node, id(constraint)) in rule

        # the store answers queries without holding Python's lock, so the shapes (and the clinical rule, the
        # longest, started first) run side by side on the machine's cores
        with ThreadPoolExecutor(max_workers=workers()) as pool:
            pending = pool.submit(self.session_reasons, STRENGTHS[0][0]) if rule else None
            parts = [pool.submit(lambda plan=plan: list(evaluate(self.store, [plan], skip))) for plan in plans]
            self.check_literals(check)  # Python's lock is free meanwhile: the store evaluates without it
            found = [part.result() for part in parts]
            if pending is not None:
                pending.result()
        violations = [v for part in found for v in part]
        violations += self._rule_violations(rule.values())
        self.violations = violations
        if not violations:
            return []
        everything = list(with_details(violations))
        owners = self._patients_of({v.focus for v in everything})
        types = self._blank_types({n for v in everything for n in (v.focus, v.value) if isinstance(n, BNode)})
        chains = self._reason_chains(everything)
        shown = {n for v in everything for n in (v.focus, v.value) if isinstance(n, BNode) and not types.get(n)}
        labels = self._blank_labels(shown | {o for o in owners.values() if isinstance(o, BNode)})
        shapes = {v.shape: graph_label(self.shapes, v.shape) for v in everything if isinstance(v.shape, BNode)}

        def result(v: Violation) -> ValidationResult:
            return ValidationResult(
                patient=_term(owners.get(v.focus), {}, labels),
                focus=_term(v.focus, types, labels) or "",
                shape=_term(v.constraint if isinstance(v.constraint, URIRef) else v.shape, {}, shapes) or "",
                component=compact(str(v.component)),
                severity=str(v.severity).rsplit("#", 1)[-1],
                message=v.message,
                value=_term(v.value, types, labels),
                path=sparql_path(self.shapes, v.path) if isinstance(v.path, BNode) else _term(v.path, types),
                reasons=chains.get((v.focus, v.shape), ()),
                details=sorted_results(result(d) for d in v.details),
            )

        return list(sorted_results(result(v) for v in violations))

    def _rule_constraints(self, plans) -> dict:
        """The constraints of the clinical component that the rule's bulk run answers: those of a targeted
        shape whose only target is the class of treatment sessions (any other use is evaluated as compiled).
        (shape, constraint id) -> (shape, constraint)."""
        session = MESOKG.TreatmentSession
        found = {}
        for plan in plans:
            node = plan.shape.node
            targets = [
                (p, o)
                for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
                for o in self.shapes.objects(node, p)
            ]
            if targets != [(SH.targetClass, session)] or plan.shape.deactivated:
                continue
            for constraint in plan.shape.constraints:
                if self._is_the_rule(constraint):
                    found[(node, id(constraint))] = (plan.shape, constraint)
        return found

    def _is_the_rule(self, constraint) -> bool:
        """A constraint of the clinical constraint component, whose validator is the rule screening runs."""
        return (
            isinstance(constraint, QueryConstraint)
            and constraint.component == CLINICAL_COMPONENT
            and constraint.validator == MESOKG.ContraindicationRule
        )

    def _rule_violations(self, constraints) -> list[Violation]:
        """The clinical shapes' results from the rule's bulk run (shared with the reasons and with screening,
        so the rule runs once per strength): a planned TreatmentSession with a reason at the shape's strength."""
        constraints = list(constraints)
        if not constraints:
            return []
        query = f"{PREFIX}SELECT ?s WHERE {{ ?s a/rdfs:subClassOf* mesokg:TreatmentSession }}"
        sessions = {row["s"] for row in self.store.select(query)}
        found = []
        for shape, constraint in constraints:
            strength = strength_of(self.shapes, shape.node)
            message = constraint.message if constraint.message is not None else shape.message
            for session in self.session_reasons(strength):
                if session in sessions:
                    focus = to_rdflib(session)
                    found.append(
                        Violation(focus, shape.node, constraint.component, shape.severity, focus, None, message)
                    )
        return found

    def _patients_of(self, nodes: set) -> dict:
        """The patient each node belongs to: itself, or the patient whose record links to it. One pass over
        the patients' links, matched against the nodes as store terms (a VALUES list of thousands of nodes
        is far slower in the store)."""
        wanted = {to_ox(n): n for n in nodes}
        owners = {}
        for row in self.store.select(f"{PREFIX}SELECT ?p WHERE {{ ?p a mesokg:Patient }}"):
            node = wanted.get(row["p"])
            if node is not None:
                owners[node] = node
        query = f"{PREFIX}SELECT ?p ?x WHERE {{ ?p a mesokg:Patient ; ?r ?x . FILTER(!isLiteral(?x)) }}"
        for row in self.store.select(query):
            node = wanted.get(row["x"])
            if node is not None and node not in owners:
                owners[node] = to_rdflib(row["p"])
        return owners

    def _blank_types(self, nodes: set) -> dict:
        types: dict = defaultdict(list)
        wanted = {to_ox(n): n for n in nodes}
        if wanted:
            for row in self.store.select("SELECT ?x ?t WHERE { ?x a ?t FILTER(isBlank(?x)) }"):
                node = wanted.get(row["x"])
                if node is not None:
                    types[node].append(to_rdflib(row["t"]))
        return types

    def _blank_labels(self, nodes: set) -> dict:
        """Untyped blank nodes shown in the results -> a label derived from their triples (rdfio.content_label),
        the same on every run (the store's own labels are new on each load)."""
        query = "SELECT ?n ?s ?p ?o WHERE { { ?n ?p ?o BIND(?n AS ?s) } UNION { ?s ?p ?n BIND(?n AS ?o) } }"
        labels = {}
        for node in nodes:
            rows = self.store.select(query, {ox.Variable("n"): to_ox(node)})
            triples = {(to_rdflib(r["s"]), to_rdflib(r["p"]), to_rdflib(r["o"])) for r in rows}
            labels[node] = content_label(node, triples)
        return labels

    def _reason_chains(self, violations) -> dict:
        clinical = {(v.focus, v.shape) for v in violations if v.component == CLINICAL_COMPONENT}
        if not clinical:
            return {}
        strengths = {shape: strength_of(self.shapes, shape) for shape in {shape for _, shape in clinical}}
        described: dict[int, str] = {}  # reasons are shared between sessions: each described once

        def describe(reason) -> str:
            text = described.get(id(reason))
            if text is None:
                text = described[id(reason)] = reason.describe()
            return text

        return {
            (focus, shape): tuple(describe(r) for r in self.session_reasons(strengths[shape]).get(to_ox(focus), []))
            for focus, shape in clinical
        }

    # ---- screening -------------------------------------------------------------------------------------------
    def session_reasons(self, strength: str) -> dict:
        """Planned session -> every reason the clinical rule gives at `strength`, for all sessions at once
        (computed once per strength)."""
        if not self._reasons:
            self._reasons.update(self._session_reasons())
        return self._reasons.get(strength, {})

    def _session_reasons(self) -> dict[str, dict]:
        """The rule run once for every strength: strength -> session (a store term) -> sorted reasons."""
        kb = self.kb()
        record_codes = self._record_codes()
        labels = _Labels(kb, self.store)
        # session -> its reasons, kept by identity: every reason is one shared object (equal reasons are made
        # one by `canonical`), so a population's hundred thousand additions never hash a reason's fields again
        found: dict = defaultdict(lambda: defaultdict(dict))
        cache: dict = {}
        made: dict = {}
        canonical: dict = {}

        def concept_codes(concept) -> tuple:
            if concept not in cache:
                cache[concept] = tuple(codes_of(kb, concept))
            return cache[concept]

        # the constraint component's parameter (the strength) becomes a variable selected beside the rule's own,
        # so one run answers both strengths; its values are the model's strengths, never a user's value
        query = re.sub(r"\$contraindicationStrength\b", "?mesokg_strength", rule_query(self.shapes))
        query = re.sub(r"\bSELECT\b", "SELECT ?mesokg_strength", query, count=1)
        strengths = " ".join(f"<{BASE}{strength}>" for strength, _ in STRENGTHS)
        query = re.sub(r"\bWHERE\s*\{", f"WHERE {{ VALUES ?mesokg_strength {{ {strengths} }}", query, count=1)
        variables, solutions = self._select_decorrelated(query)
        # a reason is the same for every patient with the same fact and record codes: made once, shared
        names = [v.value for v in variables if v.value not in ("this", "reason")]
        for row in solutions:
            session, kind = row["this"], row["kind"].value
            codes = record_codes.codes(session, kind, row["reason"])
            key = (tuple(row[name] for name in names), codes)
            reason = made.get(key)
            if reason is None:
                values = {name: to_rdflib(row[name]) for name in names if row[name] is not None}
                strength = str(values["mesokg_strength"]).rsplit("/", 1)[-1]
                described = make_reason(values, strength, kb, labels, codes, concept_codes)
                reason = made[key] = (strength, canonical.setdefault(described, described))
            found[reason[0]][session][id(reason[1])] = reason[1]
        return {
            strength: {session: sorted(reasons.values(), key=reason_key) for session, reasons in by_session.items()}
            for strength, by_session in found.items()
        }

    def _select_decorrelated(self, query: str) -> tuple[list, list]:
        """The query's variables and rows, its top-level FILTER NOT EXISTS blocks answered once per distinct
        value of the variables they share with the rest (sparql_shacl.decorrelate_not_exists) instead of once
        per row: the same rows."""
        plan = decorrelate_not_exists(query)
        solutions = self.store.select(plan.query)
        variables, rows = list(solutions.variables), list(solutions)
        for pattern, shared in plan.blocks:
            text = exclusion_query(pattern, shared, plan.prologue)
            excluded: dict = {}
            kept = []
            for row in rows:
                key = tuple(row[name] for name in shared)
                if key not in excluded:
                    bound = {ox.Variable(n): term for n, term in zip(shared, key, strict=True) if term is not None}
                    excluded[key] = any(True for _ in self.store.select(text, bound))
                if not excluded[key]:
                    kept.append(row)
            rows = kept
        return variables, rows

    def screen(self, treatment: URIRef | None = None) -> list[PatientScreen]:
        """Every patient of the store: each planned session (or `treatment`, for everyone) with its status."""
        try:
            if treatment is not None:
                sessions = self._sessions(treatment)
                self._reasons.clear()  # the sessions just added are not in an earlier run of the rule
            else:  # the sessions are listed while the rule runs
                with ThreadPoolExecutor(max_workers=workers()) as pool:
                    pending = pool.submit(self._sessions, None)
                    self.session_reasons(STRENGTHS[0][0])
                    sessions = pending.result()
            by_strength = {strength: self.session_reasons(strength) for strength, _ in STRENGTHS}
        finally:
            if treatment is not None:
                self.store.clear_scratch()
        kb = self.kb()
        labels: dict = {}
        screened = []
        for patient in sorted(sessions, key=lambda term: term.value):
            result = PatientScreen(patient.value)
            for treated, session in sorted(sessions[patient], key=lambda pair: pair[0].value):
                if treated not in labels:
                    labels[treated] = label_of(kb, URIRef(treated.value))
                found = {strength: by_strength[strength].get(session, []) for strength, _ in STRENGTHS}
                reasons = [reason for strength, _ in STRENGTHS for reason in found[strength]]
                result.findings.append(Finding(treated.value, labels[treated], status_of(found), reasons))
            screened.append(result)
        return screened

    def _sessions(self, treatment: URIRef | None) -> dict:
        """Patient -> (treatment, session) pairs to screen, as store terms."""
        sessions: dict = defaultdict(list)
        patients = [r["p"] for r in self.store.select(f"{PREFIX}SELECT DISTINCT ?p WHERE {{ ?p a mesokg:Patient }}")]
        for patient in patients:
            sessions[patient]
        if treatment is not None:
            if not self.store.writable:
                raise MesokgError("--treatment adds sessions: this backend is read-only (copy its data first)")
            treated = ox.NamedNode(str(treatment))
            quads = []
            for index, patient in enumerate(patients):
                session = ox.BlankNode(f"screen{index}")
                quads += [
                    ox.Quad(patient, ox.NamedNode(MESOKG.hasSession), session),
                    ox.Quad(session, _type(), ox.NamedNode(MESOKG.TreatmentSession)),
                    ox.Quad(session, ox.NamedNode(MESOKG.treatment), treated),
                    ox.Quad(session, ox.NamedNode(MESOKG.sessionStatus), ox.NamedNode(MESOKG.planned)),
                ]
                sessions[patient].append((treated, session))
            self.store.add_scratch(quads)
            return sessions
        query = (
            f"{PREFIX}SELECT ?p ?s ?t WHERE {{ ?p a mesokg:Patient ; mesokg:hasSession ?s . "
            f"?s mesokg:sessionStatus mesokg:planned ; mesokg:treatment ?t . ?t a mesokg:Treatment }}"
        )
        for row in self.store.select(query):
            sessions[row["p"]].append((row["t"], row["s"]))
        return sessions

    def _record_codes(self) -> _RecordCodes:
        return _RecordCodes(self.store)


XSD_LITERAL_PLAIN = re.compile(rb'"([^"\\\n]*)"\^\^<http://www\.w3\.org/2001/XMLSchema#([^>]*)>')
XSD_LITERAL = re.compile(rb'"((?:[^"\\\n]|\\.)*)"\^\^<http://www\.w3\.org/2001/XMLSchema#([^>]*)>')


def _typed_literals(path: Path, name: str) -> set[tuple[str, str]]:
    """(lexical form, datatype) of every literal typed by an XML Schema datatype other than xsd:string."""
    found: set[tuple[str, str]] = set()
    if name == "nt":  # every typed literal is "..."^^<...>: found without parsing
        data = path.read_bytes()
        pairs = set((XSD_LITERAL if b"\\" in data else XSD_LITERAL_PLAIN).findall(data))
        if any(b"\\" in lexical for lexical, _ in pairs):
            return _typed_literals(path, "parse-nt")
        found = {(lexical.decode("utf-8"), XSD_NS + local.decode("utf-8")) for lexical, local in pairs}
    else:
        fmt = OX_FORMATS["nt" if name == "parse-nt" else name]
        for triple in ox.parse(path=str(path), format=fmt, base_iri=path.resolve().as_uri()):
            term = triple.object
            if isinstance(term, ox.Literal) and term.datatype.value.startswith(XSD_NS):
                found.add((term.value, term.datatype.value))
    found.discard((None, None))
    return {(lexical, datatype) for lexical, datatype in found if datatype != XSD_NS + "string"}


def _read_before_kb(paths) -> tuple[bool, int]:
    """Whether the inputs can be parsed before the knowledge base is in the store (every one is RDF: a FHIR
    bundle is converted with the knowledge base's treatments), and their total size in bytes."""
    rdf, size = True, 0
    for path in expand_paths(paths)[0]:
        try:
            with path.open("rb") as stream:
                rdf = rdf and not looks_like_fhir(stream.read(512))
            size += path.stat().st_size
        except OSError:
            continue  # reported by the load itself
    return rdf, size


def local_engine(
    kb: Graph | None, store_path: Path | None, fingerprint: str | None, shapes: Graph | None = None, use_kb: bool = True
) -> Engine:
    """An Engine over the bundled knowledge graph (built on demand) or the given one, in memory or on disk;
    with `use_kb` False, over the data alone (no knowledge base is built)."""
    if not use_kb:
        return Engine(Graph, "no-kb", store_path, shapes=shapes, use_kb=False)
    if fingerprint is None:
        fingerprint = source_fingerprint() if kb is None else f"unnamed:{id(kb)}"
    return Engine((lambda: kb) if kb is not None else knowledge_graph, fingerprint, store_path, shapes=shapes)


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
    for medication uses and allergy records; and each session's patient. Keyed by store terms."""

    def __init__(self, store: Store) -> None:
        self.condition: dict = defaultdict(set)
        self.linked: dict = defaultdict(set)
        self.patient_of_session: dict = {}
        q = f"{PREFIX}SELECT ?n ?c WHERE {{ ?p mesokg:hasCondition ?n . ?n mesokg:code ?c }}"
        for row in store.select(q):
            self.condition[row["n"]].add(compact(row["c"].value))
        q = (
            f"{PREFIX}SELECT ?k ?p ?s ?c WHERE {{ {{ ?p mesokg:takesMedication ?u . ?u mesokg:medication ?s "
            f'BIND("medication" AS ?k) }} UNION {{ ?p mesokg:hasAllergy ?u . ?u mesokg:substance ?s '
            f'BIND("allergy" AS ?k) }} '
            f"?u mesokg:code ?c }}"
        )
        for row in store.select(q):
            self.linked[(row["k"].value, row["p"], row["s"])].add(compact(row["c"].value))
        if self.linked:  # only coded medications and allergies need the patient of a session
            for row in store.select(f"{PREFIX}SELECT ?p ?s WHERE {{ ?p mesokg:hasSession ?s }}"):
                self.patient_of_session[row["s"]] = row["p"]

    def codes(self, session, kind: str, reason) -> tuple[str, ...]:
        if kind == "condition":
            return tuple(sorted(self.condition.get(reason, ())))
        if not self.linked:
            return ()
        patient = self.patient_of_session.get(session)
        return tuple(sorted(self.linked.get((kind, patient, reason), ())))


def _term(node, types: dict, labels: dict | None = None) -> str | None:
    """As validate._term: a CURIE, a literal's text, or a blank node described by its types (else by its
    label in `labels`)."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return compact(str(node))
    if isinstance(node, BNode):
        found = sorted(compact(str(t)) for t in types.get(node, []))
        return f"[a {', '.join(found)}]" if found else f"_:{(labels or {}).get(node, node)}"
    return str(node)


def _type() -> ox.NamedNode:
    return ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def load_endpoint(
    store_url: str, paths, kb: Graph, fingerprint: str, data_graph: str = graphs.DATA, replace_kb: bool = True
) -> Loaded:
    """Read the files (RDF or FHIR) into an embedded store, resolve their codes, and add them to `data_graph` of
    the remote store (Graph Store Protocol at `store_url`), after replacing its knowledge-base graph (unless
    `replace_kb` is False: a partition after the first)."""
    local = Engine(lambda: kb, fingerprint)
    loaded = local.load(paths)
    if replace_kb:
        upload(store_url, REMOTE_KB, ntriples(kb), replace=True)
    quads = [q for q in local.store.ox if q.graph_name not in (KB_GRAPH, META_GRAPH)]
    if quads:
        buffer = io.BytesIO()
        ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads], buffer, ox.RdfFormat.N_TRIPLES)
        upload(store_url, data_graph, buffer.getvalue(), replace=False)
    return loaded
