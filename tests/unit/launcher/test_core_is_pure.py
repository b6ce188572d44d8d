"""launcher.core must run without Qt: the broker client, plans and supervisor
are used by tests, the doctor and the CLI without a QApplication."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import launcher.core


def test_core_never_imports_qt() -> None:
    modules = sorted(
        m.name for m in pkgutil.walk_packages(launcher.core.__path__, prefix="launcher.core.")
    )
    assert "launcher.core.broker" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
