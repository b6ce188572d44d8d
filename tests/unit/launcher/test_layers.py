"""The launcher's imports read one way: no circle between its modules, the core
never reaches up into the windows, and the broker is never imported (the two
halves of the repository never import each other).

tests/unit/launcher/test_core_is_pure.py checks that the core loads no Qt; this
checks the launcher's own modules, read from the source (tests/helpers/imports).
"""

from __future__ import annotations

import launcher
from tests.helpers.imports import ImportGraph, described

IMPORTS = ImportGraph(launcher)


def test_the_walk_sees_the_launcher() -> None:
    graph = IMPORTS.edges()

    assert "launcher.core.clients" in graph
    assert "launcher.ui.kiosk.window" in graph
    # A late import inside a function is seen.
    assert "launcher.ui.mainwindow" in graph["launcher.app"]


def test_no_circle_between_launcher_modules() -> None:
    assert described(IMPORTS.edges()) == []


def test_the_core_never_imports_the_windows() -> None:
    upward = sorted(
        f"{name} imports {target}"
        for name, targets in IMPORTS.edges().items()
        if name.startswith("launcher.core.")
        for target in targets
        if target.startswith("launcher.ui")
    )

    assert upward == []


def test_the_launcher_never_imports_the_broker() -> None:
    assert IMPORTS.foreign("broker_stub") == []
