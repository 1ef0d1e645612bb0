"""Loading the hand-edited sources, applying the build rules, writing the merged graph, counting it."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from mesokg import cache, mappings, rdfio
from mesokg.errors import InputError, located
from mesokg.mappings import load_mappings
from mesokg.prefixes import bind_prefixes
from mesokg.rdfio import OxigraphView, canonical_graph, ox_quads, parse_turtle, triple_to_rdflib
from mesokg.resources import ontology_dir, queries_dir
from mesokg.version import __version__

TBOX = "mesokg.ttl"
KB_DIR = "kb"
# rules whose file name starts with one of these run only when materialising inheritance
INHERITANCE_RULES = ("2",)


@dataclass(frozen=True)
class OutputFormat:
    suffix: str
    rdflib_format: str


OUTPUT_FORMATS = (
    OutputFormat(".ttl", "turtle"),
    OutputFormat(".owl", "xml"),
    OutputFormat(".jsonld", "json-ld"),
    OutputFormat(".nt", "nt"),
)


def source_files(source_dir: Path | None = None) -> list[Path]:
    """The TBox and the knowledge-base modules of a source directory, in load order."""
    root = Path(source_dir) if source_dir is not None else ontology_dir()
    if not root.is_dir():
        raise InputError(located(root, "source directory not found"))
    tbox = root / TBOX
    if not tbox.is_file():
        raise InputError(located(tbox, "ontology module not found"))
    modules = sorted((root / KB_DIR).glob("*.ttl"))
    if not modules:
        raise InputError(located(root / KB_DIR, "no knowledge-base modules (*.ttl) found"))
    return [tbox, *modules]


MAPPINGS_DIR = "mappings"


def load_sources(source_dir: Path | None = None) -> Graph:
    """The TBox, every knowledge-base module and every SSSOM mapping set merged into one graph."""
    graph = bind_prefixes(Graph())
    files = source_files(source_dir)
    for path in files:
        parse_turtle(graph, path)
    return load_mappings(graph, files[0].parent / MAPPINGS_DIR)


def source_fingerprint(source_dir: Path | None = None, materialise: bool = True) -> str:
    """A digest of everything a build reads (sources, mappings, rules, the mesokg version): equal digests,
    equal graphs. Lets a persistent store skip reloading a knowledge base it already holds."""
    files = source_files(source_dir)
    digest = hashlib.sha256(f"mesokg {__version__} materialise={materialise}\n".encode())
    for path in [*files, *sorted((files[0].parent / MAPPINGS_DIR).glob("*.sssom.tsv")), *rule_files()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def rule_files() -> list[Path]:
    return sorted((queries_dir() / "rules").glob("*.rq"))


def apply_rules(graph: Graph, materialise: bool = True) -> Graph:
    """Apply the CONSTRUCT rules of queries/rules in file-name order, adding their triples to `graph`.

    The rules run in an in-memory pyoxigraph store holding a copy of `graph` (blank nodes keep their
    identifiers), each rule seeing what the earlier ones derived: the same triples as rdflib's engine gives,
    about seven times sooner (benchmarks/core.py).
    """
    for triple in _derive(graph, materialise)[1]:
        graph.add(triple_to_rdflib(triple))
    return graph


def _derive(graph: Graph, materialise: bool) -> tuple[ox.Store, list[ox.Triple]]:
    """A store holding `graph` and what the rules derive from it, and the derived triples."""
    store = ox.Store()
    store.extend(ox_quads(graph))
    derived_all: list[ox.Triple] = []
    for rule in rule_files():
        if rule.name.startswith(INHERITANCE_RULES) and not materialise:
            continue
        derived = list(store.query(rule.read_text(encoding="utf-8")))
        store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in derived)
        derived_all += derived
    return store, derived_all


class FrozenGraph(Graph):
    """A graph that refuses changes once built: the shared knowledge graph (see knowledge_graph)."""

    _frozen = False
    _ntriples: bytes | None = None

    @classmethod
    def over(cls, store: ox.Store, ntriples: bytes) -> FrozenGraph:
        """The default graph of a pyoxigraph store as a read-only rdflib graph (rdfio.OxigraphView), with the
        N-Triples the store was filled from."""
        # its own identifier (rdflib hashes and compares graphs by it), though the view reads the default graph
        graph = cls(store=OxigraphView(store))
        bind_prefixes(graph)
        graph._ntriples = ntriples
        return graph.freeze()

    def freeze(self) -> FrozenGraph:
        self._frozen = True
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def ntriples(self) -> bytes:
        """The graph as N-Triples (UTF-8), written once when frozen: what every new store loads."""
        data = self._ntriples
        if data is None:
            data = self.serialize(format="nt", encoding="utf-8")
            if self._frozen:
                self._ntriples = data
        return data

    def _refuse(self) -> None:
        if self._frozen:
            raise TypeError("the shared knowledge graph is read-only: layer data over it, or use build_graph()")

    def add(self, triple):
        self._refuse()
        return super().add(triple)

    def addN(self, quads):  # noqa: N802 - rdflib's name
        self._refuse()
        return super().addN(quads)

    def remove(self, triple):
        self._refuse()
        return super().remove(triple)

    def parse(self, *args, **kwargs):
        self._refuse()
        return super().parse(*args, **kwargs)


_BUILT: OrderedDict[str, FrozenGraph] = OrderedDict()
BUILT_KEPT = 4  # knowledge graphs kept in memory (the bundled one and a few fixture worlds)


def knowledge_graph(source_dir: Path | None = None, materialise: bool = True) -> Graph:
    """The built graph of a source directory, shared: built once per source fingerprint (equal sources,
    equal graph) and read-only, so that data is layered over it, never written into it. The build is cached
    on disk under its fingerprint (mesokg.cache), so a new process reads it instead of building it again."""
    key = source_fingerprint(source_dir, materialise)
    graph = _BUILT.get(key)
    if graph is None:
        graph = _BUILT[key] = _cached_build(key, source_dir, materialise)
        while len(_BUILT) > BUILT_KEPT:
            _BUILT.popitem(last=False)
    else:
        _BUILT.move_to_end(key)
    return graph


def _cached_build(key: str, source_dir: Path | None, materialise: bool) -> FrozenGraph:
    """The knowledge graph from the on-disk cache, else built (and put in the cache). Either way it is a
    pyoxigraph store holding the cached N-Triples (blank nodes keep the labels written there), viewed as rdflib."""
    key = f"{key}-{cache.code_digest(__file__, mappings.__file__, rdfio.__file__)}"
    data = cache.read("kb", key)
    if data is not None:
        store = ox.Store()
        try:
            store.extend(ox.parse(data, ox.RdfFormat.N_TRIPLES))
            return FrozenGraph.over(store, data)
        except (SyntaxError, ValueError):
            pass  # built again below
    store, _ = _derive(load_sources(source_dir), materialise)
    buffer = io.BytesIO()
    store.dump(buffer, ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    data = buffer.getvalue()
    cache.write("kb", key, data)  # keyed by the sources and the code that built them
    return FrozenGraph.over(store, data)


def ntriples(graph: Graph) -> bytes:
    """A graph as N-Triples (UTF-8); the shared knowledge graph's are written once."""
    if isinstance(graph, FrozenGraph):
        return graph.ntriples()
    return graph.serialize(format="nt", encoding="utf-8")


def build_graph(source_dir: Path | None = None, materialise: bool = True) -> Graph:
    """The merged graph: sources, direct properties, and (if `materialise`) inherited assertions. A private,
    modifiable copy of knowledge_graph()."""
    copy = bind_prefixes(Graph())
    copy += knowledge_graph(source_dir, materialise)
    return copy


def write_outputs(graph: Graph, out_dir: Path, basename: str = "mesokg") -> list[Path]:
    """Write the graph as Turtle, RDF/XML, JSON-LD and N-Triples into `out_dir`, all or nothing.

    Everything is serialised into a temporary directory beside the outputs first and moved into place
    only when all formats succeeded; nothing else in `out_dir` is touched.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(located(out_dir, "cannot write output: not a directory"))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".mesokg-build-", dir=out_dir))
    except OSError as error:
        raise InputError(located(out_dir, f"cannot write output: {error.strerror or error}")) from None
    written = []
    graph = canonical_graph(graph)  # blank nodes labelled by content: the same bytes on every build
    try:
        staged = []
        for fmt in OUTPUT_FORMATS:
            path = staging / f"{basename}{fmt.suffix}"
            graph.serialize(destination=path, format=fmt.rdflib_format, encoding="utf-8")
            staged.append(path)
        for path in staged:
            target = out_dir / path.name
            os.replace(path, target)
            written.append(target)
    except OSError as error:
        raise InputError(located(out_dir, f"cannot write output: {error.strerror or error}")) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all: into a temporary file beside it, then moved into place."""
    path = Path(path)
    if path.is_dir():
        raise InputError(located(path, "cannot write output: is a directory"))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent if str(path.parent) else ".")
    except OSError as error:
        raise InputError(located(path, f"cannot write output: {error.strerror or error}")) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise InputError(located(path, f"cannot write output: {error.strerror or error}")) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


STATS_QUERY = """
PREFIX mesokg: <https://w3id.org/mesokg/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?kind (COUNT(DISTINCT ?x) AS ?n) WHERE {
  {
    VALUES (?kind ?class) {
      ("treatments" mesokg:Treatment) ("procedures" mesokg:Procedure) ("sources" mesokg:Source)
      ("qualified ingredients" mesokg:QualifiedIngredient) ("session schedules" mesokg:SessionSchedule)
    }
    ?x a ?class .
  } UNION {
    BIND("substances" AS ?kind) ?x a/rdfs:subClassOf* mesokg:Substance .
  } UNION {
    BIND("conditions" AS ?kind)
    ?x rdfs:subClassOf+ mesokg:Condition .
    FILTER(?x NOT IN (mesokg:Disorder, mesokg:ClinicalFinding, mesokg:PhysiologicalState,
                      mesokg:Hypersensitivity, mesokg:MedicationTherapy, mesokg:AgeGroup))
  } UNION {
    BIND("adverse effects" AS ?kind) ?a a mesokg:AdverseEffectAssertion ; mesokg:effect ?x .
  } UNION {
    VALUES (?class ?label) {
      (mesokg:Indication "indications") (mesokg:Contraindication "contraindications")
      (mesokg:AdverseEffectAssertion "adverse-effect assertions")
      (mesokg:ContraindicationException "contraindication exceptions")
      (mesokg:RegulatoryStatusAssertion "regulatory status assertions")
    }
    ?x a ?class .
    OPTIONAL { ?x mesokg:inferred ?flag }
    BIND(CONCAT(?label, IF(COALESCE(?flag, false), " (inferred)", " (curated)")) AS ?kind)
  } UNION {
    # every curated statement of any kind, and those of them that rest on no reference
    ?x a/rdfs:subClassOf* mesokg:ClinicalUseAssertion .
    FILTER NOT EXISTS { ?x mesokg:inferred true }
    { BIND("curated assertions" AS ?kind) }
    UNION { ?x dcterms:source mesokg:source-curated-unreferenced . BIND("curated assertions (unreferenced)" AS ?kind) }
  }
} GROUP BY ?kind
"""

STATS_ORDER = (
    "treatments",
    "procedures",
    "substances",
    "conditions",
    "adverse effects",
    "indications (curated)",
    "contraindications (curated)",
    "contraindications (inferred)",
    "adverse-effect assertions (curated)",
    "adverse-effect assertions (inferred)",
    "contraindication exceptions (curated)",
    "regulatory status assertions (curated)",
    "curated assertions",
    "curated assertions (unreferenced)",
    "qualified ingredients",
    "session schedules",
    "sources",
)


def stats(graph: Graph) -> dict[str, int]:
    """Counts per kind of thing, in a fixed order (kinds with none are 0), plus the triple count."""
    found = {str(row.kind): int(row.n) for row in graph.query(STATS_QUERY)}
    counts = {kind: found.pop(kind, 0) for kind in STATS_ORDER}
    counts.update(sorted(found.items()))
    counts["triples"] = len(graph)
    return counts
