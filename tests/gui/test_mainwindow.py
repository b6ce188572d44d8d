"""The launcher window against a live broker, with a fake viewer that records."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QThreadPool
from pytestqt.qtbot import QtBot

from launcher.core.broker import BrokerClient, BrokerRejected
from launcher.core.models import DesktopState
from launcher.core.protocols import vnc
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import USERS, WindowFactory, answer, submit
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker

DATA = Path(__file__).parents[1] / "data" / "vncviewer"


def sign_in(qtbot: QtBot, window: MainWindow, url: str, user: str = "ann") -> None:
    page = window.sign_in_page
    page.server.setText(url)
    page.username.setText(user)
    page.password.setText(USERS[user])
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def connect_selected(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitSignal(window.desktops_shown, timeout=10_000).wait()


def test_sign_in_and_connect_starts_the_viewer_with_the_password_on_stdin(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    sign_in(qtbot, window, broker.url)
    page = window.desktops_page
    assert window.stack.currentWidget() is page
    assert page.user_label.text() == "Signed in as Ann"
    [desktop] = page.model.desktops()
    assert (desktop.id, desktop.state) == ("engineering", DesktopState.AVAILABLE)
    assert page.connect_button.text() == "Connect"

    connect_selected(qtbot, window)

    recorded = viewer.recorded()
    assert recorded["argv"] == [str(viewer.path), "-passwd", "/dev/stdin", "127.0.0.1::5901"]
    assert recorded["stdin"] == vnc.obfuscate_password("vncpass1")
    assert window.sign_in_page.password.text() == ""  # not kept after sign-in
    [desktop] = page.model.desktops()
    assert desktop.state is DesktopState.CONNECTED
    assert page.connect_button.text() == "Reconnect"
    assert page.banner.text() == "Engineering is open in its own window."


def test_wrong_password_is_shown_on_the_sign_in_page(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker
) -> None:
    page = window.sign_in_page
    page.server.setText(broker.url)
    page.username.setText("ann")
    page.password.setText("not-it")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert not page.button.isEnabled()  # busy while the broker is asked
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    assert "password" in page.banner.text().lower()
    assert page.banner.text().endswith("Check both and try again.")  # said once (issue 10 #9)
    assert window.stack.currentWidget() is page
    assert page.button.isEnabled()
    assert page.password.hasSelectedText()


def test_broker_down_is_explained(qtbot: QtBot, window: MainWindow) -> None:
    page = window.sign_in_page
    submit(qtbot, page, "http://127.0.0.1:9", password="x")  # discard port: nothing listens
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    assert page.banner.text() == (
        "Cannot reach the broker at http://127.0.0.1:9. "
        "Check the server address and your network connection."
    )


def test_empty_fields_are_named(qtbot: QtBot, window: MainWindow) -> None:
    page = window.sign_in_page
    page.server.setText("https://b.example")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert page.banner.text() == "Enter your username and password."
    assert page.button.isEnabled()


def test_nothing_free_is_explained(
    qtbot: QtBot,
    broker: LiveBroker,
    window: MainWindow,
    make_window: WindowFactory,
    tmp_path: Path,
) -> None:
    sign_in(qtbot, window, broker.url, "ann")
    connect_selected(qtbot, window)

    other_viewer = fake_client.make(tmp_path / "other", hang=True)
    other = make_window(other_viewer.path)
    sign_in(qtbot, other, broker.url, "bob")
    [desktop] = other.desktops_page.model.desktops()
    assert desktop.state is DesktopState.UNAVAILABLE
    qtbot.mouseClick(other.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: other.desktops_page.connect_button.isEnabled(), timeout=10_000)
    banner = other.desktops_page.banner
    assert banner.kind_shown == "error"
    assert "in use" in banner.text()
    assert not other_viewer.record.exists()


def test_missing_viewer_is_named_and_costs_no_machine(
    qtbot: QtBot, broker: LiveBroker, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window(tmp_path / "no-such-viewer")
    sign_in(qtbot, window, broker.url)
    qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    banner = window.desktops_page.banner
    qtbot.waitUntil(lambda: banner.kind_shown == "error", timeout=10_000)
    assert banner.text().startswith(f"The VNC viewer is not installed at {tmp_path}")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        window.refresh()
    [desktop] = window.desktops_page.model.desktops()
    assert desktop.state is DesktopState.AVAILABLE  # the broker handed nothing out


def test_log_off_ends_the_session_and_frees_the_machine(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    sign_in(qtbot, window, broker.url)
    connect_selected(qtbot, window)
    pid = viewer.recorded()["pid"]
    qtbot.mouseClick(window.desktops_page.logoff_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        answer(window.desktops_page.confirm_box, "Log off")
    [desktop] = window.desktops_page.model.desktops()
    assert desktop.state is DesktopState.AVAILABLE
    assert desktop.session is None
    assert window.desktops_page.banner.text() == "Logged off Engineering."
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_viewer_failure_is_reported_in_plain_words(
    qtbot: QtBot, broker: LiveBroker, make_window: WindowFactory, tmp_path: Path
) -> None:
    failing = fake_client.make(tmp_path / "bad", replay=DATA / "auth-failure.txt", hang=True)
    window = make_window(failing.path)
    sign_in(qtbot, window, broker.url)
    with qtbot.waitSignal(window.client_exited, timeout=15_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.desktops_page.banner.kind_shown == "error", timeout=5_000)
    assert window.desktops_page.banner.text().startswith(
        "Engineering: The desktop refused the console password."
    )


def test_sign_out_returns_to_an_empty_password(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker
) -> None:
    sign_in(qtbot, window, broker.url)
    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    answer(window.question_box, "Sign out")
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.sign_in_page.password.text() == ""
    assert window.sign_in_page.username.text() == "ann"


@pytest.mark.parametrize("address", ["", "ftp://x", "http://"])
def test_bad_server_address_is_refused_before_any_request(
    qtbot: QtBot, window: MainWindow, address: str
) -> None:
    page = window.sign_in_page
    page.server.setText(address or " ")
    page.username.setText("ann")
    page.password.setText("x")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert page.banner.isVisible()
    assert page.button.isEnabled()


def test_double_click_launches_once(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    sign_in(qtbot, window, broker.url)
    view = window.desktops_page.view
    centre = view.visualRect(window.desktops_page.model.index(0)).center()
    started: list[object] = []
    window.client_started.connect(started.append)
    # What a real double-click delivers: press, release, double-click, release.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    # A second launch, had one begun, would still be in the pool or its result queued.
    assert QThreadPool.globalInstance().waitForDone(10_000)
    QCoreApplication.processEvents()
    assert len(started) == 1
    assert viewer.recorded()["argv"][-1] == "127.0.0.1::5901"


def test_heartbeats_make_the_session_active_and_an_ended_viewer_disconnects(
    qtbot: QtBot, make_window: WindowFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    viewer = fake_client.make(tmp_path / "beating", replay=DATA / "connected.txt", hang=True)
    window = make_window(viewer.path, heartbeat_interval=0.2)
    sign_in(qtbot, window, broker.url)
    with qtbot.waitSignal(window.client_connected, timeout=10_000) as connected:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    probe = BrokerClient(broker.url)
    try:
        probe.login(username="ann", password=USERS["ann"])

        def session_state() -> str | None:
            [desktop] = probe.desktops()
            return desktop.session.state if desktop.session else None

        try:
            probe.heartbeat(connected.args[0].session_id)
        except BrokerRejected as e:
            if e.code != "not_found":
                raise
            pytest.skip("this broker has no heartbeat route yet")
        qtbot.waitUntil(lambda: session_state() == "active", timeout=5_000)

        with qtbot.waitSignal(window.session_reported, timeout=10_000) as reported:
            os.kill(connected.args[0].client.pid, signal.SIGTERM)
        assert reported.args[1] == "disconnect"
        assert session_state() == "disconnected"
        qtbot.waitUntil(
            lambda: window.desktops_page.model.desktops()[0].state is DesktopState.DISCONNECTED,
            timeout=10_000,
        )
        assert window.desktops_page.connect_button.text() == "Reconnect"
    finally:
        probe.close()


def test_signing_out_closes_the_connection_though_no_callback_comes(
    qtbot: QtBot, make_window: WindowFactory, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    """A launcher that quits right after signing out runs no more callbacks: the
    broker client is closed by the sign-out's work itself, not by one."""
    made: list[BrokerClient] = []

    def client(url: str) -> BrokerClient:
        made.append(BrokerClient(url))
        return made[-1]

    make_window.client_factory = client
    window = make_window(viewer.path)
    sign_in(qtbot, window, broker.url)
    window.sign_out()
    # Blocks the GUI thread: the work ends, its callback stays queued, as when the
    # event loop has stopped.
    assert QThreadPool.globalInstance().waitForDone(10_000)
    [signed_in] = made
    assert signed_in.closed
