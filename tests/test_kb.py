"""The knowledge base: sizes the project promises, roles, hierarchy, provenance, inheritance."""

from __future__ import annotations

from rdflib import Graph, URIRef

M = "https://w3id.org/mesokg/"
PREFIXES = """
PREFIX mesokg: <https://w3id.org/mesokg/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
KINDS = ["Disorder", "ClinicalFinding", "PhysiologicalState", "Hypersensitivity", "MedicationTherapy"]


def count(graph: Graph, where: str) -> int:
    (row,) = graph.query(PREFIXES + f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}")
    return int(row.n)


def test_at_least_ten_treatments(built_graph: Graph):
    assert count(built_graph, "?x a mesokg:Treatment") >= 10


def test_at_least_25_substances_each_with_a_role(built_graph: Graph):
    assert count(built_graph, "?x a/rdfs:subClassOf+ mesokg:Substance") >= 25
    roleless = count(
        built_graph,
        """?x a owl:NamedIndividual . ?x a ?c . ?c rdfs:subClassOf* mesokg:Substance .
           FILTER NOT EXISTS { ?x a ?role . ?role rdfs:subClassOf+ mesokg:Substance }""",
    )
    assert roleless == 0


def test_every_named_role_has_a_member(built_graph: Graph):
    roles = [
        "Vitamin",
        "Mineral",
        "AminoAcid",
        "LipolyticAgent",
        "DepigmentingAgent",
        "LocalAnaesthetic",
        "AntiInflammatoryAgent",
        "HairGrowthAgent",
        "Anticoagulant",
    ]
    for role in roles:
        assert count(built_graph, f"?x a/rdfs:subClassOf* mesokg:{role}") >= 1, role


def test_at_least_35_conditions_in_a_hierarchy(built_graph: Graph):
    kinds = " ".join(f"mesokg:{k}" for k in KINDS)
    conditions = f"?x rdfs:subClassOf+ mesokg:Condition . FILTER(?x NOT IN ({kinds.replace(' ', ', ')}))"
    assert count(built_graph, conditions) >= 35
    # a real hierarchy: many conditions sit below another condition, not only below a kind
    nested = f"{conditions} ?x rdfs:subClassOf ?parent . ?parent rdfs:subClassOf+ mesokg:Condition . " + (
        f"FILTER(?parent NOT IN ({kinds.replace(' ', ', ')}))"
    )
    assert count(built_graph, nested) >= 15
    # indications, contraindicated disorders, states and medication classes are all there
    for kind in KINDS:
        assert count(built_graph, f"?x rdfs:subClassOf+ mesokg:{kind}") >= 1, kind


def test_at_least_12_adverse_effects(built_graph: Graph):
    assert count(built_graph, "?a a mesokg:AdverseEffectAssertion ; mesokg:effect ?x") >= 12


def test_at_least_30_curated_contraindications(built_graph: Graph):
    curated = "?x a mesokg:Contraindication . FILTER NOT EXISTS { ?x mesokg:inferred true }"
    assert count(built_graph, curated) >= 30
    assert count(built_graph, curated + " ?x mesokg:strength mesokg:absolute") >= 1
    assert count(built_graph, curated + " ?x mesokg:strength mesokg:relative") >= 1


def test_medication_class_covers_its_members(built_graph: Graph):
    rows = built_graph.query(
        PREFIXES + "SELECT ?m WHERE { mesokg:anticoagulant-therapy mesokg:therapyWith ?cls . ?m a ?cls }"
    )
    assert URIRef(M + "warfarin") in {r.m for r in rows}


def test_treatment_inherits_ingredient_contraindication(built_graph: Graph):
    t = URIRef(M + "dutasteride-hair-mesotherapy")
    assert (t, URIRef(M + "contraindicatedIn"), URIRef(M + "five-alpha-reductase-inhibitor-hypersensitivity")) in (
        built_graph
    )
    # the inherited link is backed by an inferred assertion node that says where it came from
    rows = list(
        built_graph.query(
            PREFIXES
            + """SELECT ?a ?origin WHERE { ?a mesokg:subject ?t ; mesokg:inferred true ; mesokg:via mesokg:dutasteride ;
                 mesokg:condition mesokg:five-alpha-reductase-inhibitor-hypersensitivity ;
                 <http://www.w3.org/ns/prov#wasDerivedFrom> ?origin }""",
            initBindings={"t": t},
        )
    )
    assert [r.origin for r in rows] == [URIRef(M + "ci-dutasteride-five-alpha-reductase-inhibitor-hypersensitivity")]


def test_injection_lipolysis_does_not_inherit_mesotherapy_contraindications(built_graph: Graph):
    kybella = URIRef(M + "deoxycholic-acid-submental-injection")
    assert (kybella, URIRef(M + "contraindicatedIn"), URIRef(M + "pregnancy")) not in built_graph
    assert (kybella, URIRef(M + "contraindicatedIn"), URIRef(M + "skin-infection-at-injection-site")) in built_graph


def test_every_assertion_source_is_seed_cited_or_marked(built_graph: Graph):
    rows = built_graph.query(
        PREFIXES
        + """SELECT DISTINCT ?s WHERE { ?a dcterms:source ?s .
             FILTER NOT EXISTS { ?s dcterms:bibliographicCitation ?c }
             FILTER(?s != mesokg:source-curated-unreferenced) }"""
    )
    assert list(rows) == []
