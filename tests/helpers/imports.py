"""A package's imports as a graph, read from its source with ast.

An import inside a function (made late to keep a start quick) counts as much
as one at the top, and so does a module named to ``Lazy("name")``
(launcher.core.lazy), which is imported when first used. tests/unit/broker_stub/test_layers.py and
tests/unit/launcher/test_layers.py use it to keep each half's imports one way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType


class ImportGraph:
    """The modules of ``package`` and which of them each one imports."""

    def __init__(self, package: ModuleType) -> None:
        assert package.__file__ is not None
        self.root = package.__name__
        self.modules = self._modules(Path(package.__file__).parent)

    def _modules(self, folder: Path) -> dict[str, Path]:
        """Every module by its dotted name (a package by its __init__)."""
        found: dict[str, Path] = {}
        for path in sorted(folder.rglob("*.py")):
            parts = [self.root, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
        return found

    def imported(self, name: str) -> Iterator[str]:
        """The dotted names module ``name``'s source imports, wherever the import stands."""
        path = self.modules[name]
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Lazy"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.args[0].value
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    # `from pkg.part import mod` imports the module mod;
                    # `from pkg.part.mod import name` the module too.
                    full = f"{base}.{alias.name}"
                    yield full if full in self.modules else base

    def module_of(self, name: str) -> str | None:
        """The package's module a dotted name lives in, or None outside the package."""
        while name:
            if name in self.modules:
                return name
            name = name.rpartition(".")[0]
        return None

    def edges(self) -> dict[str, set[str]]:
        """Each module and the other modules of the package it imports."""
        graph: dict[str, set[str]] = {}
        for name in self.modules:
            targets = {self.module_of(n) for n in self.imported(name) if n.startswith(self.root)}
            graph[name] = {t for t in targets if t is not None and t != name}
        return graph

    def foreign(self, other: str) -> list[str]:
        """'module imports target' for every import of package ``other``."""
        return sorted(
            f"{name} imports {target}"
            for name in self.modules
            for target in self.imported(name)
            if target == other or target.startswith(other + ".")
        )


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected sets of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def described(graph: dict[str, set[str]]) -> list[str]:
    """Each circle of ``graph`` as one line: who imports whom in it."""
    return [
        "; ".join(f"{m} imports {sorted(graph[m] & set(circle))}" for m in circle)
        for circle in circles(graph)
    ]
