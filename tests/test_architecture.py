"""The import graph of the code: no cycles, and no module reaching into another's private names.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: a cycle
hidden in a function is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "connectors")
# Private names of the standard library that are the documented way to do something.
STANDARD_PRIVATE = {("os", "_exit"), ("sys", "_getframe")}


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                # `from pkg import mod` imports the module; `from mod import name` takes a name.
                found.append((submodule, None) if submodule in modules else (base, alias.name))
    return [(target, name) for target, name in found if target.split(".")[0] in PACKAGES]


def graph() -> dict[str, set[str]]:
    modules = module_files()
    edges: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for target, _ in imported(module, path, modules):
            if target in modules and target != module:
                edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def private_reach_ins() -> list[str]:
    """`from other import _name`, and `x._name` on anything but self, cls or a standard module."""
    modules = module_files()
    found: list[str] = []
    for module, path in modules.items():
        for target, name in imported(module, path, modules):
            if name and name.startswith("_") and not name.startswith("__"):
                found.append(f"{module}: from {target} import {name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id not in {"self", "cls"}
                and (node.value.id, node.attr) not in STANDARD_PRIVATE
            ):
                found.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    assert len(edges) > 40  # the walk found the code
    assert cycles(edges) == []


def test_no_module_uses_another_modules_private_names() -> None:
    assert private_reach_ins() == []


def test_the_checks_see_a_cycle_and_a_reach_in(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
