"""Reasoning with HermiT (Java) through owlready2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from mesokg.cli import cli
from mesokg.graph import knowledge_graph
from mesokg.reasoner import reason

M = "https://w3id.org/mesokg/"
pytestmark = pytest.mark.slow

PREGNANCY_LINKED = """
PREFIX mesokg: <https://w3id.org/mesokg/>
SELECT DISTINCT ?t WHERE {
  ?t a mesokg:Treatment .
  { ?t mesokg:contraindicatedIn mesokg:pregnancy }
  UNION { ?t mesokg:hasIngredient/mesokg:contraindicatedIn mesokg:pregnancy }
  UNION { ?t mesokg:usesProcedure/mesokg:contraindicatedIn mesokg:pregnancy }
}
"""

CHAINED = ("contraindicatedIn", "hasAdverseEffect")  # the properties the OWL property chains infer


def treatment_links(graph) -> set[tuple[str, str, str]]:
    """(treatment, property, value) for the chained properties of every treatment (read by triple patterns: the
    equivalent SPARQL takes seconds in rdflib on the bundled graph)."""
    return {
        (str(t), local, str(v))
        for t in graph.subjects(RDF.type, URIRef(M + "Treatment"))
        for local in CHAINED
        for v in graph.objects(t, URIRef(M + local))
    }


@pytest.fixture(scope="session")
def bundled_asserted() -> Graph:
    """The bundled sources without materialised inheritance: what HermiT reasons over."""
    return knowledge_graph(materialise=False)


@pytest.fixture(scope="session")
def bundled_reasoned(bundled_asserted: Graph):
    """One HermiT run over the bundled knowledge base, shared by the tests that read its inferences."""
    return reason(bundled_asserted)


def test_fixture_world_is_consistent_and_classified(fixture_world: Path):
    result = reason(knowledge_graph(fixture_world, materialise=False))
    assert result.consistent and result.ok
    assert result.unsatisfiable == []
    assert M + "LipolyticTreatment" in result.inferred_types[M + "fx-lipo-treatment"]
    assert M + "AnaestheticContainingTreatment" in result.inferred_types[M + "fx-lipo-treatment"]
    assert M + "NutritiveTreatment" in result.inferred_types[M + "fx-vitamin-treatment"]
    assert M + "LipolyticTreatment" not in result.inferred_types.get(M + "fx-vitamin-treatment", [])


def test_bundled_ontology_is_consistent_and_defined_classes_get_members(bundled_asserted: Graph, bundled_reasoned):
    asserted, result = bundled_asserted, bundled_reasoned
    assert result.consistent, result.message
    assert result.unsatisfiable == []
    members = {
        cls: {i for i, classes in result.inferred_types.items() if cls in classes}
        for cls in (
            M + "LipolyticTreatment",
            M + "DepigmentingTreatment",
            M + "HairGrowthTreatment",
            M + "PregnancyContraindicatedTreatment",
        )
    }
    assert M + "phosphatidylcholine-deoxycholate-lipolysis" in members[M + "LipolyticTreatment"]
    assert M + "tranexamic-acid-microinjection" in members[M + "DepigmentingTreatment"]
    assert M + "dutasteride-hair-mesotherapy" in members[M + "HairGrowthTreatment"]
    # HermiT's members are exactly the treatments the asserted graph links to pregnancy, directly, through an
    # ingredient or through the procedure
    linked = {str(t) for (t,) in asserted.query(PREGNANCY_LINKED)}
    assert linked
    assert members[M + "PregnancyContraindicatedTreatment"] == linked


def test_owl_property_chains_agree_with_the_sparql_rules(bundled_reasoned, built_graph: Graph):
    """HermiT's inferences from the property chains equal the build's materialised inheritance."""
    result = bundled_reasoned
    materialised = treatment_links(built_graph)
    treatments = {t for t, _, _ in materialised}
    inferred = {triple for triple in result.property_values if triple[0] in treatments}
    assert materialised, "nothing materialised"
    assert inferred == materialised


def test_inconsistent_fixture_is_detected(inconsistent_world: Path):
    source = inconsistent_world
    result = reason(knowledge_graph(source, materialise=False))
    assert not result.consistent
    cli_result = CliRunner().invoke(cli, ["reason", "--source", str(source)])
    assert cli_result.exit_code == 1
    assert "INCONSISTENT" in cli_result.output


def test_reason_command_on_consistent_world(fixture_world: Path):
    result = CliRunner().invoke(cli, ["reason", "--source", str(fixture_world)])
    assert result.exit_code == 0, result.output
    assert "consistency: consistent" in result.output
    assert "mesokg:LipolyticTreatment: mesokg:fx-lipo-treatment" in result.output
