"""Reading a FHIR R4 Bundle (JSON) into mesokg's patient model.

The bundle is parsed with `json` (so a syntax error is reported with its line and column) and validated with
the `fhir.resources` models of FHIR R4B, which for the resources read here is FHIR R4 (4.0.1); a validation
error is reported with the JSON path of the offending element (`$.entry[2].resource.birthDate`). Every
problem becomes one `InputError` line, never a traceback.

What is read, and how (resources of other types, and codings of unknown code systems, are ignored):

- Patient -> `a mesokg:Patient`, `mesokg:birthDate`, `mesokg:sex` (FHIR administrative gender female, male,
  other, unknown -> `mesokg:female`, `mesokg:male`, `mesokg:other-sex`, `mesokg:unknown-sex`).
- Condition -> `mesokg:hasCondition` node with one `mesokg:code` per coding of a known code system and an
  `rdfs:label` (the concept's text, else its first display). Kept when its clinical status is active,
  recurrence or relapse; dropped when inactive, remission or resolved, or when its verification status is
  refuted or entered-in-error.
- MedicationStatement (status active, intended, on-hold) and MedicationRequest (status active, on-hold,
  draft) -> `mesokg:takesMedication` node typed `mesokg:MedicationUse` with the codes and label of the
  medication, taken from medicationCodeableConcept or from the code of the Medication that
  medicationReference names (contained in the resource, or an entry of the bundle). `mesokg:medication`
  is left for the resolver, which turns codes into substances. `mesokg:dailyDose` (mg a day) is added when
  the dosage is one line (`dosage`, `dosageInstruction`) with one dose in mg or g (UCUM) and a timing of
  `frequency` per `period` hours, days or weeks; any other dosage leaves the dose unknown, which the clinical
  rule treats as reaching a dose-limited therapy's threshold.
- AllergyIntolerance (clinical status active; verification status not refuted or entered-in-error) ->
  `mesokg:hasAllergy` node typed `mesokg:AllergyRecord` with codes and label (`mesokg:substance` is left for
  the resolver).
- Observation (status final, amended, corrected or preliminary) of pregnancy status (LOINC 82810-3) whose
  value says pregnant, or of breastfeeding status (LOINC 63895-7, or SNOMED CT 413712001) whose value says
  currently breastfeeding (or is `true`) -> a `mesokg:hasCondition` node typed `mesokg:pregnancy` (or
  `mesokg:lactation`) that also carries the value's codes: the reader has recognised the meaning, so it
  states it in the graph's own terms rather than leaving it to code mappings (LOINC answer codes, LA...,
  are unlikely ever to be mapped). Any other value (not pregnant, unknown) adds nothing.
- Procedure (status preparation -> planned, completed -> performed) and ServiceRequest (status draft,
  active or on-hold with intent plan, proposal, or order and its specialisations original-order,
  reflex-order, filler-order, instance-order -> planned) whose code has a coding in the system
  `https://w3id.org/mesokg/` -> `mesokg:hasSession` node typed `mesokg:TreatmentSession` with
  `mesokg:treatment`, `mesokg:sessionStatus`, `mesokg:sessionDate` (date part of performed[x] /
  occurrence[x], or of its period's start) and one `mesokg:bodySite` per body site (text, else display).

Code IRIs are the prefix map's IRI for the code system plus the code: SNOMED CT (SNOMEDCT), ICD-10-CM
(ICD10CM), ICD-11 MMS (ICD11), ATC, RxNorm (RXNORM), LOINC, and mesokg's own concepts (system
`https://w3id.org/mesokg/`, code = the local name).

Choices:

- Node IRIs: the entry's fullUrl when it is absolute (urn:uuid:, urn:oid:, http(s)://), so that a result
  leads back to its FHIR resource; otherwise a urn:uuid (version 5) derived from resourceType/id, scoped by
  the bundle's identifier, else its id, else a digest of the file, so that two bundles that both use
  `Patient/1` do not merge their patients. Nodes of resources with an id also carry `dcterms:identifier
  "Type/id"`.
- Partial dates. The shapes want an `xsd:date`, but FHIR allows a birth date of only a year or a year and a
  month. Such a value is kept as FHIR gives it, typed `xsd:gYear` or `xsd:gYearMonth`, rather than padded to
  a day that was never recorded: validation then reports that the record lacks a full date, and screening,
  which does not use the birth date, still works. Session dates are treated the same way.
- Missing or unknown statuses are read on the side of caution, since the record is used for safety
  screening: a Condition or AllergyIntolerance without a clinical status is kept, as is one whose status is
  not among the codes named above; a MedicationStatement or MedicationRequest with status `unknown` counts
  as taken.
- A Condition, MedicationStatement, MedicationRequest or AllergyIntolerance whose subject (patient) is not a
  Patient of the bundle is an error, whatever its status; so is a Procedure or ServiceRequest that carries a
  mesokg coding naming no treatment of the knowledge graph, or more than one treatment.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from mesokg.errors import InputError, located
from mesokg.namespace import BASE, MESOKG
from mesokg.prefixes import bind_prefixes, iri_of
from mesokg.rdfio import parse_turtle
from mesokg.resources import ontology_dir
from mesokg.terminologies import fhir_systems

# FHIR code system URI -> prefix of ontology/prefixes.yaml (the code systems' own table, plus mesokg itself)
CODE_SYSTEMS = {**fhir_systems(), BASE: "mesokg"}

SEX = {"female": "female", "male": "male", "other": "other-sex", "unknown": "unknown-sex"}

CONDITION_DROPPED = frozenset({"inactive", "remission", "resolved"})
ALLERGY_DROPPED = frozenset({"inactive", "resolved"})
VERIFICATION_DROPPED = frozenset({"refuted", "entered-in-error"})
MEDICATION_STATEMENT_CURRENT = frozenset({"active", "intended", "on-hold", "unknown"})
MEDICATION_REQUEST_CURRENT = frozenset({"active", "on-hold", "draft", "unknown"})
OBSERVATION_STATUSES = frozenset({"final", "amended", "corrected", "preliminary"})
PROCEDURE_STATUSES = {"preparation": "planned", "completed": "performed"}
SERVICE_REQUEST_STATUSES = frozenset({"draft", "active", "on-hold"})
SERVICE_REQUEST_INTENTS = frozenset(
    {"plan", "proposal", "order", "original-order", "reflex-order", "filler-order", "instance-order"}
)

# Pregnancy status: LOINC 82810-3 "Pregnancy status"; answers LOINC LA15173-0 "Pregnant" = SNOMED CT
# 77386006 "Pregnant" (HL7/fhir-ips: input/fsh/profiles/ObservationPregnancyStatusUvIps.fsh,
# input/fsh/valuesets/PregnancyStatusUvIps.fsh, input/fsh/instances/ConceptMap-loinc-pregnancy-status-to-
# snomed-ct-uv-ips.fsh).
# Breastfeeding status: LOINC 63895-7 "Breastfeeding status", also coded SNOMED CT 413712001 "Breastfeeding
# (mother) (observable entity)" (gematik ISiK profile ISiKStillstatus; BIH-CEI/medikationsplan:
# input/fsh/Observation-stillzeit.fsh); answer LOINC LA29252-6 "Currently breastfeeding" (gematik ISiK
# value set StillstatusVS: LA4489-6 Unknown, LA29253-4 Not currently breastfeeding, LA29252-6 Currently
# breastfeeding); SNOMED CT 169750002 "Mother currently breast-feeding" (an NHS trust's TrakCare alert to
# SNOMED CT table, the HL7 ePI draft value set GroupLifestyleValue "Breast-feeding", a clinical NLP rule set).
PREGNANCY_OBSERVATIONS = frozenset({("LOINC", "82810-3")})
LACTATION_OBSERVATIONS = frozenset({("LOINC", "63895-7"), ("SNOMEDCT", "413712001")})
PREGNANT_VALUES = frozenset({("SNOMEDCT", "77386006"), ("LOINC", "LA15173-0")})
LACTATING_VALUES = frozenset({("SNOMEDCT", "169750002"), ("LOINC", "LA29252-6")})

ABSOLUTE_URL = re.compile(r"(urn:uuid:|urn:oid:|https?://)\S+")
RESTFUL_URL = re.compile(r"(?P<base>https?://\S+/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9.\-]{1,64})")
RELATIVE_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9.\-]{1,64})")
HISTORY = re.compile(r"/_history/[^/]+$")


def m(local: str) -> URIRef:
    """The IRI of a knowledge-graph concept (a treatment, a condition, a value) by its local name; terms of
    the vocabulary are written MESOKG.name (the closed namespace)."""
    return URIRef(BASE + local)


def looks_like_fhir(head: bytes) -> bool:
    """True when `head` (the first bytes of a file) opens a JSON object whose "resourceType" is "Bundle".

    Only the top-level members before "resourceType" are read, so a truncated head is enough as long as
    "resourceType" comes early (as FHIR servers and tools write it: first).
    """
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    decoder = json.JSONDecoder()
    position = 1
    while True:
        try:
            key, position = decoder.raw_decode(text, _skip_space(text, position))
            position = _skip_space(text, position)
            if not isinstance(key, str) or text[position : position + 1] != ":":
                return False
            value, position = decoder.raw_decode(text, _skip_space(text, position + 1))
        except ValueError:
            return False
        if key == "resourceType":
            return value == "Bundle"
        position = _skip_space(text, position)
        if text[position : position + 1] != ",":
            return False
        position += 1


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def bundle_to_graph(path: Path, treatments: Iterable[URIRef] | None = None) -> Graph:
    """The patient data of one FHIR R4 Bundle (JSON file) as a graph in mesokg's patient model.

    `treatments` are the treatment IRIs a session may name (default: those of the bundled knowledge base).
    Raises InputError, with a one-line message naming the file, for every problem.
    """
    path = Path(path)
    raw = _read(path)
    return bundle_data_to_graph(_parse_json(path, raw), path, treatments, raw)


def bundle_data_to_graph(
    data: Any, path: Path | str, treatments: Iterable[URIRef] | None = None, raw: bytes | None = None
) -> Graph:
    """As bundle_to_graph, for a bundle already parsed from JSON (a bulk export's patient, mesokg.bulk);
    errors name `path`. `raw`: the bundle's bytes, the scope of its derived IRIs when it has neither an
    identifier nor an id (default: its JSON, keys sorted)."""
    _check_is_bundle(path, data)
    _check_resource_types(path, data)
    bundle = _validate(path, data)
    known = frozenset(treatments) if treatments is not None else bundled_treatments()
    raw = raw if raw is not None else json.dumps(data, sort_keys=True).encode("utf-8")
    reader = _BundleReader(path, bundle, _bundle_scope(bundle, raw), known)
    return reader.read()


# ---- reading, parsing and validating ----------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(located(path, f"cannot read: {error.strerror or error}")) from None


def _parse_json(path: Path, raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(located(path, f"not UTF-8 text (byte {error.start})")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(located(path, f"malformed JSON: {error.msg}", error.lineno, error.colno)) from None


def _check_is_bundle(path: Path, data: Any) -> None:
    if not isinstance(data, dict):
        raise InputError(located(path, f"not a FHIR Bundle: the JSON is {_json_kind(data)}, not an object"))
    kind = data.get("resourceType")
    if kind is None:
        raise InputError(located(path, 'not a FHIR Bundle: the JSON object has no "resourceType"'))
    if kind != "Bundle":
        raise InputError(located(path, f"not a FHIR Bundle: $.resourceType is {json.dumps(kind)}"))


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def _require_fhir_resources(path: Path) -> None:
    try:
        import fhir.resources.R4B  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        raise InputError(located(path, "reading FHIR bundles needs the fhir.resources package (>= 8)")) from None


def _check_resource_types(path: Path, data: Any) -> None:
    """Every "resourceType" names a FHIR R4 resource (the models would fail on others without a location)."""
    _require_fhir_resources(path)
    for where, kind in _resource_types(data, "$"):
        if not (isinstance(kind, str) and is_resource_type(kind)):
            raise InputError(located(path, f"{where}.resourceType: {json.dumps(kind)} is not a FHIR R4 resource type"))


@functools.cache
def is_resource_type(kind: str) -> bool:
    """Whether `kind` names a FHIR R4 resource type (as fhir.resources' R4B models know them)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.resource import Resource

    try:
        return issubclass(get_fhir_model_class(kind), Resource)
    except (ValueError, KeyError):
        return False


def _resource_types(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if "resourceType" in node:
            yield where, node["resourceType"]
        for key, value in node.items():
            yield from _resource_types(value, where + _member(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _resource_types(value, f"{where}[{index}]")


def _validate(path: Path, data: dict) -> Any:
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        return Bundle.model_validate(data)
    except ValidationError as error:
        problems = error.errors()
        message = _describe(data, problems[0])
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        raise InputError(located(path, message)) from None
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(located(path, f"not a valid FHIR R4 Bundle: {error}")) from None


def _describe(data: Any, problem: dict) -> str:
    """`$.json.path: what is wrong` for one pydantic error."""
    kind = problem.get("type", "")
    missing = kind.endswith("missing")
    where = _json_path(data, problem.get("loc", ()), keep_missing_last=missing)
    if missing:
        return f"{where}: required element is missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown element (not part of FHIR R4)"
    text = str(problem.get("msg", "invalid value")).removeprefix("Value error, ").rstrip(".")
    primitive = re.match(r"(\w+) value string does not match spec regex", text)
    if primitive:
        name = primitive.group(1)
        text = f"not a valid FHIR {name[0].lower()}{name[1:]}"
    value = problem.get("input")
    if isinstance(value, str | int | float | bool):
        return f"{where}: invalid value {json.dumps(value)}: {text}"
    return f"{where}: {text}"


def _json_path(data: Any, loc: Iterable[Any], keep_missing_last: bool = False) -> str:
    """A pydantic error location as a JSON path into `data`, leaving out the validators' own labels."""
    steps = list(loc)
    where, node = "$", data
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            where, node = f"{where}[{step}]", node[step]
        elif isinstance(step, str) and isinstance(node, dict) and step in node:
            where, node = where + _member(step), node[step]
        elif isinstance(step, str) and last and keep_missing_last and isinstance(node, dict):
            where += _member(step)
    return where


def _member(key: str) -> str:
    return f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"[{json.dumps(key)}]"


def _bundle_scope(bundle: Any, raw: bytes) -> str:
    """What makes the derived node IRIs of this bundle its own: its identifier, else its id, else its content."""
    identifier = bundle.identifier
    if identifier is not None and identifier.value:
        return f"identifier:{identifier.system or ''}|{identifier.value}"
    if bundle.id:
        return f"id:{bundle.id}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@functools.cache
def bundled_treatments() -> frozenset[URIRef]:
    """The treatments of the bundled knowledge base (`a mesokg:Treatment` in ontology/kb)."""
    graph = Graph()
    for module in sorted((ontology_dir() / "kb").glob("*.ttl")):
        parse_turtle(graph, module)
    return frozenset(t for t in graph.subjects(RDF.type, MESOKG.Treatment) if isinstance(t, URIRef))


# ---- mapping ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    index: int
    full_url: str | None
    resource: Any
    iri: URIRef

    @property
    def kind(self) -> str:
        return self.resource.get_resource_type()

    @property
    def where(self) -> str:
        return f"$.entry[{self.index}].resource"


class _BundleReader:
    """Maps the entries of one validated Bundle into a graph."""

    def __init__(self, path: Path, bundle: Any, scope: str, treatments: frozenset[URIRef]) -> None:
        self.path = path
        self.scope = scope
        self.treatments = treatments
        self.graph = bind_prefixes(Graph())
        self.entries = [
            _Entry(index, entry.fullUrl, entry.resource, self._node_iri(index, entry))
            for index, entry in enumerate(bundle.entry or [])
            if entry.resource is not None
        ]
        self.by_full_url: dict[str, _Entry] = {}
        self.by_type_id: dict[tuple[str, str], _Entry | None] = {}
        self._index()

    def fail(self, message: str) -> InputError:
        return InputError(located(self.path, message))

    # -- identity and references --

    def _node_iri(self, index: int, entry: Any) -> URIRef:
        if entry.fullUrl and ABSOLUTE_URL.fullmatch(entry.fullUrl):
            return URIRef(entry.fullUrl)
        kind = entry.resource.get_resource_type()
        local = entry.resource.id or f"#entry-{index}"
        return URIRef(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.scope}/{kind}/{local}").urn)

    def _index(self) -> None:
        for entry in self.entries:
            if entry.full_url:
                if entry.full_url in self.by_full_url:
                    raise self.fail(f"$.entry[{entry.index}].fullUrl: {entry.full_url!r} is used by two entries")
                self.by_full_url[entry.full_url] = entry
            if entry.resource.id:
                key = (entry.kind, entry.resource.id)
                # the same Type/id from two servers cannot be told apart by a relative reference
                self.by_type_id[key] = None if key in self.by_type_id else entry

    def resolve(self, reference: str | None, source: _Entry) -> _Entry | None:
        """The entry a reference names, following the bundle rules of FHIR R4 (fullUrl, then Type/id)."""
        if not reference:
            return None
        reference = HISTORY.sub("", reference)
        if reference in self.by_full_url:
            return self.by_full_url[reference]
        relative = RELATIVE_REFERENCE.fullmatch(reference)
        if relative is None:
            return None
        restful = RESTFUL_URL.fullmatch(source.full_url or "")
        if restful and restful.group("base") + reference in self.by_full_url:
            return self.by_full_url[restful.group("base") + reference]
        return self.by_type_id.get((relative.group("type"), relative.group("id")))

    def patient_of(self, entry: _Entry, element: str) -> URIRef:
        reference = getattr(entry.resource, element)
        text = reference.reference if reference is not None else None
        target = self.resolve(text, entry)
        if target is None or target.kind != "Patient":
            named = f"{text!r}" if text else "nothing"
            raise self.fail(
                f"{entry.where}.{element}: {entry.kind} refers to {named}, which is no Patient of this bundle"
            )
        return target.iri

    # -- the mapping itself --

    def read(self) -> Graph:
        patients = [entry for entry in self.entries if entry.kind == "Patient"]
        if not patients:
            raise self.fail("no Patient resource in this bundle")
        for entry in patients:
            self.add_patient(entry)
        handlers = {
            "Condition": self.add_condition,
            "MedicationStatement": self.add_medication_statement,
            "MedicationRequest": self.add_medication_request,
            "AllergyIntolerance": self.add_allergy_intolerance,
            "Observation": self.add_observation,
            "Procedure": self.add_procedure,
            "ServiceRequest": self.add_service_request,
        }
        for entry in self.entries:
            if entry.kind in handlers:
                handlers[entry.kind](entry)
        return self.graph

    def add(self, subject: URIRef, predicate: URIRef, value: Any) -> None:
        if value is not None:
            self.graph.add((subject, predicate, value))

    def identify(self, entry: _Entry) -> None:
        if entry.resource.id:
            self.add(entry.iri, DCTERMS.identifier, Literal(f"{entry.kind}/{entry.resource.id}"))

    def add_patient(self, entry: _Entry) -> None:
        patient = entry.resource
        self.add(entry.iri, RDF.type, MESOKG.Patient)
        self.identify(entry)
        self.add(entry.iri, MESOKG.birthDate, date_literal(patient.birthDate))
        if patient.gender is not None:
            if patient.gender not in SEX:
                raise self.fail(
                    f"{entry.where}.gender: invalid value {json.dumps(patient.gender)}: "
                    "not an administrative gender (female, male, other, unknown)"
                )
            self.add(entry.iri, MESOKG.sex, m(SEX[patient.gender]))

    def add_condition(self, entry: _Entry) -> None:
        patient = self.patient_of(entry, "subject")
        condition = entry.resource
        if _status(condition.clinicalStatus) in CONDITION_DROPPED:
            return
        if _status(condition.verificationStatus) in VERIFICATION_DROPPED:
            return
        self.add(patient, MESOKG.hasCondition, entry.iri)
        self.identify(entry)
        self.add_concept(entry.iri, condition.code)

    def add_medication_statement(self, entry: _Entry) -> None:
        patient = self.patient_of(entry, "subject")
        if entry.resource.status in MEDICATION_STATEMENT_CURRENT:
            self.add_medication_use(entry, patient)

    def add_medication_request(self, entry: _Entry) -> None:
        patient = self.patient_of(entry, "subject")
        if entry.resource.status in MEDICATION_REQUEST_CURRENT:
            self.add_medication_use(entry, patient)

    def add_medication_use(self, entry: _Entry, patient: URIRef) -> None:
        concept, fallback = self.medication_concept(entry)
        self.add(patient, MESOKG.takesMedication, entry.iri)
        self.add(entry.iri, RDF.type, MESOKG.MedicationUse)
        self.identify(entry)
        self.add_concept(entry.iri, concept, fallback)
        resource = entry.resource
        dosages = resource.dosage if _kind(resource) == "MedicationStatement" else resource.dosageInstruction
        dose = daily_dose_mg(dosages or [])
        if dose is not None:
            self.add(entry.iri, MESOKG.dailyDose, Literal(dose, datatype=XSD.decimal))

    def medication_concept(self, entry: _Entry) -> tuple[Any, str | None]:
        """The medication's CodeableConcept (direct, or the code of the Medication referenced) and a label."""
        resource = entry.resource
        if resource.medicationCodeableConcept is not None:
            return resource.medicationCodeableConcept, None
        reference = resource.medicationReference
        medication = self.contained(resource, reference.reference) or self.resolve(reference.reference, entry)
        if medication is None or _kind(medication) != "Medication":
            named = repr(reference.reference) if reference.reference else "nothing"
            raise self.fail(
                f"{entry.where}.medicationReference: refers to {named}, which is no Medication contained in "
                "the resource or in this bundle"
            )
        medication = medication.resource if isinstance(medication, _Entry) else medication
        return medication.code, reference.display

    @staticmethod
    def contained(resource: Any, reference: str | None) -> Any:
        if not reference or not reference.startswith("#"):
            return None
        return next((c for c in resource.contained or [] if c.id == reference[1:]), None)

    def add_allergy_intolerance(self, entry: _Entry) -> None:
        patient = self.patient_of(entry, "patient")
        allergy = entry.resource
        if _status(allergy.clinicalStatus) in ALLERGY_DROPPED:
            return
        if _status(allergy.verificationStatus) in VERIFICATION_DROPPED:
            return
        self.add(patient, MESOKG.hasAllergy, entry.iri)
        self.add(entry.iri, RDF.type, MESOKG.AllergyRecord)
        self.identify(entry)
        self.add_concept(entry.iri, allergy.code)

    def add_observation(self, entry: _Entry) -> None:
        observation = entry.resource
        codes = set(_coded(observation.code))
        if codes & PREGNANCY_OBSERVATIONS:
            state, positive = "pregnancy", PREGNANT_VALUES
        elif codes & LACTATION_OBSERVATIONS:
            state, positive = "lactation", LACTATING_VALUES
        else:
            return
        patient = self.patient_of(entry, "subject")
        if observation.status not in OBSERVATION_STATUSES:
            return
        value = observation.valueCodeableConcept
        if not (observation.valueBoolean is True or set(_coded(value)) & positive):
            return
        self.add(patient, MESOKG.hasCondition, entry.iri)
        self.identify(entry)
        self.add(entry.iri, RDF.type, m(state))
        self.add_concept(entry.iri, value, state)

    def add_procedure(self, entry: _Entry) -> None:
        procedure = entry.resource
        treatment = self.treatment_of(entry)
        if treatment is None:
            return
        patient = self.patient_of(entry, "subject")
        if procedure.status not in PROCEDURE_STATUSES:
            return
        when = procedure.performedDateTime or (procedure.performedPeriod and procedure.performedPeriod.start)
        self.add_session(entry, patient, treatment, PROCEDURE_STATUSES[procedure.status], when)

    def add_service_request(self, entry: _Entry) -> None:
        request = entry.resource
        treatment = self.treatment_of(entry)
        if treatment is None:
            return
        patient = self.patient_of(entry, "subject")
        if request.status not in SERVICE_REQUEST_STATUSES or request.intent not in SERVICE_REQUEST_INTENTS:
            return
        when = request.occurrenceDateTime or (request.occurrencePeriod and request.occurrencePeriod.start)
        self.add_session(entry, patient, treatment, "planned", when)

    def treatment_of(self, entry: _Entry) -> URIRef | None:
        """The mesokg treatment the resource's code names; None when it has no mesokg coding."""
        code = entry.resource.code
        named = [
            (index, coding.code)
            for index, coding in enumerate(code.coding or [] if code is not None else [])
            if _system(coding.system) == "mesokg"
        ]
        if not named:
            return None
        for index, local in named:
            if m(local or "") not in self.treatments:
                raise self.fail(
                    f"{entry.where}.code.coding[{index}].code: {json.dumps(local)} is not a mesokg treatment "
                    "(see ontology/kb/treatments.ttl)"
                )
        if len({local for _, local in named}) > 1:
            raise self.fail(f"{entry.where}.code: names more than one mesokg treatment")
        return m(named[0][1])

    def add_session(self, entry: _Entry, patient: URIRef, treatment: URIRef, status: str, when: Any) -> None:
        session = entry.iri
        self.add(patient, MESOKG.hasSession, session)
        self.add(session, RDF.type, MESOKG.TreatmentSession)
        self.identify(entry)
        self.add(session, MESOKG.treatment, treatment)
        self.add(session, MESOKG.sessionStatus, m(status))
        self.add(session, MESOKG.sessionDate, date_literal(when))
        for site in entry.resource.bodySite or []:
            self.add(session, MESOKG.bodySite, _as_literal(_label(site)))

    def add_concept(self, node: URIRef, concept: Any, fallback: str | None = None) -> None:
        """`mesokg:code` for every coding of a known system, and the concept's words as `rdfs:label`."""
        for prefix, code in _coded(concept):
            self.add(node, MESOKG.code, code_iri(prefix, code))
        self.add(node, RDFS.label, _as_literal(_label(concept) or fallback))


# ---- small helpers ----------------------------------------------------------------------------------------------


MG_PER_UNIT = {"mg": Decimal(1), "g": Decimal(1000)}
HOURS_PER_PERIOD_UNIT = {"h": Decimal(1), "d": Decimal(24), "wk": Decimal(24 * 7)}


def daily_dose_mg(dosages: list[Any]) -> Decimal | None:
    """The daily dose in mg of a one-line FHIR dosage (one dose quantity in mg or g, taken `frequency` times
    per `period` hours, days or weeks), or None when the dosage says less or is more complex than that."""
    if len(dosages) != 1:
        return None
    dosage = dosages[0]
    rates = [rate for rate in dosage.doseAndRate or [] if rate.doseQuantity is not None]
    repeat = dosage.timing.repeat if dosage.timing is not None else None
    if len(rates) != 1 or repeat is None:
        return None
    quantity = rates[0].doseQuantity
    unit = quantity.code or quantity.unit
    if quantity.value is None or unit not in MG_PER_UNIT:
        return None
    if not repeat.frequency or not repeat.period or repeat.periodUnit not in HOURS_PER_PERIOD_UNIT:
        return None
    per_day = Decimal(repeat.frequency) * 24 / (Decimal(str(repeat.period)) * HOURS_PER_PERIOD_UNIT[repeat.periodUnit])
    dose = (Decimal(str(quantity.value)) * MG_PER_UNIT[unit] * per_day).normalize()
    return Decimal(format(dose, "f"))  # plain digits: a valid xsd:decimal lexical form, never "3E+1"


def code_iri(prefix: str, code: str) -> URIRef:
    return URIRef(iri_of(prefix, quote(code, safe="")))


def _system(system: str | None) -> str | None:
    if not system:
        return None
    return CODE_SYSTEMS.get(system) or CODE_SYSTEMS.get(system.rstrip("/")) or CODE_SYSTEMS.get(system + "/")


def _coded(concept: Any) -> Iterator[tuple[str, str]]:
    """(prefix, code) for each coding of `concept` in a known code system."""
    for coding in (concept.coding or []) if concept is not None else []:
        prefix = _system(coding.system)
        code = (coding.code or "").strip()
        if prefix and code:
            yield prefix, code


def _label(concept: Any) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return concept.text
    return next((coding.display for coding in concept.coding or [] if coding.display), None)


def _as_literal(text: str | None) -> Literal | None:
    return Literal(text) if text else None


def _status(concept: Any) -> str | None:
    """The code of a status CodeableConcept (clinical or verification status); None when absent."""
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.code:
            return coding.code
    return None


def _kind(resource: Any) -> str:
    inner = resource.resource if isinstance(resource, _Entry) else resource
    return inner.get_resource_type()


def date_literal(value: Any) -> Literal | None:
    """A FHIR date or dateTime as an xsd:date (its date part); a partial date as xsd:gYear or xsd:gYearMonth."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return Literal(value.date().isoformat(), datatype=XSD.date)
    if isinstance(value, date):
        return Literal(value.isoformat(), datatype=XSD.date)
    text = str(value)
    if re.fullmatch(r"\d{4}", text):
        return Literal(text, datatype=XSD.gYear)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return Literal(text, datatype=XSD.gYearMonth)
    return Literal(text[:10], datatype=XSD.date)
