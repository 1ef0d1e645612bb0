"""Reading patient data: RDF files in any common syntax, several files or directories at once.

Every bad file becomes an InputError naming the file (and line where the parser gives one); the good
files are still read, so that one bad file does not hide the results of the others. A JSON file that is
an HL7 FHIR R4 Bundle is read by mesokg.fhir into the same patient model; any other JSON is JSON-LD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from mesokg.coding import resolve_record_codes
from mesokg.errors import InputError, located
from mesokg.fhir import bundle_to_graph, looks_like_fhir
from mesokg.namespace import MESOKG
from mesokg.prefixes import bind_prefixes
from mesokg.rdfio import detect_format, expand_paths, parse_rdf


@dataclass
class Inputs:
    graph: Graph
    files: list[Path] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


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
            if looks_like_fhir(head):
                treatments = set(inputs.graph.subjects(RDF.type, MESOKG.Treatment)) or None
                single = bundle_to_graph(path, treatments)
            else:
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


def import_bundle(path: Path, kb: Graph) -> Graph:
    """The bundle's patient records with their codes resolved against `kb` (conditions typed, medications
    and allergens named), without the knowledge base itself."""
    records = bundle_to_graph(path, set(kb.subjects(RDF.type, MESOKG.Treatment)) or None)
    merged = Graph()
    merged += kb
    for triple in records:
        merged.add(triple)
    resolve_record_codes(merged)
    out = bind_prefixes(Graph())
    for triple in merged:
        if triple not in kb:
            out.add(triple)
    return out
