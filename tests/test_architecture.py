"""The package's shape: its import graph is a DAG, no module imports the package inside a function, and the
README's Layout section names every module."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import mesokg

PACKAGE = Path(mesokg.__file__).parent
README = Path(__file__).parents[1] / "README.md"


def module_name(path: Path) -> str:
    parts = ["mesokg", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The mesokg modules an import statement depends on."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "mesokg"]
    if node.level or not node.module or node.module.split(".")[0] != "mesokg":
        return []
    # `from mesokg import graphs` depends on the module mesokg.graphs; `from mesokg import build` on mesokg
    return [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names]


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path) -> tuple[set[str], list[str]]:
    """(modules imported at module level, descriptions of imports of mesokg inside a function or class)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # imports under a module-level `if TYPE_CHECKING:` are edges of the module too (for annotations)
    body = [node for outer in tree.body for node in (outer.body if _is_type_checking(outer) else [outer])]
    top = {name for node in body if isinstance(node, ast.Import | ast.ImportFrom) for name in imported(node)}
    nested = [
        f"{path.name}:{node.lineno} imports {', '.join(imported(node))}"
        for outer in body
        if not isinstance(outer, ast.Import | ast.ImportFrom)
        for node in ast.walk(outer)
        if isinstance(node, ast.Import | ast.ImportFrom) and imported(node)
    ]
    return top, nested


def test_the_import_graph_of_the_package_has_no_cycle():
    graph = {name: imports_of(path)[0] - {name} for name, path in MODULES.items()}
    assert len(graph) > 20 and any(graph.values())
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")
    assert set(MODULES) <= set(order)


def test_no_module_imports_the_package_inside_a_function():
    nested = [line for path in MODULES.values() for line in imports_of(path)[1]]
    assert nested == []


def test_the_checks_see_a_cycle_and_a_nested_import(tmp_path: Path):
    """The two tests above can fail: a module importing inside a function is found, and a cycle is reported."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from mesokg.rule import STRENGTHS\n    return STRENGTHS\n", encoding="utf-8")
    assert imports_of(sample)[1] == ["sample.py:2 imports mesokg.rule"]
    with pytest.raises(CycleError):
        list(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


def test_the_readme_layout_names_every_module():
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = [name for name, path in MODULES.items() if f"`{path.relative_to(PACKAGE).as_posix()}`" not in layout]
    assert missing == []
