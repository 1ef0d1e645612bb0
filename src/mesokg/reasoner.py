"""OWL 2 reasoning with HermiT, through owlready2: consistency, unsatisfiable classes, classification."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from mesokg.errors import MesokgError
from mesokg.namespace import BASE
from mesokg.prefixes import compact

CHAIN_PROPERTIES = ("contraindicatedIn", "hasAdverseEffect")


@dataclass
class ReasonResult:
    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    # individual IRI -> classes the reasoner put it in that were not asserted
    inferred_types: dict[str, list[str]] = field(default_factory=dict)
    # (treatment IRI, property local name, value IRI) for the property-chain properties
    property_values: set[tuple[str, str, str]] = field(default_factory=set)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict:
        return {
            "consistent": self.consistent,
            "unsatisfiable": sorted(self.unsatisfiable),
            "inferredTypes": {i: sorted(c) for i, c in sorted(self.inferred_types.items())},
            "propertyValues": [list(v) for v in sorted(self.property_values)],
            "message": self.message,
        }

    def text(self) -> str:
        lines = [f"consistency: {'consistent' if self.consistent else 'INCONSISTENT'}"]
        if self.consistent:
            lines.append(f"unsatisfiable classes: {len(self.unsatisfiable)}")
            lines += [f"  {compact(iri)}" for iri in self.unsatisfiable]
            members: dict[str, list[str]] = {}
            for individual, classes in self.inferred_types.items():
                for cls in classes:
                    members.setdefault(cls, []).append(individual)
            lines.append("inferred classification:")
            lines += [f"  {compact(c)}: {', '.join(sorted(compact(i) for i in members[c]))}" for c in sorted(members)]
            lines.append(f"inferred property values: {len(self.property_values)}")
        return "\n".join(lines) + "\n"


def _asserted_types(graph: Graph) -> dict[str, set[str]]:
    types: dict[str, set[str]] = {}
    for s, o in graph.subject_objects(RDF.type):
        types.setdefault(str(s), set()).add(str(o))
    return types


def reason(graph: Graph) -> ReasonResult:
    """Run HermiT on `graph` (give it the build without materialised inheritance, so that it derives it)."""
    import owlready2

    if shutil.which("java") is None and not Path(owlready2.JAVA_EXE).exists():
        raise MesokgError("cannot run the reasoner: no Java runtime found (install Java 17 or later)")
    workdir = Path(tempfile.mkdtemp(prefix="mesokg-reason-"))
    try:
        owl_file = workdir / "mesokg.owl"
        graph.serialize(destination=owl_file, format="xml", encoding="utf-8")
        world = owlready2.World()
        onto = world.get_ontology(owl_file.as_uri()).load()
        chatter = io.StringIO()
        try:
            with onto, contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
                owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return ReasonResult(consistent=False, message="the ontology is inconsistent")
        except (owlready2.OwlReadyJavaError, OSError) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            cause = next((line for line in lines if "Exception" in line), lines[-1] if lines else type(error).__name__)
            raise MesokgError(f"the reasoner failed: {cause}") from None

        unsatisfiable = sorted(c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing)
        asserted = _asserted_types(graph)
        inferred_types: dict[str, list[str]] = {}
        values: set[tuple[str, str, str]] = set()
        for individual in world.individuals():
            iri = individual.iri
            if not iri.startswith(BASE):
                continue
            classes = {c.iri for c in individual.is_a if hasattr(c, "iri")}
            new = sorted(classes - asserted.get(iri, set()))
            if new:
                inferred_types[iri] = new
            for name in CHAIN_PROPERTIES:
                for value in getattr(individual, name, []) or []:
                    if hasattr(value, "iri"):
                        values.add((iri, name, value.iri))
        return ReasonResult(
            consistent=True,
            unsatisfiable=unsatisfiable,
            inferred_types=inferred_types,
            property_values=values,
            message="the ontology is consistent" if not unsatisfiable else "the ontology has unsatisfiable classes",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
