"""The knowledge base: roles, hierarchy, provenance, inheritance (no counts of curated content)."""

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


def test_every_substance_has_a_role(built_graph: Graph):
    roleless = count(
        built_graph,
        """?x a owl:NamedIndividual . ?x a ?c . ?c rdfs:subClassOf* mesokg:Substance .
           FILTER NOT EXISTS { ?x a ?role . ?role rdfs:subClassOf+ mesokg:Substance }""",
    )
    assert roleless == 0


def test_every_kind_of_condition_is_used(built_graph: Graph):
    """Indications, contraindicated disorders, states, hypersensitivities, medication therapies and age groups
    each have classes below them, so the rule's branches all have something to reach."""
    for kind in [*KINDS, "AgeGroup"]:
        assert count(built_graph, f"?x rdfs:subClassOf+ mesokg:{kind}") >= 1, kind


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
    """The approved lipolysis product answers to its own procedure and label, not to the mesotherapy seed text:
    it inherits pregnancy through injection lipolysis and bleeding cautions through deoxycholic acid, and none of
    the seed's statements on mesotherapy (diabetes)."""
    kybella = URIRef(M + "deoxycholic-acid-submental-injection")
    contraindicated = URIRef(M + "contraindicatedIn")
    assert (kybella, contraindicated, URIRef(M + "diabetes-mellitus")) not in built_graph
    origins = {
        str(row.via)
        for row in built_graph.query(
            PREFIXES + "SELECT ?via WHERE { ?a mesokg:subject ?t ; mesokg:condition ?c ; mesokg:via ?via }",
            initBindings={"t": kybella, "c": URIRef(M + "pregnancy")},
        )
    }
    assert origins == {M + "injection-lipolysis"}
    assert (kybella, contraindicated, URIRef(M + "bleeding-disorder")) in built_graph


def test_every_assertion_source_is_seed_cited_or_marked(built_graph: Graph):
    rows = built_graph.query(
        PREFIXES
        + """SELECT DISTINCT ?s WHERE { ?a dcterms:source ?s .
             FILTER NOT EXISTS { ?s dcterms:bibliographicCitation ?c }
             FILTER(?s != mesokg:source-curated-unreferenced) }"""
    )
    assert list(rows) == []
