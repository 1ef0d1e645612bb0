"""Generate src/mesokg/namespace.py, the closed namespace of the terms declared in ontology/mesokg.ttl and
of the SHACL vocabulary that ontology/shapes/*.shacl.ttl declares (constraint components, their validators
and parameters).

Run `python -m mesokg._gen_namespace` after editing the TBox; a test fails while the file is stale.
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import OWL, RDF, SH

from mesokg.prefixes import prefix_map
from mesokg.resources import ontology_dir

BASE = prefix_map()["mesokg"]  # the base IRI, from the one prefix map
TARGET = Path(__file__).with_name("namespace.py")
DECLARATIONS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual)
SHAPES_DECLARATIONS = (SH.ConstraintComponent, SH.SPARQLSelectValidator, SH.SPARQLAskValidator)


def declared_terms(tbox: Path | None = None, shapes: list[Path] | None = None) -> list[str]:
    graph = Graph().parse(tbox or ontology_dir() / "mesokg.ttl", format="turtle")
    found = {s for kind in DECLARATIONS for s in graph.subjects(RDF.type, kind)}
    shapes_graph = Graph()
    for path in shapes if shapes is not None else sorted((ontology_dir() / "shapes").glob("*.shacl.ttl")):
        shapes_graph.parse(path, format="turtle")
    found |= {s for kind in SHAPES_DECLARATIONS for s in shapes_graph.subjects(RDF.type, kind)}
    found |= {
        p for parameter in shapes_graph.objects(None, SH.parameter) for p in shapes_graph.objects(parameter, SH.path)
    }
    terms = {str(s)[len(BASE) :] for s in found if str(s).startswith(BASE) and "/" not in str(s)[len(BASE) :]}
    return sorted(terms)


def render(terms: list[str]) -> str:
    plain = [t for t in terms if t.isidentifier() and not keyword.iskeyword(t)]
    extras = [t for t in terms if t not in plain]
    lines = [
        '"""The mesokg vocabulary as a closed rdflib namespace.',
        "",
        "Generated from ontology/mesokg.ttl and ontology/shapes by `python -m mesokg._gen_namespace`: do not edit.",
        '"""',
        "",
        "from rdflib.namespace import DefinedNamespace, Namespace",
        "from rdflib.term import URIRef",
        "",
        f'BASE = "{BASE}"  # the base IRI of every mesokg term and concept',
        "",
        "",
        "class MESOKG(DefinedNamespace):",
        "    _fail = True",
        "    _NS = Namespace(BASE)",
        "",
    ]
    lines += [f"    {t}: URIRef" for t in plain]
    lines += ["", "    _extras = ["]
    lines += [f'        "{t}",' for t in extras]
    lines += ["    ]", ""]
    return "\n".join(lines)


def main() -> int:
    TARGET.write_text(render(declared_terms()), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
