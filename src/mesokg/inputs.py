"""Reading patient data: RDF files in any common syntax, several files or directories at once.

Every bad file becomes an InputError naming the file (and line where the parser gives one); the good
files are still read, so that one bad file does not hide the results of the others. FHIR bundles will
slot in here as one more reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from mesokg.errors import InputError, located
from mesokg.graph import parse_rdf
from mesokg.prefixes import compact

SUFFIX_FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".n3": "n3",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}
MESOKG = "https://w3id.org/mesokg/"


@dataclass
class Inputs:
    graph: Graph
    files: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def expand_paths(paths: list[Path] | tuple[Path, ...]) -> tuple[list[Path], list[InputError]]:
    """Files as given, and the RDF files (by extension) inside directories, sorted."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS)
            if not found:
                errors.append(
                    InputError(located(path, "no RDF files (.ttl, .nt, .jsonld, .rdf ...) in this directory"))
                )
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(InputError(located(path, "file not found")))
    return files, errors


def detect_format(path: Path, head: bytes) -> str:
    """The RDF syntax from the extension, or from the first bytes when the extension says nothing."""
    if path.suffix.lower() in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[path.suffix.lower()]
    start = head.lstrip()[:200]
    if start.startswith((b"{", b"[")):
        return "json-ld"
    if start.startswith(b"<?xml") or b"<rdf:RDF" in start:
        return "xml"
    return "turtle"


def read_inputs(paths: list[Path] | tuple[Path, ...], graph: Graph | None = None) -> Inputs:
    """Parse every input into one graph (added to `graph` if given); collect an error per bad file."""
    inputs = Inputs(graph if graph is not None else Graph())
    files, inputs.errors = expand_paths(paths)
    for path in files:
        try:
            head = path.open("rb").read(512)
        except OSError as error:
            inputs.errors.append(InputError(located(path, f"cannot read: {error.strerror or error}")))
            continue
        single = Graph()
        try:
            parse_rdf(single, path, detect_format(path, head))
        except InputError as error:
            inputs.errors.append(error)
            continue
        if len(single) == 0:
            inputs.errors.append(InputError(located(path, "no RDF statements in this file")))
            continue
        for triple in single:
            inputs.graph.add(triple)
        inputs.files.append(path)
    return inputs


def type_coded_conditions(graph: Graph) -> int:
    """Give each untyped condition that carries a clinical code (mesokg:code) the class its code resolves to.

    Codes resolve through their code system's hierarchy (ICD10CM:E11.65 -> type 2 diabetes mellitus); a
    code that resolves to nothing is left alone, and the shapes report the condition as unknown.
    """
    from mesokg.resolve import ResolutionError, resolve

    code_property = URIRef(MESOKG + "code")
    condition = URIRef(MESOKG + "Condition")
    typed = 0
    for node, code in list(graph.subject_objects(code_property)):
        if any(
            (t, RDFS.subClassOf, None) in graph and _below(graph, t, condition) for t in graph.objects(node, RDF.type)
        ):
            continue
        try:
            concept = resolve(graph, compact(str(code)), "condition")
        except ResolutionError:
            continue
        graph.add((node, RDF.type, concept))
        typed += 1
    return typed


def _below(graph: Graph, cls: URIRef, top: URIRef) -> bool:
    return top in set(graph.transitive_objects(cls, RDFS.subClassOf)) and cls != top
