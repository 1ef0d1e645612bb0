"""Reading FHIR R4 bundles into the patient model: the examples, the status rules, the errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from mesokg.errors import InputError
from mesokg.fhir import bundle_to_graph, looks_like_fhir

M = "https://w3id.org/mesokg/"
# xsd datatypes by IRI: pytest probes module attributes, and rdflib's namespace objects warn on unknown ones
DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")
GYEAR = URIRef("http://www.w3.org/2001/XMLSchema#gYear")
GYEARMONTH = URIRef("http://www.w3.org/2001/XMLSchema#gYearMonth")
EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"
PATIENT_URL = "urn:uuid:00000000-0000-4000-8000-000000000001"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def m(local: str) -> URIRef:
    return URIRef(M + local)


# ---- building small bundles -------------------------------------------------------------------------------------


def patient(**extra: Any) -> dict:
    return {"resourceType": "Patient", "gender": "female", "birthDate": "1985-04-12", **extra}


def concept(*codings: tuple[str, str], text: str | None = None) -> dict:
    value: dict[str, Any] = {"coding": [{"system": system, "code": code} for system, code in codings]}
    if text:
        value["text"] = text
    return value


def status(system: str, code: str) -> dict:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


def subject() -> dict:
    return {"reference": PATIENT_URL}


def condition(clinical: str | None = "active", verification: str | None = None) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "code": concept((SNOMED, "44054006"), text="type 2 diabetes"),
        "subject": subject(),
    }
    if clinical:
        resource["clinicalStatus"] = status("condition-clinical", clinical)
    if verification:
        resource["verificationStatus"] = status("condition-ver-status", verification)
    return resource


def medication_statement(state: str = "active", **extra: Any) -> dict:
    medication = {"medicationCodeableConcept": concept((ATC, "B01AA03"), text="warfarin")}
    return {"resourceType": "MedicationStatement", "status": state, "subject": subject(), **medication, **extra}


def observation(code: tuple[str, str], value: tuple[str, str], state: str = "final") -> dict:
    return {
        "resourceType": "Observation",
        "status": state,
        "code": concept(code),
        "subject": subject(),
        "valueCodeableConcept": concept(value),
    }


def session_code(treatment: str = "hyaluronic-acid-skin-booster") -> dict:
    return concept(("https://w3id.org/mesokg/", treatment))


def service_request(state: str = "active", intent: str = "order", **extra: Any) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "status": state,
        "intent": intent,
        "code": session_code(),
        "subject": subject(),
        "occurrenceDateTime": "2027-05-02T09:00:00Z",
        **extra,
    }


def bundle(*resources: dict, first: dict | None = None, **extra: Any) -> dict:
    entries = [{"fullUrl": PATIENT_URL, "resource": first if first is not None else patient()}]
    for number, resource in enumerate(resources, start=2):
        entries.append({"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{number:012d}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries, **extra}


def write(tmp_path: Path, data: Any, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
    return path


def read(tmp_path: Path, *resources: dict, **extra: Any) -> Graph:
    return bundle_to_graph(write(tmp_path, bundle(*resources, **extra)))


def entry_iri(number: int) -> URIRef:
    return URIRef(f"urn:uuid:00000000-0000-4000-8000-{number:012d}")


def error_of(tmp_path: Path, data: Any) -> str:
    with pytest.raises(InputError) as caught:
        bundle_to_graph(write(tmp_path, data))
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


P = URIRef(PATIENT_URL)


# ---- the examples -----------------------------------------------------------------------------------------------


def test_pregnant_example_reads_patient_pregnancy_diabetes_warfarin_and_planned_session():
    graph = bundle_to_graph(EXAMPLES / "pregnant-type-2-diabetes-warfarin.json")
    camille = URIRef("urn:uuid:5f1c2b9e-6d1a-4c43-9d3e-2a7b8c1e0a01")
    assert (camille, RDF.type, m("Patient")) in graph
    assert graph.value(camille, m("birthDate")) == Literal("1990-06-21", datatype=DATE)
    assert graph.value(camille, m("sex")) == m("female")

    pregnancy = URIRef("urn:uuid:5f1c2b9e-6d1a-4c43-9d3e-2a7b8c1e0a02")
    diabetes = URIRef("urn:uuid:5f1c2b9e-6d1a-4c43-9d3e-2a7b8c1e0a03")
    assert set(graph.objects(camille, m("hasCondition"))) == {pregnancy, diabetes}
    assert (pregnancy, RDF.type, m("pregnancy")) in graph
    assert set(graph.objects(pregnancy, m("code"))) == {URIRef("http://snomed.info/id/77386006")}
    assert set(graph.objects(diabetes, m("code"))) == {
        URIRef("http://snomed.info/id/44054006"),
        URIRef("http://purl.bioontology.org/ontology/ICD10CM/E11.9"),
    }
    assert graph.value(diabetes, RDFS.label) == Literal("type 2 diabetes")

    warfarin = graph.value(camille, m("takesMedication"))
    assert (warfarin, RDF.type, m("MedicationUse")) in graph
    assert set(graph.objects(warfarin, m("code"))) == {
        URIRef("http://purl.bioontology.org/ontology/ATC/B01AA03"),
        URIRef("http://purl.bioontology.org/ontology/RXNORM/11289"),
    }
    assert graph.value(warfarin, m("medication")) is None, "substances are the resolver's job"

    session = graph.value(camille, m("hasSession"))
    assert session == URIRef("urn:uuid:5f1c2b9e-6d1a-4c43-9d3e-2a7b8c1e0a05")
    assert graph.value(session, m("treatment")) == m("methylxanthine-cellulite-mesotherapy")
    assert graph.value(session, m("sessionStatus")) == m("planned")
    assert graph.value(session, m("sessionDate")) == Literal("2027-01-15", datatype=DATE)
    assert graph.value(session, m("bodySite")) == Literal("thighs")


def test_resolved_diabetes_example_drops_the_condition_and_reads_reference_allergy_and_procedure():
    graph = bundle_to_graph(EXAMPLES / "resolved-diabetes-apixaban-lidocaine-allergy.json")
    tomas = URIRef("https://fhir.example.org/r4/Patient/tomas")
    assert graph.value(tomas, m("sex")) == m("male")
    assert graph.value(tomas, DCTERMS.identifier) == Literal("Patient/tomas")
    assert list(graph.objects(tomas, m("hasCondition"))) == []

    apixaban = graph.value(tomas, m("takesMedication"))
    assert apixaban == URIRef("https://fhir.example.org/r4/MedicationStatement/tomas-apixaban")
    assert set(graph.objects(apixaban, m("code"))) == {URIRef("http://purl.bioontology.org/ontology/ATC/B01AF02")}

    allergy = graph.value(tomas, m("hasAllergy"))
    assert (allergy, RDF.type, m("AllergyRecord")) in graph
    assert set(graph.objects(allergy, m("code"))) == {URIRef("http://purl.bioontology.org/ontology/RXNORM/6387")}
    assert graph.value(allergy, m("substance")) is None

    session = graph.value(tomas, m("hasSession"))
    assert graph.value(session, m("treatment")) == m("lidocaine-piroxicam-analgesic-mesotherapy")
    assert graph.value(session, m("sessionStatus")) == m("planned")


def test_healthy_example_has_only_a_planned_session():
    graph = bundle_to_graph(EXAMPLES / "healthy-skin-booster.json")
    (sara,) = graph.subjects(RDF.type, m("Patient"))
    assert {p for p, _ in graph.predicate_objects(sara)} == {RDF.type, m("birthDate"), m("sex"), m("hasSession")}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_examples_look_like_fhir_from_their_first_bytes(path: Path):
    assert looks_like_fhir(path.read_bytes()[:512])


# ---- patient --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gender, sex", [("female", "female"), ("male", "male"), ("other", "other-sex"), ("unknown", "unknown-sex")]
)
def test_gender_becomes_sex(tmp_path: Path, gender: str, sex: str):
    graph = read(tmp_path, first=patient(gender=gender))
    assert graph.value(P, m("sex")) == m(sex)


@pytest.mark.parametrize(
    "given, expected",
    [("1980", Literal("1980", datatype=GYEAR)), ("1980-05", Literal("1980-05", datatype=GYEARMONTH))],
)
def test_partial_birth_date_is_kept_as_given(tmp_path: Path, given: str, expected: Literal):
    graph = read(tmp_path, first=patient(birthDate=given))
    assert graph.value(P, m("birthDate")) == expected


def test_node_without_absolute_full_url_gets_a_stable_uuid_scoped_by_the_bundle(tmp_path: Path):
    def iri_of(bundle_id: str) -> URIRef:
        data = {
            "resourceType": "Bundle",
            "id": bundle_id,
            "type": "collection",
            "entry": [{"resource": patient(id="p1")}],
        }
        (iri,) = bundle_to_graph(write(tmp_path, data, f"{bundle_id}.json")).subjects(RDF.type, m("Patient"))
        return iri

    assert str(iri_of("a")).startswith("urn:uuid:")
    assert iri_of("a") == iri_of("a")
    assert iri_of("a") != iri_of("b")


# ---- conditions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clinical, verification, kept",
    [
        ("active", None, True),
        ("recurrence", None, True),
        ("relapse", None, True),
        ("inactive", None, False),
        ("remission", None, False),
        ("resolved", None, False),
        ("active", "confirmed", True),
        ("active", "refuted", False),
        ("active", "entered-in-error", False),
        (None, None, True),
    ],
)
def test_condition_status_decides_whether_it_is_read(
    tmp_path: Path, clinical: str | None, verification: str | None, kept: bool
):
    graph = read(tmp_path, condition(clinical, verification))
    assert ((P, m("hasCondition"), entry_iri(2)) in graph) is kept


def test_condition_codes_are_iris_and_unknown_systems_keep_only_the_label(tmp_path: Path):
    coded = condition()
    coded["code"] = concept(
        ("http://hl7.org/fhir/sid/icd-10-cm", "E11.65"),
        ("http://id.who.int/icd/release/11/mms", "5A11"),
        ("https://w3id.org/mesokg/", "type-2-diabetes-mellitus"),
        ("http://example.org/local-codes", "DM2"),
        text="diabetes",
    )
    graph = read(tmp_path, coded)
    assert set(graph.objects(entry_iri(2), m("code"))) == {
        URIRef("http://purl.bioontology.org/ontology/ICD10CM/E11.65"),
        URIRef("http://id.who.int/icd/release/11/mms/5A11"),
        m("type-2-diabetes-mellitus"),
    }
    assert graph.value(entry_iri(2), RDFS.label) == Literal("diabetes")


def test_condition_label_falls_back_to_the_display(tmp_path: Path):
    coded = condition()
    coded["code"] = {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes mellitus type 2"}]}
    graph = read(tmp_path, coded)
    assert graph.value(entry_iri(2), RDFS.label) == Literal("Diabetes mellitus type 2")


# ---- medications ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, taken",
    [
        ("active", True),
        ("intended", True),
        ("on-hold", True),
        ("completed", False),
        ("stopped", False),
        ("entered-in-error", False),
        ("not-taken", False),
    ],
)
def test_medication_statement_status_decides_whether_it_is_taken(tmp_path: Path, state: str, taken: bool):
    graph = read(tmp_path, medication_statement(state))
    assert ((P, m("takesMedication"), entry_iri(2)) in graph) is taken


@pytest.mark.parametrize("state, taken", [("active", True), ("draft", True), ("on-hold", True), ("cancelled", False)])
def test_medication_request_status_decides_whether_it_is_taken(tmp_path: Path, state: str, taken: bool):
    request = {
        "resourceType": "MedicationRequest",
        "status": state,
        "intent": "order",
        "medicationCodeableConcept": concept((RXNORM, "11289")),
        "subject": subject(),
    }
    graph = read(tmp_path, request)
    assert ((P, m("takesMedication"), entry_iri(2)) in graph) is taken


def test_medication_reference_to_a_bundled_medication_uses_its_code(tmp_path: Path):
    medication = {"resourceType": "Medication", "code": concept((ATC, "B01AF02"), text="apixaban")}
    statement = medication_statement()
    del statement["medicationCodeableConcept"]
    statement["medicationReference"] = {"reference": str(entry_iri(2))}
    graph = read(tmp_path, medication, statement)
    use = graph.value(P, m("takesMedication"))
    assert use == entry_iri(3)
    assert set(graph.objects(use, m("code"))) == {URIRef("http://purl.bioontology.org/ontology/ATC/B01AF02")}
    assert graph.value(use, RDFS.label) == Literal("apixaban")


def test_medication_reference_to_a_contained_medication_uses_its_code(tmp_path: Path):
    statement = medication_statement()
    del statement["medicationCodeableConcept"]
    statement["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept((RXNORM, "1191"))}]
    statement["medicationReference"] = {"reference": "#med", "display": "aspirin"}
    graph = read(tmp_path, statement)
    use = graph.value(P, m("takesMedication"))
    assert set(graph.objects(use, m("code"))) == {URIRef("http://purl.bioontology.org/ontology/RXNORM/1191")}
    assert graph.value(use, RDFS.label) == Literal("aspirin")


def test_medication_reference_to_nothing_is_an_error(tmp_path: Path):
    statement = medication_statement()
    del statement["medicationCodeableConcept"]
    statement["medicationReference"] = {"reference": "Medication/missing"}
    message = error_of(tmp_path, bundle(statement))
    assert "$.entry[1].resource.medicationReference" in message and "Medication/missing" in message


# ---- allergies ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clinical, verification, kept",
    [("active", None, True), ("resolved", None, False), ("inactive", None, False), ("active", "refuted", False)],
)
def test_allergy_status_decides_whether_it_is_read(tmp_path: Path, clinical: str, verification: str | None, kept: bool):
    allergy: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": status("allergyintolerance-clinical", clinical),
        "code": concept((RXNORM, "6387"), text="lidocaine"),
        "patient": subject(),
    }
    if verification:
        allergy["verificationStatus"] = status("allergyintolerance-verification", verification)
    graph = read(tmp_path, allergy)
    assert ((P, m("hasAllergy"), entry_iri(2)) in graph) is kept


# ---- pregnancy and lactation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, state, pregnant",
    [
        ((SNOMED, "77386006"), "final", True),
        ((LOINC, "LA15173-0"), "amended", True),
        ((SNOMED, "60001007"), "final", False),
        ((LOINC, "LA26683-5"), "final", False),
        ((LOINC, "LA4489-6"), "final", False),
        ((SNOMED, "77386006"), "cancelled", False),
        ((SNOMED, "77386006"), "entered-in-error", False),
    ],
)
def test_pregnancy_status_observation(tmp_path: Path, value: tuple[str, str], state: str, pregnant: bool):
    graph = read(tmp_path, observation((LOINC, "82810-3"), value, state))
    node = entry_iri(2)
    assert ((P, m("hasCondition"), node) in graph) is pregnant
    assert ((node, RDF.type, m("pregnancy")) in graph) is pregnant


def test_pregnant_observation_carries_the_value_codes(tmp_path: Path):
    graph = read(tmp_path, observation((LOINC, "82810-3"), (LOINC, "LA15173-0")))
    assert set(graph.objects(entry_iri(2), m("code"))) == {URIRef("https://loinc.org/LA15173-0")}


@pytest.mark.parametrize(
    "value, lactating",
    [((LOINC, "LA29252-6"), True), ((SNOMED, "169750002"), True), ((LOINC, "LA29253-4"), False)],
)
def test_breastfeeding_status_observation(tmp_path: Path, value: tuple[str, str], lactating: bool):
    graph = read(tmp_path, observation((LOINC, "63895-7"), value))
    assert ((entry_iri(2), RDF.type, m("lactation")) in graph) is lactating


def test_other_observations_are_ignored(tmp_path: Path):
    graph = read(tmp_path, observation((LOINC, "718-7"), (SNOMED, "77386006")))
    assert (P, m("hasCondition"), None) not in graph


# ---- sessions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, intent, planned",
    [
        ("active", "order", True),
        ("draft", "proposal", True),
        ("on-hold", "plan", True),
        ("active", "option", False),
        ("completed", "order", False),
        ("revoked", "order", False),
    ],
)
def test_service_request_becomes_a_planned_session(tmp_path: Path, state: str, intent: str, planned: bool):
    graph = read(tmp_path, service_request(state, intent, bodySite=[{"text": "face"}]))
    session = entry_iri(2)
    assert ((P, m("hasSession"), session) in graph) is planned
    if planned:
        assert (session, RDF.type, m("TreatmentSession")) in graph
        assert graph.value(session, m("treatment")) == m("hyaluronic-acid-skin-booster")
        assert graph.value(session, m("sessionStatus")) == m("planned")
        assert graph.value(session, m("sessionDate")) == Literal("2027-05-02", datatype=DATE)
        assert graph.value(session, m("bodySite")) == Literal("face")


@pytest.mark.parametrize("state, session_status", [("preparation", "planned"), ("completed", "performed")])
def test_procedure_becomes_a_session(tmp_path: Path, state: str, session_status: str):
    procedure = {
        "resourceType": "Procedure",
        "status": state,
        "code": session_code("acne-scar-mesotherapy"),
        "subject": subject(),
        "performedPeriod": {"start": "2026-11-03T14:00:00+01:00"},
    }
    graph = read(tmp_path, procedure)
    session = graph.value(P, m("hasSession"))
    assert graph.value(session, m("sessionStatus")) == m(session_status)
    assert graph.value(session, m("treatment")) == m("acne-scar-mesotherapy")
    assert graph.value(session, m("sessionDate")) == Literal("2026-11-03", datatype=DATE)


def test_procedure_in_progress_is_not_a_session(tmp_path: Path):
    procedure = {"resourceType": "Procedure", "status": "in-progress", "code": session_code(), "subject": subject()}
    assert (P, m("hasSession"), None) not in read(tmp_path, procedure)


def test_service_request_without_a_mesokg_coding_is_ignored(tmp_path: Path):
    request = service_request()
    request["code"] = concept((LOINC, "718-7"))
    assert (P, m("hasSession"), None) not in read(tmp_path, request)


def test_session_naming_no_mesokg_treatment_is_an_error(tmp_path: Path):
    request = service_request()
    request["code"] = session_code("pregnancy")
    message = error_of(tmp_path, bundle(request))
    assert "$.entry[1].resource.code.coding[0].code" in message and '"pregnancy"' in message


# ---- errors -------------------------------------------------------------------------------------------------------


def test_malformed_json_names_line_and_column(tmp_path: Path):
    text = '{\n  "resourceType": "Bundle",\n  "type": "collection"\n  "entry": []\n}\n'
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        bundle_to_graph(path)
    assert str(caught.value).startswith(f"{path}:4:3: malformed JSON")


@pytest.mark.parametrize(
    "change, where",
    [
        ({"birthDate": "not-a-date"}, "$.entry[0].resource.birthDate"),
        ({"gender": "x"}, "$.entry[0].resource.gender"),
        ({"name": [{"given": "Ana"}]}, "$.entry[0].resource.name[0].given"),
        ({"favouriteColour": "blue"}, "$.entry[0].resource.favouriteColour"),
    ],
)
def test_invalid_resource_is_an_error_naming_the_json_path(tmp_path: Path, change: dict, where: str):
    message = error_of(tmp_path, bundle(first=patient(**change)))
    assert f": {where}: " in message


def test_missing_required_element_is_named(tmp_path: Path):
    unattached = condition()
    del unattached["subject"]
    assert "$.entry[1].resource.subject: required element is missing" in error_of(tmp_path, bundle(unattached))


def test_unknown_resource_type_is_named(tmp_path: Path):
    message = error_of(tmp_path, bundle({"resourceType": "Prescription"}))
    assert '$.entry[1].resource.resourceType: "Prescription" is not a FHIR R4 resource type' in message


@pytest.mark.parametrize(
    "data, problem",
    [
        (patient(), 'not a FHIR Bundle: $.resourceType is "Patient"'),
        ([bundle()], "not a FHIR Bundle: the JSON is an array"),
        ({"type": "collection"}, 'not a FHIR Bundle: the JSON object has no "resourceType"'),
    ],
)
def test_not_a_bundle_is_an_error(tmp_path: Path, data: Any, problem: str):
    assert problem in error_of(tmp_path, data)


def test_bundle_without_patient_is_an_error(tmp_path: Path):
    data = {"resourceType": "Bundle", "type": "collection", "entry": []}
    assert "no Patient resource in this bundle" in error_of(tmp_path, data)


@pytest.mark.parametrize(
    "resource, element",
    [
        ({**condition(), "subject": {"reference": "Patient/elsewhere"}}, "subject"),
        ({**medication_statement(), "subject": {"reference": "Group/ward-3"}}, "subject"),
        (
            {
                "resourceType": "AllergyIntolerance",
                "code": concept((RXNORM, "6387")),
                "patient": {"display": "a name only"},
            },
            "patient",
        ),
    ],
)
def test_record_whose_patient_is_not_in_the_bundle_is_an_error(tmp_path: Path, resource: dict, element: str):
    message = error_of(tmp_path, bundle(resource))
    assert f"$.entry[1].resource.{element}:" in message and "no Patient of this bundle" in message


def test_relative_reference_resolves_by_type_and_id(tmp_path: Path):
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "https://fhir.example.org/r4/Patient/p1", "resource": patient(id="p1")},
            {
                "fullUrl": "https://fhir.example.org/r4/Condition/c1",
                "resource": {**condition(), "id": "c1", "subject": {"reference": "Patient/p1"}},
            },
        ],
    }
    graph = bundle_to_graph(write(tmp_path, data))
    expected = URIRef("https://fhir.example.org/r4/Condition/c1")
    assert (URIRef("https://fhir.example.org/r4/Patient/p1"), m("hasCondition"), expected) in graph


# ---- detecting bundles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head, expected",
    [
        (b'{"resourceType": "Bundle", "type": "collection"', True),
        (b'\xef\xbb\xbf  {\n  "id": "b1",\n  "meta": {"profile": ["x"]},\n  "resourceType" : "Bundle"', True),
        (b'{"resourceType": "Patient", "id": "p"}', False),
        (b'{"@context": {"mesokg": "https://w3id.org/mesokg/"}, "@graph": []}', False),
        (b'[{"resourceType": "Bundle"}]', False),
        (b"@prefix mesokg: <https://w3id.org/mesokg/> .", False),
        (b'{"id": "b1", "meta": {"lastUpdated": "2026-', False),
    ],
)
def test_looks_like_fhir(head: bytes, expected: bool):
    assert looks_like_fhir(head) is expected
