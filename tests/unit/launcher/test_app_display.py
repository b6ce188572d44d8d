"""``rubicon`` where no display is: a sentence saying so and what to do, not Qt's abort.

Without a display, Qt aborts the process (exit 134, SIGABRT) and blames its
xcb plugin's libraries ("xcb-cursor0 ... is needed"), which sends people to
install packages they already have.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from launcher.app import missing_display
from launcher.core.startup import ExitCode
from tests.helpers.private_env import private_env

ROOT = Path(__file__).resolve().parents[3]

NO_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET", "XDG_SESSION_TYPE")


def without_display(folder: Path, **extra: str) -> dict[str, str]:
    """The start-up tests' private environment, with no display of any kind."""
    env = private_env(folder)  # its XDG_RUNTIME_DIR is a new, empty folder: no wayland-0
    for var in (*NO_DISPLAY_VARS, "QT_QPA_PLATFORM"):
        env.pop(var, None)
    env.update(extra)
    return env


@pytest.mark.parametrize("platform", [None, "xcb", "wayland", "wayland;xcb", "xcb:nograb"])
def test_the_window_without_a_display_says_so_and_what_to_do(
    tmp_path: Path, platform: str | None
) -> None:
    extra = {} if platform is None else {"QT_QPA_PLATFORM": platform}
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "--log-dir", str(tmp_path / "logs")],
        capture_output=True,
        text=True,
        timeout=60,
        env=without_display(tmp_path, **extra),
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == ExitCode.FAILED, result.stderr  # not -6 / 134: Qt's abort
    assert result.stderr.startswith("rubicon: there is no display to open the window on: ")
    assert "ssh -X" in result.stderr
    assert "DISPLAY=:0 rubicon" in result.stderr
    assert "xcb-cursor" not in result.stderr  # Qt never ran
    assert result.stdout == ""


def test_the_message_names_what_is_not_set() -> None:
    assert "DISPLAY and WAYLAND_DISPLAY are not set. " in str(missing_display({}, "linux"))
    assert "DISPLAY is not set (QT_QPA_PLATFORM=xcb)." in str(
        missing_display({"QT_QPA_PLATFORM": "xcb"}, "linux")
    )
    assert "WAYLAND_DISPLAY is not set (QT_QPA_PLATFORM=wayland-egl)." in str(
        missing_display({"QT_QPA_PLATFORM": "wayland-egl"}, "linux")
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"DISPLAY": ":0"},
        {"DISPLAY": "localhost:10.0"},  # ssh -X
        {"WAYLAND_DISPLAY": "wayland-1"},
        {"WAYLAND_SOCKET": "5"},
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "vnc:size=800x600"},
        {"QT_QPA_PLATFORM": "eglfs"},
        {"QT_QPA_PLATFORM": "wayland;offscreen"},  # the second needs none
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"},
        {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"},
    ],
)
def test_a_display_or_a_platform_without_one_lets_qt_start(environ: dict[str, str]) -> None:
    assert missing_display(environ, "linux") is None


def test_the_default_wayland_socket_is_a_display(tmp_path: Path) -> None:
    """libwayland connects to wayland-0 in XDG_RUNTIME_DIR when WAYLAND_DISPLAY is unset."""
    environ = {"XDG_RUNTIME_DIR": str(tmp_path), "XDG_SESSION_TYPE": "wayland"}
    assert missing_display(environ, "linux") is not None
    (tmp_path / "wayland-0").touch()
    assert missing_display(environ, "linux") is None


@pytest.mark.parametrize("platform", ["win32", "darwin", "cygwin"])
def test_windows_and_macos_have_their_own_display(platform: str) -> None:
    assert missing_display({}, platform) is None


def test_an_empty_display_is_no_display() -> None:
    assert missing_display({"DISPLAY": ""}, "freebsd14") is not None
    assert missing_display({"DISPLAY": "", "QT_QPA_PLATFORM": ""}, "linux") is not None
