"""launcher.core.childenv: what a frozen bundle added to the environment comes off
before a program is started; from source nothing changes.

tests/packaging/ starts a real vncviewer from the frozen launcher and reads the
child's own environment; here the rules, exactly.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

from launcher.core import childenv

BUNDLE = "/opt/rubicon/_internal"
LAUNCHER = Path(__file__).resolve().parents[4] / "launcher"


def test_from_source_the_environment_is_copied_as_it_is() -> None:
    environ = {"LD_LIBRARY_PATH": f"{BUNDLE}:/usr/lib", "_PYI_X": "1", "PATH": "/usr/bin"}

    env = childenv.cleaned(environ, bundle=None)

    assert env == environ
    assert env is not environ


def test_the_loader_path_the_user_had_comes_back() -> None:
    environ = {
        "LD_LIBRARY_PATH": f"{BUNDLE}:/home/u/lib",
        "LD_LIBRARY_PATH_ORIG": "/home/u/lib",
        "HOME": "/home/u",
    }

    assert childenv.cleaned(environ, bundle=BUNDLE) == {
        "LD_LIBRARY_PATH": "/home/u/lib",
        "HOME": "/home/u",
    }


def test_a_loader_path_set_from_nothing_goes() -> None:
    environ = {"LD_LIBRARY_PATH": BUNDLE, "DYLD_LIBRARY_PATH": f"{BUNDLE}/lib", "HOME": "/h"}

    assert childenv.cleaned(environ, bundle=BUNDLE) == {"HOME": "/h"}


def test_the_qt_hooks_folders_go_and_the_users_own_stay() -> None:
    environ = {
        "QT_PLUGIN_PATH": f"{BUNDLE}/PySide6/Qt/plugins:/home/u/qtplugins",
        "QML2_IMPORT_PATH": f"{BUNDLE}/PySide6/Qt/qml",
        "PATH": f"{BUNDLE}:/usr/local/bin::/usr/bin",
    }

    assert childenv.cleaned(environ, bundle=BUNDLE) == {
        "QT_PLUGIN_PATH": "/home/u/qtplugins",
        "PATH": "/usr/local/bin::/usr/bin",  # the empty entry is the user's
    }


def test_a_folder_that_only_starts_like_the_bundle_is_not_in_it() -> None:
    environ = {"LD_LIBRARY_PATH": f"{BUNDLE}2/lib:{BUNDLE}/../lib"}

    assert childenv.cleaned(environ, bundle=BUNDLE) == {
        "LD_LIBRARY_PATH": f"{BUNDLE}2/lib:{BUNDLE}/../lib"
    }


def test_the_bootloaders_own_notes_go() -> None:
    environ = {"_PYI_APPLICATION_HOME_DIR": BUNDLE, "_MEIPASS2": BUNDLE, "PYI_USER": "x"}

    assert childenv.cleaned(environ, bundle=BUNDLE) == {"PYI_USER": "x"}


def test_windows_path_lists_split_on_their_separator() -> None:
    environ = {"PATH": "/b;/c:/d"}

    assert childenv.cleaned(environ, bundle="/b", pathsep=";") == {"PATH": "/c:/d"}


def test_frozen_this_process_cleans_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", BUNDLE, raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", BUNDLE)
    monkeypatch.setenv("QT_PLUGIN_PATH", f"{BUNDLE}/plugins")
    monkeypatch.setenv("_PYI_PARENT_PROCESS_LEVEL", "1")
    monkeypatch.setenv("RUBICON_KEEP", "yes")

    assert childenv.for_children()["RUBICON_KEEP"] == "yes"
    assert "LD_LIBRARY_PATH" in os.environ  # for_children leaves ours alone
    childenv.restore_own()

    for name in ("LD_LIBRARY_PATH", "QT_PLUGIN_PATH", "_PYI_PARENT_PROCESS_LEVEL"):
        assert name not in os.environ
    assert os.environ["RUBICON_KEEP"] == "yes"


def test_from_source_this_process_keeps_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/somewhere")

    childenv.restore_own()

    assert os.environ["LD_LIBRARY_PATH"] == "/somewhere"
    assert childenv.bundle() is None


def unclean_starts() -> list[str]:
    """``file:line`` of each subprocess.run/Popen in the launcher without ``env=``."""
    found = []
    for path in sorted(LAUNCHER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"run", "Popen", "check_output", "call"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "subprocess"
                and not any(k.arg == "env" for k in node.keywords)
            ):
                found.append(f"{path.relative_to(LAUNCHER.parent)}:{node.lineno}")
    return found


def test_every_program_the_launcher_starts_gets_an_environment_of_its_own() -> None:
    assert unclean_starts() == []
