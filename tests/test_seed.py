"""Every statement of the seed text is represented in the built graph.

The seed text is split into statements (sentences and list items). Each statement must have an entry
in EXPECTED below, and every expectation of every entry must hold on the built graph: an assertion
node of the right kind, subject, condition or effect and qualifiers, sourced from the seed and quoting
the statement verbatim in mesokg:sourceExcerpt.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from mesokg.resources import ontology_dir

M = "https://w3id.org/mesokg/"
SEED_FILE = ontology_dir() / "sources" / "seed-000.txt"
REPO_SEED = Path(__file__).resolve().parents[1] / "ontology" / "sources" / "seed-000.txt"
# SHA-256 of the project's shared seed 000_54d8019d99e97fe0.txt, which the shipped seed must reproduce byte for byte
SHARED_SEED_SHA256 = "6a68c34a4acfdb2c7c9a4a562e0a1299cca70cf6445bc18d4e70ec45264bfd89"
PREFIXES = """
PREFIX mesokg: <https://w3id.org/mesokg/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def m(local: str) -> URIRef:
    return URIRef(M + local)


def seed_statements(text: str) -> list[str]:
    """Paragraphs split into sentences; a list item ("1. Cellulite ...") is kept whole."""
    statements = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = " ".join(paragraph.split())
        statements.extend(s for s in re.split(r"(?<![0-9]\.)(?<=\.)\s+(?=[A-Z0-9])", paragraph) if s)
    return statements


# Expectations, by kind:
#   ("indication", subject, condition, efficacy status)
#   ("contraindication", subject, condition, strength)
#   ("adverse", subject, effect, frequency band, attribution)
#   ("excerpt", entity)                 the entity quotes the statement and is sourced from the seed
#   ("note", entity, phrase)            the entity has a skos:note containing the phrase
#   ("members", class)                  the substance class has members that are treatment ingredients
#   ("inherited", condition)            every mesotherapy treatment is contraindicated in the condition
#   ("depigmenting-indicated",)         a treatment with a depigmenting ingredient is indicated for
#                                       hyperpigmentation or one of its subclasses
# Keys are the first words of the statement.
EXPECTED: dict[str, list[tuple]] = {
    "Mesotherapy is a minimally invasive procedure": [
        ("excerpt", "mesotherapy"),
        ("members", "Vitamin"),
        ("members", "Mineral"),
        ("members", "AminoAcid"),
    ],
    "It’s often used for cosmetic purposes": [
        ("indication", "mesotherapy", "cellulite", "efficacy-debated"),
        ("indication", "mesotherapy", "overweight", "efficacy-debated"),
        ("indication", "mesotherapy", "skin-ageing", "efficacy-debated"),
    ],
    "Additionally, mesotherapy can also be used for pain management": [
        ("indication", "mesotherapy", "pain", "efficacy-not-assessed"),
        ("excerpt", "mesotherapy"),
        ("note", "mesotherapy", "certain medical conditions"),
    ],
    "Mesotherapy can be used for various skin conditions": [
        ("indication", "mesotherapy", "cellulite", "efficacy-debated"),
        ("indication", "mesotherapy", "skin-ageing", "efficacy-debated"),
        ("indication", "mesotherapy", "scar", "efficacy-debated"),
        ("indication", "mesotherapy", "hyperpigmentation", "efficacy-debated"),
        ("indication", "mesotherapy", "alopecia", "efficacy-debated"),
    ],
    "1. Cellulite Reduction": [("indication", "mesotherapy", "cellulite", "efficacy-debated")],
    "2. Skin Rejuvenation": [
        ("indication", "mesotherapy", "skin-ageing", "efficacy-debated"),
        ("indication", "mesotherapy", "fine-lines-and-wrinkles", "efficacy-debated"),
    ],
    "3. Scar Reduction": [
        ("indication", "mesotherapy", "scar", "efficacy-debated"),
        ("indication", "mesotherapy", "acne-scar", "efficacy-debated"),
    ],
    "4. Hyperpigmentation": [
        ("indication", "mesotherapy", "hyperpigmentation", "efficacy-debated"),
        ("depigmenting-indicated",),
    ],
    "5. Hair Loss": [("indication", "mesotherapy", "alopecia", "efficacy-debated")],
    "It’s important to note that the effectiveness": [
        ("excerpt", "mesotherapy"),
        ("note", "mesotherapy", "can vary"),
        ("note", "mesotherapy", "qualified healthcare professional"),
    ],
    "Mesotherapy may have contraindications and potential risks": [
        ("contraindication", "mesotherapy", "pregnancy", "absolute"),
        ("contraindication", "mesotherapy", "diabetes-mellitus", "relative"),
        ("adverse", "mesotherapy", "bruising", "frequency-reported-common", "procedure-attributed"),
        ("adverse", "mesotherapy", "skin-infection-at-injection-site", "frequency-not-known", "procedure-attributed"),
    ],
    "1. Allergic Reactions": [
        ("adverse", "mesotherapy", "allergic-reaction", "frequency-not-known", "substance-attributed"),
        ("adverse", "mesotherapy", "skin-irritation", "frequency-not-known", "substance-attributed"),
        ("contraindication", "mesotherapy", "ingredient-hypersensitivity", "absolute"),
    ],
    "2. Infection": [
        (
            "adverse",
            "mesotherapy",
            "skin-infection-at-injection-site",
            "frequency-not-known",
            "procedure-attributed",
        ),
    ],
    "3. Bruising and Swelling": [
        ("adverse", "mesotherapy", "bruising", "frequency-reported-common", "procedure-attributed"),
        ("adverse", "mesotherapy", "swelling", "frequency-reported-common", "procedure-attributed"),
        ("adverse", "mesotherapy", "injection-site-pain", "frequency-reported-common", "procedure-attributed"),
    ],
    "4. Scarring": [
        ("adverse", "mesotherapy", "injection-site-scarring", "frequency-reported-rare", "procedure-attributed"),
    ],
    "5. Complications with Medications": [
        ("contraindication", "mesotherapy", "interacting-medication-therapy", "relative"),
        ("adverse", "mesotherapy", "drug-interaction", "frequency-not-known", "substance-attributed"),
    ],
    "6. Pregnancy and Breastfeeding": [
        ("contraindication", "mesotherapy", "pregnancy", "absolute"),
        ("contraindication", "mesotherapy", "lactation", "relative"),
        ("inherited", "pregnancy"),
        ("inherited", "lactation"),
    ],
    "7. Underlying Health Conditions": [
        ("contraindication", "mesotherapy", "diabetes-mellitus", "relative"),
        ("contraindication", "mesotherapy", "autoimmune-disease", "relative"),
        ("contraindication", "mesotherapy", "immunocompromised-state", "relative"),
        ("inherited", "diabetes-mellitus"),
    ],
    "It’s crucial to discuss any potential risks": [
        ("excerpt", "mesotherapy"),
        ("note", "mesotherapy", "discussed with a qualified healthcare provider"),
    ],
}

ASSERTION_QUERY = {
    "indication": PREFIXES
    + """ASK { ?a a mesokg:Indication ; mesokg:subject ?subject ; mesokg:condition ?target ;
            mesokg:efficacyStatus ?q1 ; dcterms:source mesokg:source-seed ; mesokg:sourceExcerpt ?excerpt .
            FILTER NOT EXISTS { ?a mesokg:inferred true } }""",
    "contraindication": PREFIXES
    + """ASK { ?a a mesokg:Contraindication ; mesokg:subject ?subject ; mesokg:condition ?target ;
            mesokg:strength ?q1 ; dcterms:source mesokg:source-seed ; mesokg:sourceExcerpt ?excerpt .
            FILTER NOT EXISTS { ?a mesokg:inferred true } }""",
    "adverse": PREFIXES
    + """ASK { ?a a mesokg:AdverseEffectAssertion ; mesokg:subject ?subject ; mesokg:effect ?target ;
            mesokg:frequency ?q1 ; mesokg:attribution ?q2 ; dcterms:source mesokg:source-seed ;
            mesokg:sourceExcerpt ?excerpt . FILTER NOT EXISTS { ?a mesokg:inferred true } }""",
}


def statement_key(statement: str) -> str:
    matches = [key for key in EXPECTED if statement.startswith(key)]
    assert len(matches) == 1, f"seed statement has {len(matches)} entries in EXPECTED: {statement!r}"
    return matches[0]


SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
STATEMENTS = seed_statements(SEED_TEXT)


def test_shipped_seed_is_the_shared_seed():
    """The seed the build reads is the repository's ontology/sources/seed-000.txt, unchanged from the shared seed."""
    assert SEED_FILE.read_bytes() == REPO_SEED.read_bytes()
    assert hashlib.sha256(SEED_FILE.read_bytes()).hexdigest() == SHARED_SEED_SHA256


def test_seed_splits_into_its_statements():
    # 3 opening sentences, the uses header, 5 uses, 1 caution, the risks header, 7 risks, 1 closing.
    assert len(STATEMENTS) == 19
    assert STATEMENTS[0].startswith("Mesotherapy is a minimally invasive procedure")
    assert STATEMENTS[-1].startswith("It’s crucial to discuss")


def test_every_statement_has_expectations():
    keys = [statement_key(s) for s in STATEMENTS]
    assert sorted(keys) == sorted(EXPECTED), "EXPECTED and the seed statements differ"


def check(graph: Graph, statement: str, expectation: tuple) -> None:
    kind, *args = expectation
    if kind in ASSERTION_QUERY:
        subject, target, *qualifiers = args
        bindings = {"subject": m(subject), "target": m(target), "excerpt": Literal(statement)}
        bindings.update({f"q{i + 1}": m(q) for i, q in enumerate(qualifiers)})
        assert graph.query(ASSERTION_QUERY[kind], initBindings=bindings).askAnswer, (
            f"no seed-sourced {kind} {args} quoting {statement!r}"
        )
    elif kind == "excerpt":
        (entity,) = args
        assert (m(entity), m("sourceExcerpt"), Literal(statement)) in graph
        assert (m(entity), URIRef("http://purl.org/dc/terms/source"), m("source-seed")) in graph
    elif kind == "note":
        entity, phrase = args
        notes = [str(n) for n in graph.objects(m(entity), SKOS.note)]
        assert any(phrase in n for n in notes), f"no skos:note on {entity} containing {phrase!r}"
    elif kind == "members":
        (cls,) = args
        query = PREFIXES + "ASK { ?s a ?cls . ?t a mesokg:Treatment ; mesokg:hasIngredient ?s }"
        assert graph.query(query, initBindings={"cls": m(cls)}).askAnswer, f"no ingredient is a {cls}"
    elif kind == "inherited":
        (condition,) = args
        query = (
            PREFIXES
            + """SELECT ?t WHERE { ?t a mesokg:Treatment ; mesokg:usesProcedure mesokg:mesotherapy .
                 FILTER NOT EXISTS { ?t mesokg:contraindicatedIn ?c } }"""
        )
        missing = [row.t for row in graph.query(query, initBindings={"c": m(condition)})]
        assert not missing, f"mesotherapy treatments not contraindicated in {condition}: {missing}"
        assert any(graph.subjects(RDF.type, m("Treatment")))
    elif kind == "depigmenting-indicated":
        query = (
            PREFIXES
            + """ASK { ?t a mesokg:Treatment ; mesokg:hasIngredient ?s ; mesokg:indicatedFor ?c .
                 ?s a mesokg:DepigmentingAgent . ?c rdfs:subClassOf* mesokg:hyperpigmentation }"""
        )
        assert graph.query(query).askAnswer
    else:  # pragma: no cover - a typo in EXPECTED
        raise AssertionError(f"unknown expectation kind {kind}")


@pytest.mark.parametrize("statement", STATEMENTS, ids=[s[:40] for s in STATEMENTS])
def test_statement_is_in_the_graph(built_graph: Graph, statement: str):
    for expectation in EXPECTED[statement_key(statement)]:
        check(built_graph, statement, expectation)


def test_every_excerpt_quotes_the_seed(built_graph: Graph):
    excerpts = {str(o) for o in built_graph.objects(None, m("sourceExcerpt"))}
    assert excerpts, "no excerpts at all"
    assert excerpts <= set(STATEMENTS), f"excerpts not in the seed: {excerpts - set(STATEMENTS)}"
