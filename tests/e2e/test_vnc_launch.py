"""The whole path with real programs: the launcher window signs in to a live
broker, and the real TigerVNC viewer it starts shows an Xvnc desktop on an
Xvfb screen that stands in for the user's monitor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core.launching import OpenedDesktop
from launcher.ui.mainwindow import MainWindow, Options
from tests.helpers.e2e import DESKTOP_COLOUR, VNC_PASSWORD, pixel_colour, require_binaries, wait_for
from tests.helpers.live_broker import LiveBroker, Machine, live_broker

pytestmark = pytest.mark.e2e

USER, PASSWORD = "ann", "ann-sign-in-pw"
AUTHENTICATED = "Server default pixel format"  # Xvnc logs it once VncAuth passed


@pytest.fixture
def user_screen(xvfb_screen: Xvfb, monkeypatch: pytest.MonkeyPatch) -> Xvfb:
    """Native clients open on the Xvfb screen; Qt itself stays offscreen."""
    require_binaries("vncviewer", "import")
    monkeypatch.setenv("DISPLAY", xvfb_screen.display_name)
    return xvfb_screen


def broker_for(tmp_path: Path, desktop: XvncDesktop, password: str) -> Iterator[LiveBroker]:
    return live_broker(
        tmp_path / "broker",
        pools={"lab": [Machine("lab-1", port=desktop.port, password=password)]},
        users={USER: PASSWORD},
        health_check=True,  # a real desktop: the broker's probe must find it
    )


def open_lab(qtbot: QtBot, url: str) -> tuple[MainWindow, list[OpenedDesktop]]:
    window = MainWindow(Options())
    qtbot.addWidget(window)
    window.show()
    started: list[OpenedDesktop] = []
    window.client_started.connect(started.append)
    page = window.sign_in_page
    page.server.setText(url)
    page.username.setText(USER)
    page.password.setText(PASSWORD)
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    return window, started


def test_real_viewer_shows_the_desktop_and_no_secret_leaks(
    qtbot: QtBot,
    tmp_path: Path,
    user_screen: Xvfb,
    vnc_desktop: XvncDesktop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="rubicon")
    with broker_for(tmp_path, vnc_desktop, VNC_PASSWORD) as broker:
        window, started = open_lab(qtbot, broker.url)
        try:
            qtbot.waitUntil(lambda: bool(started), timeout=15_000)
            pid = started[0].client.pid
            wait_for(
                lambda: AUTHENTICATED in vnc_desktop.log_text(), 20, "Xvnc to accept the viewer"
            )
            # The viewer window sits at the top left of the user's screen and
            # shows the remote root window's colour.
            wait_for(
                lambda: pixel_colour(user_screen.display_name, 200, 200) == DESKTOP_COLOUR,
                20,
                "the remote desktop on the user's screen",
            )

            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert cmdline[0].endswith(b"vncviewer")
            assert b"/dev/stdin" in cmdline
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            for secret in (VNC_PASSWORD, PASSWORD):
                assert secret.encode() not in b"\0".join(cmdline)
                assert secret.encode() not in environ
                assert secret not in caplog.text
                assert secret not in vnc_desktop.log_text()

            page = window.desktops_page
            qtbot.waitUntil(page.logoff_button.isEnabled, timeout=10_000)
            qtbot.mouseClick(page.logoff_button, Qt.MouseButton.LeftButton)
            box = page.confirm_box  # log off ends the work on it: asked first
            assert box is not None
            [log_off] = [b for b in box.buttons() if b.text() == "Log off"]
            log_off.click()
            qtbot.waitUntil(lambda: page.banner.text() == "Logged off Lab.", timeout=15_000)
            wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, "the viewer to stop")
        finally:
            window.stop_clients()


def test_real_viewer_refused_by_the_desktop_ends_with_a_message(
    qtbot: QtBot, tmp_path: Path, user_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    with broker_for(tmp_path, vnc_desktop, "wrong-pw") as broker:
        window, started = open_lab(qtbot, broker.url)
        try:
            with qtbot.waitSignal(window.client_exited, timeout=20_000):
                qtbot.waitUntil(lambda: bool(started), timeout=15_000)
            banner = window.desktops_page.banner
            qtbot.waitUntil(lambda: banner.kind_shown == "error", timeout=5_000)
            assert banner.text().startswith("Lab: The desktop refused the console password.")
            assert not started[0].client.running()
        finally:
            window.stop_clients()
