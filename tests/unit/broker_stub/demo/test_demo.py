"""What `rubicon-broker demo` tells the person at the terminal, without starting anything.

tests/e2e/test_demo.py runs the demo itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from broker_stub import demo


def programs(folder: Path, *names: str) -> str:
    """A PATH of one folder holding executables named ``names``."""
    folder.mkdir()
    for name in names:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return str(folder)


def test_missing_programs_are_named_by_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", programs(tmp_path / "bin", "xsetroot", "xeyes"))
    assert demo.missing_programs(2) == {"x11-apps": ["xclock"], "tigervnc-viewer": ["vncviewer"]}
    assert demo.missing_programs(1) == {"x11-apps": ["xclock"], "tigervnc-viewer": ["vncviewer"]}
    # Libvirt's machines: no Xvnc desktop to paint or decorate; the viewer still opens them.
    assert demo.missing_programs(0) == {"tigervnc-viewer": ["vncviewer"]}


def test_nothing_is_missing_when_all_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = programs(tmp_path / "bin", "xsetroot", "xclock", "xeyes", "vncviewer")
    monkeypatch.setenv("PATH", path)
    assert demo.missing_programs(6) == {}


def test_the_banner_says_what_is_missing_what_it_costs_and_the_command() -> None:
    banner = demo._banner(
        "http://127.0.0.1:8080",
        "2 in pool",
        Path("/tmp/broker.log"),
        no_launcher=False,
        missing={"x11-apps": ["xclock", "xeyes"], "tigervnc-viewer": ["vncviewer"]},
    )
    assert (
        "Not installed, so the demo does without:\n"
        "  xclock, xeyes (x11-apps): the desktops show only their background, nothing "
        "moving on them, so a working connection looks like a frozen one\n"
        "  vncviewer (tigervnc-viewer): the launcher cannot open a desktop (it uses "
        "TigerVNC's vncviewer)\n"
        "Install with:  sudo apt-get install x11-apps tigervnc-viewer\n"
    ) in banner
    assert "Not installed" not in demo._banner(
        "http://127.0.0.1:8080", "2 in pool", Path("/tmp/broker.log"), no_launcher=False
    )


def test_every_package_the_demo_may_miss_has_its_cost_said() -> None:
    wanted = {"xsetroot", "vncviewer", *(argv[0] for argv in demo.DESKTOP_CLIENTS)}
    assert {demo.PACKAGES[program] for program in wanted} == set(demo.WITHOUT)


def test_the_launcher_command_is_the_venvs_script_when_path_lacks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_bin = Path(programs(tmp_path / "venv-bin", "python", "rubicon"))
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", programs(tmp_path / "usr-bin", "ls"))
    assert demo.launcher_command() == str(venv_bin / "rubicon")
    # Where the venv is on PATH (activated), its plain name does.
    monkeypatch.setenv("PATH", str(venv_bin))
    assert demo.launcher_command() == "rubicon"
    # Another rubicon on PATH is not this one: the full path again.
    monkeypatch.setenv("PATH", programs(tmp_path / "other-bin", "rubicon"))
    assert demo.launcher_command() == str(venv_bin / "rubicon")


def test_the_launcher_command_without_a_script_runs_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "my python" / "python3"))
    assert demo.launcher_command() == f"'{tmp_path}/my python/python3' -m launcher"


def test_without_the_launcher_installed_the_demo_says_so_before_it_starts_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from broker_stub.cli import build_parser

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setitem(sys.modules, "PySide6", None)  # as on a broker-only install
    monkeypatch.setattr(demo, "require_program", lambda name: None)  # Xvnc "is there"
    started: list[object] = []
    monkeypatch.setattr(demo, "_run", lambda *args: started.append(args) or 0)

    assert demo.run_demo(build_parser().parse_args(["demo"])) == 2
    assert started == []
    error = capsys.readouterr().err
    assert "the launcher is not installed here (PySide6 is missing)" in error
    assert "pip install rubicon" in error
    assert "--no-launcher" in error
    # With --no-launcher, the broker side needs no Qt: the demo goes on.
    assert demo.run_demo(build_parser().parse_args(["demo", "--no-launcher"])) == 0
    assert len(started) == 1
