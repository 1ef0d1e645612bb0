"""Patient validation with SHACL: the shapes, valid and invalid example pairs, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyshacl
import pytest
from click.testing import CliRunner
from conftest import make_world
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from mesokg import api
from mesokg.cli import cli
from mesokg.resources import ontology_dir
from mesokg.rule import patient_shapes
from mesokg.validation import load_shapes, validate

DATA = Path(__file__).parent / "data"
VALID = sorted((DATA / "valid").glob("*.ttl"))
INVALID = sorted((DATA / "invalid").glob("*.ttl"))


def expected_results(path: Path) -> set[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {tuple(line.removeprefix("# expect: ").split()) for line in lines if line.startswith("# expect: ")}


def test_shapes_pass_meta_shacl():
    conforms, _, text = pyshacl.validate(Graph(), shacl_graph=patient_shapes(), meta_shacl=True, advanced=True)
    assert conforms, text


def test_every_shape_is_named_described_with_severity_and_message():
    shapes = patient_shapes()
    kinds = (SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint)
    named = {s for kind in kinds for s in shapes.subjects(RDF.type, kind) if isinstance(s, URIRef)}
    assert len(named) >= 15
    for shape in named:
        assert (shape, SH.severity, None) in shapes, f"{shape} has no sh:severity"
        assert (shape, SH.message, None) in shapes, f"{shape} has no sh:message"
        if (shape, RDF.type, SH.SPARQLConstraint) not in shapes:
            assert (shape, SH.name, None) in shapes, f"{shape} has no sh:name"
        if (shape, RDF.type, SH.SPARQLConstraint) not in shapes:
            assert (shape, SH.description, None) in shapes, f"{shape} has no sh:description"


@pytest.fixture(scope="module")
def kb(built_graph: Graph) -> Graph:
    return built_graph


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_conforms_with_exit_0(path: Path, kb: Graph):
    outcome = validate([path], kb)
    assert not outcome.errors
    assert not outcome.fails("violation"), [r.message for r in outcome.results]
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_gives_exactly_its_expected_results(path: Path, kb: Graph):
    expected = expected_results(path)
    assert expected, f"{path.name} states no '# expect:' line"
    outcome = validate([path], kb)
    assert {(r.shape, r.component) for r in outcome.results} == expected
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 1


def test_warnings_fail_only_when_asked():
    path = DATA / "valid" / "coded-diabetes-warning-only.ttl"
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0
    assert CliRunner().invoke(cli, ["validate", str(path), "--fail-on", "warning"]).exit_code == 1


def test_a_coded_condition_is_typed_through_the_code_hierarchy(kb: Graph):
    outcome = validate([DATA / "valid" / "coded-diabetes-warning-only.ttl"], kb)
    assert [(r.shape, r.severity) for r in outcome.results] == [("mesokg:PlannedSessionShape-relative", "Warning")]


def test_turtle_output_is_a_validation_report():
    path = DATA / "invalid" / "missing-birth-date.ttl"
    result = CliRunner().invoke(cli, ["validate", str(path), "-f", "turtle"])
    report = Graph().parse(data=result.output, format="turtle")
    (node,) = report.subjects(RDF.type, SH.ValidationReport)
    assert (node, SH.conforms, None) in report
    assert len(list(report.subjects(RDF.type, SH.ValidationResult))) == 1


def test_text_output_groups_by_patient():
    result = CliRunner().invoke(cli, ["validate", str(DATA / "invalid"), "-f", "text"])
    assert result.exit_code == 1
    assert "patient https://example.org/clinic/q" in result.output
    assert "VIOLATION mesokg:PatientShape-birthDate" in result.output


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases = {
        "missing": (tmp_path / "missing.ttl", "file not found"),
        "empty": (tmp_path / "empty.ttl", "empty file"),
        "malformed": (tmp_path / "malformed.ttl", "malformed.ttl:2"),
        "not-utf8": (tmp_path / "latin1.ttl", "not UTF-8"),
        "wrong-format": (tmp_path / "table.ttl", "malformed Turtle"),
        "json-not-rdf": (tmp_path / "data.json", "no RDF statements"),
    }
    cases["empty"][0].write_text("")
    cases["malformed"][0].write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    cases["not-utf8"][0].write_bytes(b'<urn:a> <urn:b> "caf\xe9" .\n')
    cases["wrong-format"][0].write_text("name,birth date\nAnna,1990-01-01\n")
    cases["json-not-rdf"][0].write_text('{"name": "Anna"}')
    return cases


@pytest.mark.parametrize("case", ["missing", "empty", "malformed", "not-utf8", "wrong-format", "json-not-rdf"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str):
    path, fragment = bad_inputs(tmp_path)[case]
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesokg: error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_one_bad_file_does_not_hide_the_others(tmp_path: Path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    good = DATA / "invalid" / "missing-birth-date.ttl"
    result = CliRunner().invoke(cli, ["validate", str(bad), str(good)])
    assert result.exit_code == 2
    assert "mesokg:PatientShape-birthDate" in result.output
    assert "bad.ttl:2" in result.stderr


@pytest.mark.parametrize("fmt", ["nt", "json-ld", "xml"])
def test_other_rdf_syntaxes(tmp_path: Path, fmt: str, kb: Graph):
    source = Graph().parse(DATA / "invalid" / "missing-birth-date.ttl")
    suffix = {"nt": ".nt", "json-ld": ".jsonld", "xml": ".rdf"}[fmt]
    path = tmp_path / f"patient{suffix}"
    source.serialize(path, format=fmt)
    outcome = validate([path], kb)
    assert {(r.shape, r.component) for r in outcome.results} == {
        ("mesokg:PatientShape-birthDate", "sh:MinCountConstraintComponent")
    }


KB_SHAPES = Path(__file__).resolve().parents[1] / "ontology" / "shapes" / "kb.shacl.ttl"


def kb_shapes() -> Graph:
    return Graph().parse(KB_SHAPES, format="turtle")


def test_knowledge_base_conforms_to_its_integrity_shapes_with_the_fast_engine(tmp_path: Path):
    """The whole knowledge graph is validated, not only the data given: the data here is the TBox, which the
    graph already holds. A world with a bad module shows the same call fails."""
    tbox = ontology_dir() / "mesokg.ttl"
    outcome = api.validate([tbox], shapes=[KB_SHAPES], engine="sparql")
    assert outcome.engine == "sparql"
    assert outcome.conforms and not outcome.results, [(r.focus, r.shape) for r in outcome.results]
    bad = make_world(tmp_path / "bad", DATA / "checks" / "contraindication-without-strength-violation.ttl")
    failed = api.validate([bad / "mesokg.ttl"], shapes=[KB_SHAPES], engine="sparql", source=bad)
    assert ("mesokg:bad-ci", "mesokg:ContraindicationShape-strength") in {(r.focus, r.shape) for r in failed.results}


@pytest.mark.slow  # the pySHACL reference over the bundled knowledge base
def test_knowledge_base_conforms_to_its_integrity_shapes(built_graph: Graph):
    conforms, _, text = pyshacl.validate(built_graph, shacl_graph=kb_shapes(), meta_shacl=True, inference="none")
    assert conforms, text


@pytest.mark.parametrize("engine", ["sparql", pytest.param("pyshacl", marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    ("bad", "shape"),
    [
        ("contraindication-without-strength-violation", "ContraindicationShape-strength"),
        ("assertion-without-provenance-violation", "AssertionShape-source"),
        ("treatment-without-ingredient-violation", "TreatmentShape-ingredient"),
        ("treatment-without-procedure-violation", "TreatmentShape-procedure"),
        ("indication-qualifier-violation", "IndicationShape-evidenceLevel"),
        ("adverse-effect-qualifier-violation", "AdverseEffectShape-frequency"),
        ("assertion-subject-violation", "AssertionShape-subject"),
    ],
)
def test_integrity_shapes_fire_on_bad_examples(built_graph: Graph, bad: str, shape: str, engine: str):
    """What a curator runs on a new module: `mesokg validate --shapes ontology/shapes/kb.shacl.ttl FILE`, the
    file layered over the knowledge graph. The fast engine by default; pySHACL, the reference, in the slow run."""
    outcome = api.validate([DATA / "checks" / f"{bad}.ttl"], shapes=[KB_SHAPES], engine=engine)
    assert not outcome.errors
    assert outcome.engine == engine
    assert f"mesokg:{shape}" in {r.shape for r in outcome.results}
    assert outcome.exit_code == 1


def test_integrity_shapes_are_named_with_severity_and_message():
    shapes = kb_shapes()
    for kind in (SH.NodeShape, SH.PropertyShape):
        for shape in shapes.subjects(RDF.type, kind):
            for needed in (SH.name, SH.severity, SH.message):
                assert (shape, needed, None) in shapes, f"{shape} lacks {needed}"


def test_text_output_gives_the_reason_chain_of_clinical_results():
    path = DATA / "invalid" / "lidocaine-allergy-and-anticoagulant.ttl"
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert (
        "because allergy lidocaine: absolute contraindication in mesokg:amide-local-anaesthetic-hypersensitivity"
        in (result.output)
    )
    assert "because medication warfarin: relative contraindication in mesokg:anticoagulant-therapy" in result.output


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("pyshacl", "bad.ttl:2:10: malformed Turtle: objectList expected"),  # rdflib's parser
        ("sparql", "bad.ttl:2:11: malformed Turtle: . is not a valid RDF object"),  # oxigraph's parser
    ],
)
def test_syntax_error_names_line_and_column(tmp_path: Path, engine: str, expected: str):
    path = tmp_path / "bad.ttl"
    path.write_text("@prefix ex: <https://example.org/> .\nex:a ex:b .\n")
    result = CliRunner().invoke(cli, ["validate", "--engine", engine, str(path)])
    assert result.exit_code == 2
    assert expected in result.stderr


# ---- your own shapes: --shapes and --no-kb, as a real command ----------------------------------------------
def mesokg(*arguments: str) -> subprocess.CompletedProcess:
    """The installed command itself, in a process of its own."""
    command = shutil.which("mesokg") or str(Path(sys.executable).with_name("mesokg"))
    return subprocess.run([command, *arguments], capture_output=True, text=True, timeout=120, check=False)


RELATIVE_SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
<#AgeShape> a sh:NodeShape ; sh:targetNode <alice> , <bob> ;
    sh:property [ sh:path <age> ; sh:minCount 1 ; sh:maxInclusive 150 ] .
"""
RELATIVE_DATA = '<alice> <name> "Alice" .\n<bob> <age> 200 .\n'


@pytest.mark.parametrize("engine", ["sparql", "pyshacl"])
def test_own_shapes_without_the_knowledge_base_resolve_relative_iris_against_each_file(tmp_path: Path, engine: str):
    (tmp_path / "shapes.ttl").write_text(RELATIVE_SHAPES, encoding="utf-8")
    (tmp_path / "data.ttl").write_text(RELATIVE_DATA, encoding="utf-8")
    done = mesokg(
        "validate", str(tmp_path / "data.ttl"), "--shapes", str(tmp_path / "shapes.ttl"), "--no-kb",
        "--engine", engine, "-f", "json",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    outcome = json.loads(done.stdout)
    base = tmp_path.resolve().as_uri()
    assert outcome["engine"] == engine
    assert sorted((r["focus"], r["component"], r["value"]) for r in outcome["results"]) == [
        (f"{base}/alice", "sh:MinCountConstraintComponent", None),
        (f"{base}/bob", "sh:MaxInclusiveConstraintComponent", "200"),
    ]
    assert {r["shape"] for r in outcome["results"]} <= {f"{base}/shapes.ttl#AgeShape"} | {
        r["shape"] for r in outcome["results"] if r["shape"].startswith("_:")
    }


def test_own_shapes_that_conform_exit_0(tmp_path: Path):
    (tmp_path / "shapes.ttl").write_text(RELATIVE_SHAPES, encoding="utf-8")
    (tmp_path / "data.ttl").write_text("<alice> <age> 30 .\n<bob> <age> 40 .\n", encoding="utf-8")
    done = mesokg("validate", str(tmp_path / "data.ttl"), "--shapes", str(tmp_path / "shapes.ttl"), "--no-kb")
    assert done.returncode == 0, done.stderr
    assert "conforms" in done.stdout


def test_a_bad_shapes_file_is_one_line_and_exit_2(tmp_path: Path):
    (tmp_path / "shapes.ttl").write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n<#S> sh:targetNode .\n")
    (tmp_path / "data.ttl").write_text(RELATIVE_DATA, encoding="utf-8")
    done = mesokg("validate", str(tmp_path / "data.ttl"), "--shapes", str(tmp_path / "shapes.ttl"), "--no-kb")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mesokg: error: {tmp_path / 'shapes.ttl'}:2:"), done.stderr
    assert "malformed Turtle" in lines[0] and "Traceback" not in done.stderr


def test_shapes_the_fast_engine_refuses_are_exit_2_with_sparql_and_pyshacls_with_auto(tmp_path: Path):
    shapes = (
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<#S> sh:targetNode <alice> ; sh:datatype <http://www.w3.org/2001/XMLSchema#byte> .\n"
    )
    (tmp_path / "shapes.ttl").write_text(shapes, encoding="utf-8")
    (tmp_path / "data.ttl").write_text(RELATIVE_DATA, encoding="utf-8")
    arguments = ("validate", str(tmp_path / "data.ttl"), "--shapes", str(tmp_path / "shapes.ttl"), "--no-kb")
    refused = mesokg(*arguments, "--engine", "sparql")
    assert refused.returncode == 2 and "cannot evaluate these shapes" in refused.stderr
    handed = mesokg(*arguments, "-f", "json")
    assert handed.returncode == 1 and json.loads(handed.stdout)["engine"] == "pyshacl"
    assert "mesokg: note: handed to pySHACL" in handed.stderr


def test_no_kb_with_a_store_is_an_error(tmp_path: Path):
    result = CliRunner().invoke(cli, ["validate", "--no-kb", "--store", str(tmp_path / "store"), str(DATA / "valid")])
    assert result.exit_code == 2 and "--no-kb cannot be used with --store" in result.stderr


def test_own_shapes_with_the_knowledge_base(tmp_path: Path, kb: Graph):
    """--shapes alone: the knowledge base is still merged in, so a shape can rely on it."""
    shapes = (
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix mesokg: <https://w3id.org/mesokg/> .\n"
        "<#T> sh:targetObjectsOf mesokg:treatment ; sh:class mesokg:Treatment .\n"
    )
    (tmp_path / "shapes.ttl").write_text(shapes, encoding="utf-8")
    path = DATA / "invalid" / "session-before-birth.ttl"
    for engine in ("sparql", "pyshacl"):
        outcome = validate([path], kb, engine, shapes=load_shapes([tmp_path / "shapes.ttl"]))
        assert outcome.engine == engine and outcome.results == []  # the treatments are in the knowledge base
        alone = validate([path], None, engine, shapes=load_shapes([tmp_path / "shapes.ttl"]), use_kb=False)
        assert {r.component for r in alone.results} == {"sh:ClassConstraintComponent"}
