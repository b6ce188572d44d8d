"""The broker's imports read one way: no circle between its modules, and no
import of the launcher (the two halves never import each other).

The imports are read from the source with ast, so an import inside a function
(made late to keep a start quick) counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import broker_stub

PACKAGE = Path(broker_stub.__file__).parent
ROOT = "broker_stub"


def _modules() -> dict[str, Path]:
    """Every module of the broker by its dotted name (a package by its __init__)."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> Iterator[str]:
    """The dotted names `name`'s source imports, wherever the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from broker_stub.domain import audit` imports the module audit;
                # `from broker_stub.domain.audit import record` the module too.
                full = f"{base}.{alias.name}"
                yield full if full in MODULES else base


def _module_of(name: str) -> str | None:
    """The broker module a dotted name lives in, or None outside the broker."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {_module_of(n) for n in _imported(name, path) if n.startswith(ROOT)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
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


def test_the_walk_sees_the_broker() -> None:
    graph = _graph()

    assert "broker_stub.cli.entry" in graph
    assert "broker_stub.domain.allocation" in graph
    # A late import inside a function is seen.
    assert "broker_stub.app" in graph["broker_stub.cli.serve"]


def test_the_walk_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert _circles(graph) == [["a", "b", "c"]]


def test_no_circle_between_broker_modules() -> None:
    graph = _graph()

    circles = [
        "; ".join(f"{m} imports {sorted(graph[m] & set(circle))}" for m in circle)
        for circle in _circles(graph)
    ]
    assert circles == []


def test_the_broker_never_imports_the_launcher() -> None:
    found = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        for target in _imported(name, path)
        if target == "launcher" or target.startswith("launcher.")
    )

    assert found == []


# The parts of the broker, lowest first: a part imports only parts at its level
# or below. `values` is the bottom; the command line and the app are the top.
LAYERS: list[set[str]] = [
    {"values", "clock", "log", "threads"},
    {"settings", "db"},
    {"backends", "waits", "metrics", "tls"},
    {"config"},
    {"domain"},
    {"auth"},
    {"api", "server", "app", "workers"},
    {"cli", "demo", "demo_libvirt", "xdisplay", "__main__"},
]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_has_a_layer() -> None:
    known = set().union(*LAYERS) | {""}

    assert {_part(m) for m in MODULES} - known == set()


def test_parts_import_only_downwards() -> None:
    level = {part: i for i, layer in enumerate(LAYERS) for part in layer}
    level[""] = 0  # broker_stub/__init__.py: the version only
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in _graph().items()
        for target in targets
        if level[_part(target)] > level[_part(name)]
    )

    assert upward == []
