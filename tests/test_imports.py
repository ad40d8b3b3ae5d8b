"""The package's modules import each other without a cycle (module-level imports only)."""

from __future__ import annotations

import ast
from pathlib import Path

import mnist_logreg

PACKAGE = Path(mnist_logreg.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ("mnist_logreg",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Package modules that ``path`` imports when it is imported (not inside functions or classes).

    ``from .a import b`` counts as importing ``a`` (and ``a.b`` when that is a module); ``from ..
    import x`` as importing the package ``..`` itself.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue  # typing-only imports never run
        for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try, ast.With)) else [node]:
            if isinstance(sub, ast.Import):
                targets.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (sub.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in sub.names)
    # Importing a.b.c runs the packages a and a.b first, except those above the importing module
    # itself, which Python has finished loading (or is loading) before it.
    own = name.split(".")
    ancestors = {".".join(own[:i]) for i in range(1, len(own))}
    found = set()
    for target in targets:
        parts = target.split(".")
        found.add(target)
        found.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p not in ancestors)
    return {t for t in found if t in modules and t != name}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _module_level_imports(path, name, modules) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of nodes (first == last), or ``None`` (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_and_absolute_imports():
    graph = import_graph()
    assert "mnist_logreg.solvers.datafit" in graph["mnist_logreg.solvers.problem"]
    assert "mnist_logreg.plan.grid" in graph["mnist_logreg.engines.numpy"]
    assert "mnist_logreg.solvers" in graph["mnist_logreg.plan.grid"]  # the package __init__ runs too
    assert len(graph) > 30


def test_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
