"""A kiosk through ten sign-in / desktop / sign-out cycles with real programs.

The kiosk window (Qt offscreen, in this process) signs in to a live broker;
the real TigerVNC viewer it starts, full screen, shows an Xvnc desktop on an
Xvfb screen that stands in for the thin client's monitor. Each cycle proves
the viewer got in (Xvnc logs one more authenticated connection and the
desktop's colour fills the screen), then ends the session the way a user
closing the viewer does, and checks that the kiosk is back on an empty
sign-in form and the broker freed the machine.

A kiosk user leaves TigerVNC through its F8 menu ("Disconnect"): there is no
window manager and so no close button. The test does the same with xdotool,
on the window of the viewer's PID. (A SIGTERM would not do: TigerVNC 1.12
calls exit() in its signal handler, which now and then deadlocks right after
connecting; the launcher then needs its SIGKILL fallback.)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core.broker import BrokerClient
from launcher.core.kiosk import KioskConfig, KioskPolicy, Screen
from launcher.core.launching import OpenedDesktop
from launcher.core.models import DesktopState
from launcher.core.supervisor import ClientExit
from launcher.ui.kiosk import KioskWindow
from tests.helpers.e2e import DESKTOP_COLOUR, VNC_PASSWORD, pixel_colour, require_binaries, wait_for
from tests.helpers.live_broker import Machine, live_broker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

USER, PASSWORD = "ann", "ann-kiosk-pw"
AUTHENTICATED = "Server default pixel format"  # Xvnc logs it once VncAuth passed
CYCLES = 10


@pytest.fixture
def thin_client_screen(xvfb_screen: Xvfb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Xvfb:
    """The viewer draws on the Xvfb screen, with a HOME of its own."""
    require_binaries("vncviewer", "import", "xdotool")
    monkeypatch.setenv("DISPLAY", xvfb_screen.display_name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return xvfb_screen


def test_ten_kiosk_cycles_with_the_real_viewer(
    qtbot: QtBot, tmp_path: Path, thin_client_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    began = time.monotonic()
    with live_broker(
        tmp_path / "broker",
        pools={"lab": [Machine("lab-1", port=vnc_desktop.port, password=VNC_PASSWORD)]},
        users={USER: PASSWORD},
        health_check=True,  # a real desktop: the broker's probe must find it each time
    ) as broker:
        config = KioskConfig(
            enabled=True, server=broker.url, policy=KioskPolicy(on_session_end="logoff")
        )
        window = KioskWindow(config)
        qtbot.addWidget(window)
        started: list[OpenedDesktop] = []
        window.session.client_started.connect(started.append)
        exits: list[ClientExit] = []
        window.session.client_exited.connect(lambda _opened, result: exits.append(result))
        window.start()
        try:
            qtbot.waitUntil(lambda: window.kiosk.screen is Screen.SIGN_IN, timeout=15_000)
            for cycle in range(1, CYCLES + 1):
                run_cycle(qtbot, window, vnc_desktop, thin_client_screen, started, cycle)
                # The viewer ended as when a user leaves it: status 0, nothing wrong.
                assert (exits[-1].returncode, exits[-1].reason) == (0, None)
            with BrokerClient(broker.url) as probe:
                probe.login(username=USER, password=PASSWORD)
                [desktop] = probe.desktops()
                assert desktop.state is DesktopState.AVAILABLE  # every session logged off
                probe.logout()
        finally:
            window.shutdown()
    assert vnc_desktop.log_text().count(AUTHENTICATED) == CYCLES
    assert time.monotonic() - began < 60


def run_cycle(
    qtbot: QtBot,
    window: KioskWindow,
    desktop: XvncDesktop,
    screen: Xvfb,
    started: list[OpenedDesktop],
    cycle: int,
) -> None:
    page = window.sign_in_page
    assert (page.username.text(), page.password.text()) == ("", ""), cycle
    page.username.setText(USER)
    page.password.setText(PASSWORD)
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.kiosk.screen is Screen.DESKTOPS, timeout=15_000)
    list_page = window.desktops_page
    qtbot.waitUntil(list_page.connect_button.isEnabled, timeout=10_000)

    with qtbot.waitSignal(window.session.client_connected, timeout=30_000):
        qtbot.mouseClick(list_page.connect_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.IN_SESSION
    opened = started[-1]
    assert len(started) == cycle
    wait_for(
        lambda: desktop.log_text().count(AUTHENTICATED) == cycle,
        20,
        f"Xvnc to accept viewer number {cycle}",
    )
    if cycle in (1, CYCLES):
        # Full screen on the thin client's monitor: the remote desktop's colour.
        wait_for(
            lambda: pixel_colour(screen.display_name, 200, 200) == DESKTOP_COLOUR,
            20,
            "the remote desktop on the kiosk's screen",
        )
    cmdline = Path(f"/proc/{opened.client.pid}/cmdline").read_bytes().split(b"\0")
    assert b"-FullScreen" in cmdline

    # The user closes the viewer: the kiosk signs out and logs the session off.
    with qtbot.waitSignal(window.session.session_reported, timeout=15_000) as reported:
        disconnect_from_the_menu(screen, opened.client.pid)
    assert reported.args == [opened.session_id, "logoff"]
    assert window.kiosk.screen is Screen.SIGN_IN
    assert window.stack.currentWidget() is page
    assert (page.username.text(), page.password.text()) == ("", "")
    assert window.session.current is None
    wait_for(lambda: not Path(f"/proc/{opened.client.pid}").exists(), 10, "the viewer to exit")


def xdotool(screen: Xvfb, *args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], env=screen.env(), capture_output=True, text=True, timeout=10
    ).stdout


def viewer_windows(screen: Xvfb, pid: int) -> list[str]:
    return xdotool(screen, "search", "--onlyvisible", "--pid", str(pid)).split()


def disconnect_from_the_menu(screen: Xvfb, pid: int) -> None:
    """F8 on the viewer's window, then "Disconnect" (its accelerator: c)."""
    wait_for(lambda: bool(viewer_windows(screen, pid)), 10, "the viewer's window")
    window = viewer_windows(screen, pid)[0]
    xdotool(screen, "windowfocus", "--sync", window, "mousemove", "300", "300")
    xdotool(screen, "key", "F8")
    wait_for(lambda: len(viewer_windows(screen, pid)) > 1, 10, "the viewer's F8 menu")
    xdotool(screen, "key", "c")
