"""The package's floors (DESIGN.md, "Boundaries"): imports only go down, and no two modules import each other.

Read from the source with `ast` (every import statement, also inside functions), so a lazy import that breaks a
floor fails here as surely as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fmsbench

PACKAGE = Path(fmsbench.__file__).parent

# Floor of each area (a sub-package or a top-level module), top to bottom; an import may go to a lower floor or
# stay within its own area.
FLOORS = {
    "cli": 9, "__main__": 9, "__init__": 9,
    "runs": 8, "integrations": 8,
    "report": 7,
    "methods": 6,
    "replay": 5,
    "build": 4,
    "hub": 3,
    "executors": 2,
    "data": 1, "models": 1, "weights": 1,
    "errors": 0, "registry": 0, "atomic": 0, "paths": 0, "tomlconfig": 0, "metrics": 0, "version": 0, "extras": 0,
    "plugins": 0, "progress": 0, "provenance": 0,
}
# Stricter than the floors: these areas must not see each other at all (the issue that set up the floors).
FORBIDDEN = {
    "methods": {"hub", "build", "runs", "data", "integrations"},
    "replay": {"methods", "runs", "build"},
    "hub": {"build", "replay", "methods", "runs"},
    "build": {"replay", "methods", "runs"},
}
GROUND = {area for area, floor in FLOORS.items() if floor == 0}


def module_name(path: Path) -> str:
    parts = ["fmsbench", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str) -> set[str]:
    """The fmsbench modules `module` imports (`from a import b` counts as a.b when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                      for a in node.names}
    return {name for name in found if name in MODULES and name != module}


def area(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_floor() -> None:
    assert {area(m) for m in MODULES} <= set(FLOORS)


def test_imports_only_go_down() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        here = area(module)
        for target in targets:
            there = area(target)
            if there == here:
                continue
            if FLOORS[there] > FLOORS[here] or there in FORBIDDEN.get(here, ()) or \
                    (FLOORS[here] == 1 and there not in GROUND):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the floors:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components: any component of more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_see_real_imports() -> None:
    """The parser finds what is there: the replay loop reads the hub, methods read the replay's Observation."""
    assert "fmsbench.hub.benchmark" in GRAPH["fmsbench.replay.loop"]
    assert "fmsbench.replay.observation" in GRAPH["fmsbench.methods.model_based"]
