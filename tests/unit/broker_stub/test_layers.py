"""The broker's imports read one way: no circle between its modules, and no
import of the launcher (the two halves never import each other).

The imports are read from the source with ast, so an import inside a function
(made late to keep a start quick) counts as much as one at the top.
"""

from __future__ import annotations

import broker_stub
from tests.helpers.imports import ImportGraph, circles, described

IMPORTS = ImportGraph(broker_stub)
MODULES = IMPORTS.modules


def test_the_walk_sees_the_broker() -> None:
    graph = IMPORTS.edges()

    assert "broker_stub.cli.entry" in graph
    assert "broker_stub.domain.allocation" in graph
    # A late import inside a function is seen.
    assert "broker_stub.app" in graph["broker_stub.cli.serve"]


def test_the_walk_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert circles(graph) == [["a", "b", "c"]]


def test_no_circle_between_broker_modules() -> None:
    graph = IMPORTS.edges()

    assert described(graph) == []


def test_the_broker_never_imports_the_launcher() -> None:
    assert IMPORTS.foreign("launcher") == []


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
    {"cli", "demo", "main"},
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
        for name, targets in IMPORTS.edges().items()
        for target in targets
        if level[_part(target)] > level[_part(name)]
    )

    assert upward == []
