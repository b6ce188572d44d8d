from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from launcher import __version__
from launcher.app import parse_args
from launcher.core import log


def test_help_runs_without_a_display() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=True,
    )
    assert result.stdout.startswith("usage: rubicon")
    assert "--server URL" in result.stdout
    assert "opens the one you pick in its native client" in result.stdout


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == f"rubicon {__version__}"


def test_arguments() -> None:
    args = parse_args(["--server", "https://b", "--user", "ann", "--no-fullscreen"])
    assert (args.server, args.user, args.fullscreen) == ("https://b", "ann", False)
    assert parse_args([]).fullscreen is None  # the saved setting decides
    with pytest.raises(SystemExit):
        parse_args(["--log-level", "loud"])


def test_json_logs_are_one_object_a_line() -> None:
    stream = io.StringIO()
    try:
        log.setup(level="debug", json_output=True, stream=stream)
        log.launch.info("started %s as pid %d", "VNC viewer", 42)
        log.ui.debug("second")
    finally:
        root = logging.getLogger("rubicon")
        root.handlers.clear()
        root.propagate = True
        root.setLevel(logging.NOTSET)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["logger"] == "rubicon.launch"
    assert first["level"] == "info"
    assert first["message"] == "started VNC viewer as pid 42"
    assert second["logger"] == "rubicon.ui"


def test_doctor_is_a_subcommand_beside_the_window() -> None:
    args = parse_args(
        ["doctor", "--server", "https://b", "--desktop-host", "10.0.0.8:3389", "--json"]
    )
    assert (args.command, args.doctor_server, args.desktop_host, args.json) == (
        "doctor",
        "https://b",
        "10.0.0.8:3389",
        True,
    )
    window = parse_args(["--server", "https://b"])
    assert (window.command, window.server) == (None, "https://b")


def test_doctor_help_runs_without_a_display() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "doctor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        check=True,
    )
    assert result.stdout.startswith("usage: rubicon doctor")
    for option in ("--server URL", "--desktop-host HOST:PORT", "--json", "--bundle FILE.zip"):
        assert option in result.stdout
