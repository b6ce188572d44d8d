"""One window per user: the Unix socket and QtNetwork ends speak the same bytes.

On Linux the window listens with a plain Unix socket (no QtNetwork before its
first frame); a Rubicon on Windows, or one given a bare name, uses
QLocalServer. Either end may be either kind: each pair is tried, the second
start being a real process, as it is in use.
"""

from __future__ import annotations

import logging
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QProcess
from pytestqt.qtbot import QtBot

from launcher.core import startup
from launcher.ui.single import SingleInstance, uses_unix_socket

FORWARD = """
import sys
from PySide6.QtCore import QCoreApplication
from launcher.ui.single import SingleInstance
app = QCoreApplication([])
qt = sys.argv[3] == "qt"
message = sys.argv[2].encode() + b"\\n"
sys.exit(0 if SingleInstance(sys.argv[1], qt_network=qt).forward(message) else 1)
"""


def forward_from_another_process(qtbot: QtBot, name: str, message: str, kind: str) -> int:
    second = QProcess()
    try:
        second.start(sys.executable, ["-c", FORWARD, name, message, kind])
        qtbot.waitUntil(lambda: second.state() == QProcess.ProcessState.NotRunning, timeout=20_000)
        return second.exitCode()
    finally:
        if second.state() != QProcess.ProcessState.NotRunning:
            second.kill()
            second.waitForFinished(5_000)


def test_a_path_is_served_with_a_unix_socket(tmp_path: Path) -> None:
    assert uses_unix_socket(str(tmp_path / "rubicon.socket"))
    assert not uses_unix_socket("rubicon-0123456789abcdef")  # Qt's folder, or a pipe


@pytest.mark.parametrize("server", ["unix", "qt"])
@pytest.mark.parametrize("client", ["unix", "qt"])
def test_either_kind_of_start_hands_its_link_to_either_kind(
    qtbot: QtBot, tmp_path: Path, server: str, client: str
) -> None:
    name = str(tmp_path / "rubicon.socket")
    first = SingleInstance(name, qt_network=server == "qt")
    assert first.listen()
    message = startup.encode(startup.request("rubicon://broker.test/lab?user=ann")).strip()
    try:
        with qtbot.waitSignal(first.received, timeout=20_000) as received:
            code = forward_from_another_process(qtbot, name, message.decode(), client)
        assert code == 0  # the first one answered "ok"
        assert startup.decode(received.args[0]).desktop == "lab"
    finally:
        first.close()
    assert not Path(name).exists()  # closing removes the socket, as QLocalServer does
    assert not SingleInstance(name).forward(b"{}\n", timeout_ms=500)  # nobody listens


def test_the_socket_is_the_users_alone(tmp_path: Path, qtbot: QtBot) -> None:
    name = tmp_path / "rubicon.socket"
    first = SingleInstance(str(name))
    assert first.listen()
    try:
        mode = name.stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o700
        assert [p.name for p in tmp_path.iterdir()] == ["rubicon.socket"]  # no folder left
    finally:
        first.close()


def test_a_live_first_start_is_asked_not_replaced(qtbot: QtBot, tmp_path: Path) -> None:
    name = str(tmp_path / "rubicon.socket")
    first = SingleInstance(name)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.received, timeout=20_000):
            assert forward_from_another_process(qtbot, name, "{}", "unix") == 0
        with qtbot.waitSignal(first.received, timeout=20_000):  # and again
            assert forward_from_another_process(qtbot, name, "{}", "unix") == 0
    finally:
        first.close()


def test_a_message_too_long_is_dropped_and_refused(
    qtbot: QtBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = str(tmp_path / "rubicon.socket")
    first = SingleInstance(name)
    assert first.listen()
    heard: list[bytes] = []
    first.received.connect(heard.append)
    try:
        with caplog.at_level(logging.WARNING, logger="rubicon.app"):
            code = forward_from_another_process(
                qtbot, name, "x" * (startup.MAX_MESSAGE + 10), "unix"
            )
            qtbot.waitUntil(lambda: "too long" in caplog.text, timeout=10_000)
        assert code == 1  # no "ok": the second start opens its own window
        assert heard == []
    finally:
        first.close()
