"""The command line: a rubicon:// link anywhere, --desktop, --non-interactive, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from launcher.app import parse_args, start_request
from launcher.core.models import Protocol
from launcher.core.startup import ExitCode


def test_a_link_may_stand_anywhere_and_options_win() -> None:
    args = parse_args(["--user", "bob", "rubicon://b.example.com/lab?protocol=rdp&user=ann"])
    assert args.link == "rubicon://b.example.com/lab?protocol=rdp&user=ann"
    wanted = start_request(args)
    assert (wanted.server, wanted.user, wanted.desktop, wanted.protocol) == (
        "https://b.example.com",
        "bob",
        "lab",
        Protocol.RDP,
    )


def test_options_alone() -> None:
    args = parse_args(
        ["--server", "b.example.com", "--user", "ann", "--desktop", "win", "--protocol", "vnc"]
    )
    assert args.link is None
    wanted = start_request(args)
    assert (wanted.desktop, wanted.protocol, wanted.non_interactive) == ("win", Protocol.VNC, False)


def test_the_doctor_is_still_a_command() -> None:
    assert parse_args(["doctor", "--json"]).command == "doctor"


def test_two_links_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["rubicon://a/x", "rubicon://b/y"])


def run(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher", *argv, "--settings", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "RUBICON_SYSTEM_CONFIG": str(tmp_path / "none.toml"),
        },
        check=False,
    )


def test_a_bad_link_exits_2_before_any_window(tmp_path: Path) -> None:
    result = run("rubicon://b.example.com/Not_A_Desktop", tmp_path=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert "rubicon: 'Not_A_Desktop' is not a desktop name" in result.stderr


def test_non_interactive_needs_broker_user_and_desktop(tmp_path: Path) -> None:
    result = run("--non-interactive", "--server", "b.example.com", tmp_path=tmp_path)
    assert result.returncode == ExitCode.USAGE
    assert "--non-interactive needs --user, --desktop" in result.stderr


def test_non_interactive_without_a_password_exits_3(tmp_path: Path) -> None:
    result = run(
        "--non-interactive",
        "rubicon://127.0.0.1:9/lab?user=ann&tls=0",
        tmp_path=tmp_path,
    )
    assert result.returncode == ExitCode.SIGN_IN, result.stderr
    assert "No password is remembered for ann" in result.stderr
