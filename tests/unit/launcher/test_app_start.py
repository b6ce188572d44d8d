"""``python -m launcher`` as a program: what its first frame waits for, and what it does not.

Each run is a real process on the offscreen platform with its own folders.
The window's first frame needs the sign-in page and nothing of the launch
machinery, the broker client, QtSvg or QtNetwork; the log file opens after
it, with every record logged before; a second start still hands its link to
the first before any window of its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.e2e import wait_for
from tests.helpers.private_env import private_env

ROOT = Path(__file__).resolve().parents[3]

# Run as `python -m launcher` does, reporting, at the first frame, what is loaded.
AT_FIRST_FRAME = """
import sys
import PySide6.QtCore
import launcher.app as app

exit_when_shown = app.exit_when_shown

def report_first(frame):
    exit_when_shown(frame)  # prints "shown ...", quits after the deferred work
    def report():
        loaded = sorted(m for m in sys.modules if m.startswith(("launcher", "PySide6", "logging")))
        print("loaded", " ".join(loaded))
        print("qt-namespace", "Qt" in vars(PySide6.QtCore))
    frame.painted.connect(report)

app.exit_when_shown = report_first
raise SystemExit(app.main(sys.argv[1:]))
"""

# Loaded before the first frame, they would only delay it.
NOT_BEFORE_THE_FIRST_FRAME = [
    "launcher.core.launching",
    "launcher.core.supervisor",
    "launcher.core.protocols",
    "launcher.core.broker",
    "launcher.core.trust",
    "launcher.core.catalog",
    "launcher.core.kiosk",  # without --kiosk or a [kiosk] table
    "launcher.core.models",  # the broker's answers: a start needs only kinds.Protocol
    "launcher.ui.controller",
    "launcher.ui.desktops",
    "launcher.ui.poweron",
    "launcher.ui.settingsdialog",
    "launcher.ui.about",
    "launcher.ui.trustdialog",
    "PySide6.QtSvg",
    "PySide6.QtNetwork",
    "logging.handlers",
]


def test_the_first_frame_waits_for_none_of_what_sign_in_does_not_show(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", AT_FIRST_FRAME, "--exit-when-shown", "--log-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=private_env(tmp_path),
        cwd=ROOT,
        check=True,
    )
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert "shown" in out
    loaded = set(out["loaded"].split())
    assert {"launcher.ui.signin", "launcher.ui.mainwindow"} <= loaded
    assert sorted(loaded & set(NOT_BEFORE_THE_FIRST_FRAME)) == []
    # The first "Qt." builds ~90 enum types, 10 to 20 ms: the sign-in page does without.
    assert out["qt-namespace"] == "False"


def records(text: str) -> list[tuple[str, str, str]]:
    """(level, logger, message) of each line of stderr or of the log file."""
    found = []
    for line in text.splitlines():
        match = re.match(r".*? (DEBUG|INFO|WARNING|ERROR)\s+(\S+?)(?: \[\w+\])?: (.*)$", line)
        if match:
            found.append((match[1], match[2], match[3]))
    return found


def test_every_record_of_the_start_is_in_the_log_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    env = private_env(tmp_path)
    # Read (and complained about) after logging is set up, before the window is built.
    Path(env["RUBICON_SYSTEM_CONFIG"]).write_text('[kiosk]\non_session_end = "never"\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "--exit-when-shown",
            "--log-level",
            "debug",
            "--log-dir",
            str(logs),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert result.stdout.startswith("shown ")
    on_stderr = records(result.stderr)
    in_file = records((logs / "rubicon.log").read_text())
    messages = [m for _, _, m in in_file]
    assert any("ignoring kiosk.on_session_end" in m for m in messages)  # before the first frame
    assert any(m.startswith("Rubicon ") and "started" in m for m in messages)  # after it
    assert on_stderr == in_file  # the same records, in the same order, none lost


def wait_logged(path: Path, text: str, proc: subprocess.Popen[bytes], output: Path) -> None:
    """Until ``text`` is in the log file ``path``: 30 s at most, and no longer than ``proc``
    runs (what it printed to ``output`` goes with a failure)."""
    wait_for(
        lambda: path.exists() and text in path.read_text(errors="replace"),
        30,
        f"{text!r} in {path}",
        process=proc,
        output=output,
    )


@pytest.mark.timeout(120)
def test_a_second_start_hands_its_link_to_the_first_window(tmp_path: Path) -> None:
    env = private_env(tmp_path)
    first_logs, second_logs = tmp_path / "first", tmp_path / "second"
    with (tmp_path / "first.out").open("wb") as out:
        first = subprocess.Popen(
            [sys.executable, "-m", "launcher", "--log-dir", str(first_logs)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    try:
        wait_logged(first_logs / "rubicon.log", "started", first, tmp_path / "first.out")
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "launcher",
                "--log-dir",
                str(second_logs),
                "rubicon://broker.test/lab?user=ann",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=ROOT,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert "shown" not in second.stdout  # no window of its own
        # It ended before any frame of its own: its record still reached its log file.
        handed = "handed the request to the Rubicon already running"
        assert handed in (second_logs / "rubicon.log").read_text()
        took = "a second start handed over its request"
        wait_logged(first_logs / "rubicon.log", took, first, tmp_path / "first.out")
        os.kill(first.pid, signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
