"""Leaving with a desktop open (issue 10 #5), and what asks before it acts (#22).

Closing the window while a desktop is open asks: keep it open, disconnect or
log off (or Cancel). The broker hears what was chosen before the window goes,
and the next sign-in shows the truth: disconnected, available, or, for a
desktop kept open without its launcher, disconnected once the broker's heartbeat
timeout has passed. Sign out and Log off ask first too. Against a live broker,
with a fake viewer that stays open.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from broker_stub.clock import utcnow
from broker_stub.domain.lifecycle import SILENT_LAUNCHER_TIMEOUT
from broker_stub.domain.scheduler import Scheduler
from launcher.core.broker import BrokerClient
from launcher.core.launching import OpenedDesktop
from launcher.core.models import DesktopState
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import USERS, WindowFactory, answer, sign_in
from tests.helpers import fake_client, file_keyring
from tests.helpers.e2e import wait_for
from tests.helpers.live_broker import LiveBroker
from tests.helpers.private_env import private_env

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parents[1] / "data" / "vncviewer"


# The broker: conftest's (ann, one pool "engineering" with one machine).


@pytest.fixture
def viewer(tmp_path: Path) -> fake_client.FakeClient:
    """Says what TigerVNC says once connected, then stays open like a session."""
    return fake_client.make(tmp_path / "viewer", replay=DATA / "connected.txt", hang=True)


def open_engineering(qtbot: QtBot, window: MainWindow, url: str) -> OpenedDesktop:
    sign_in(qtbot, window, url)
    with qtbot.waitSignal(window.client_connected, timeout=10_000) as connected:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    opened: OpenedDesktop = connected.args[0]
    return opened


@pytest.fixture
def opened(qtbot: QtBot, broker: LiveBroker, window: MainWindow) -> OpenedDesktop:
    """Ann signed in in ``window`` (conftest's, with this file's viewer), Engineering open."""
    return open_engineering(qtbot, window, broker.url)


def state_at_sign_in(broker: LiveBroker) -> DesktopState:
    """What the tile says at the next sign-in: the broker's word."""
    with BrokerClient(broker.url) as probe:
        probe.login(username="ann", password=USERS["ann"])
        [desktop] = probe.desktops()
        probe.logout()
        return desktop.state


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "zombie" not in status


def close_by_hand(window: MainWindow) -> QMessageBox:
    """The close button: the window stays, and asks."""
    assert not window.close()
    assert window.isVisible()
    box = window.question_box
    assert box is not None
    return box


def test_closing_with_a_desktop_open_asks_and_cancel_keeps_everything(
    broker: LiveBroker, window: MainWindow, opened: OpenedDesktop
) -> None:
    box = close_by_hand(window)
    assert box.windowTitle() == "Close Rubicon?"
    assert box.text() == "Engineering is still open. What becomes of it?"
    assert "<b>Keep open</b>: keep working without Rubicon." in box.informativeText()
    labels = {b.text() for b in box.buttons()}
    assert labels == {"Keep open", "Disconnect", "Log off", "Cancel"}
    assert box.defaultButton().text() == "Disconnect"
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.Cancel)
    # Asking again while it is up shows the same question, not a second one.
    assert not window.close()
    assert window.question_box is box

    answer(box, "Cancel")
    assert window.isVisible()
    assert opened.client.running()
    assert state_at_sign_in(broker) is DesktopState.CONNECTED


@pytest.mark.parametrize(
    ("choice", "event", "state"),
    [
        ("Disconnect", "disconnect", DesktopState.DISCONNECTED),  # it stays hers
        ("Log off", "logoff", DesktopState.AVAILABLE),  # the machine is free
    ],
)
def test_what_is_chosen_on_the_way_out_is_what_the_next_sign_in_shows(
    qtbot: QtBot,
    broker: LiveBroker,
    window: MainWindow,
    opened: OpenedDesktop,
    choice: str,
    event: str,
    state: DesktopState,
) -> None:
    with qtbot.waitSignal(window.session_left, timeout=15_000) as left:
        answer(close_by_hand(window), choice)
    assert left.args == [event]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert not alive(opened.client.pid)
    assert state_at_sign_in(broker) is state


def test_a_desktop_kept_open_outlives_the_window_and_reads_disconnected_once_silent(
    qtbot: QtBot,
    make_window: WindowFactory,
    broker: LiveBroker,
    viewer: fake_client.FakeClient,
) -> None:
    window = make_window(viewer.path, heartbeat_interval=0.2)
    opened = open_engineering(qtbot, window, broker.url)
    pid = opened.client.pid
    try:
        with qtbot.waitSignal(window.session_left, timeout=15_000):
            answer(close_by_hand(window), "Keep open")
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
        assert alive(pid)  # still on the user's screen
        # Without its launcher nobody beats for it: true while the beats could still come,
        assert state_at_sign_in(broker) is DesktopState.CONNECTED
        # and the broker marks it disconnected once its timeout has passed.
        assert broker.app is not None
        scheduler: Scheduler = broker.app.state.scheduler
        fired = scheduler.run_once(utcnow() + SILENT_LAUNCHER_TIMEOUT + timedelta(seconds=1))
        assert fired.fired["idle_deadline"] == 1
        assert state_at_sign_in(broker) is DesktopState.DISCONNECTED
        assert alive(pid)
    finally:
        if alive(pid):
            os.kill(pid, 9)
        assert opened.client.wait(10)  # reaped, with the reader of its output


def test_shutdown_disconnects_without_asking(
    qtbot: QtBot, broker: LiveBroker, window: MainWindow, opened: OpenedDesktop
) -> None:
    """SIGTERM and Ctrl+C: nobody to ask; the desktop is disconnected, as the OS would."""
    with qtbot.waitSignal(window.session_left, timeout=15_000) as left:
        window.shutdown()
    assert window.question_box is None
    assert left.args == ["disconnect"]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)
    assert not alive(opened.client.pid)
    assert state_at_sign_in(broker) is DesktopState.DISCONNECTED


def test_sigterm_to_the_program_disconnects_the_open_desktop_and_exits(
    tmp_path: Path, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    """``rubicon`` as a program: SIGTERM (a log-out, a shutdown) finds a desktop open and
    nobody to ask. The program disconnects it, tells the broker, and exits."""
    env = private_env(tmp_path / "home")
    keys = tmp_path / "keyring.json"
    file_keyring.write(keys, {(f"rubicon:{broker.url}", "ann"): USERS["ann"]})
    env.update({"PYTHON_KEYRING_BACKEND": file_keyring.BACKEND, file_keyring.ENV: str(keys)})
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps({"remember_password": True, "clients": {"vncviewer": str(viewer.path)}})
    )
    argv = [sys.executable, "-m", "launcher", "--settings", str(settings)]
    argv += ["--log-dir", str(tmp_path / "logs")]
    argv += ["--server", broker.url, "--user", "ann", "--desktop", "engineering"]
    with (tmp_path / "out").open("wb") as out:
        program = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
    pid = 0
    try:
        wait_for(lambda: viewer.record.exists(), 60, "the desktop to be opened")
        pid = viewer.recorded()["pid"]
        wait_for(lambda: state_at_sign_in(broker) is DesktopState.CONNECTED, 30, "a session")
        os.kill(program.pid, signal.SIGTERM)
        assert program.wait(timeout=30) == 0, (tmp_path / "out").read_text()
        assert not alive(pid)
    finally:
        if program.poll() is None:
            os.kill(program.pid, signal.SIGKILL)
            program.wait(timeout=10)
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert state_at_sign_in(broker) is DesktopState.DISCONNECTED


def test_closing_with_nothing_open_asks_nothing(
    qtbot: QtBot, broker: LiveBroker, window: MainWindow
) -> None:
    sign_in(qtbot, window, broker.url)
    assert window.close()
    assert window.question_box is None


def test_log_off_asks_first(
    qtbot: QtBot, broker: LiveBroker, window: MainWindow, opened: OpenedDesktop
) -> None:
    page = window.desktops_page
    qtbot.waitUntil(page.logoff_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(page.logoff_button, Qt.MouseButton.LeftButton)
    box = page.confirm_box
    assert box is not None
    assert box.windowTitle() == "Log off Engineering?"
    assert "anything not saved is lost" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    answer(box, "Cancel")
    assert opened.client.running()
    assert state_at_sign_in(broker) is DesktopState.CONNECTED

    # The menu asks the same question.
    [engineering] = page.all_desktops()
    [logoff] = [a for a in page.actions_menu(engineering).actions() if a.text() == "Log off…"]
    logoff.trigger()
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        answer(page.confirm_box, "Log off")
    assert page.banner.text() == "Logged off Engineering."
    assert state_at_sign_in(broker) is DesktopState.AVAILABLE


def test_sign_out_asks_first(qtbot: QtBot, broker: LiveBroker, window: MainWindow) -> None:
    sign_in(qtbot, window, broker.url)
    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    box = window.question_box
    assert box is not None
    assert box.text() == f"Sign out of {broker.url}?"
    answer(box, "Cancel")
    assert window.stack.currentWidget() is window.desktops_page
    assert window.session.current is not None

    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    answer(window.question_box, "Sign out")
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.session.current is None


def test_sign_out_with_a_desktop_open_asks_what_becomes_of_it(
    qtbot: QtBot, broker: LiveBroker, window: MainWindow, opened: OpenedDesktop
) -> None:
    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    box = window.question_box
    assert box is not None
    assert box.windowTitle() == "Sign out?"
    assert {b.text() for b in box.buttons()} == {"Keep open", "Disconnect", "Log off", "Cancel"}
    with qtbot.waitSignal(window.session_left, timeout=15_000):
        answer(box, "Disconnect")
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.isVisible()  # signing out is not closing
    assert not alive(opened.client.pid)
    assert state_at_sign_in(broker) is DesktopState.DISCONNECTED


def test_removing_a_broker_from_the_list_asks_first(window: MainWindow) -> None:
    page = window.sign_in_page
    assert page.add_server("one.example.com")
    assert page.add_server("two.example.com")
    page.server.setText("https://two.example.com")
    page.remove_action.trigger()
    box = page.remove_box
    assert box is not None
    assert box.windowTitle() == "Remove https://two.example.com?"
    assert box.text() == "Remove https://two.example.com from your list of brokers?"
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    answer(box, "Cancel")
    assert page.servers() == ["https://two.example.com", "https://one.example.com"]

    page.remove_action.trigger()
    answer(page.remove_box, "Remove")
    assert page.servers() == ["https://one.example.com"]
    assert page.remove_box is None
