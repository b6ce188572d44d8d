"""The real TigerVNC viewer's window: named after the desktop, and brought to the front
when it is already open (issue 10 #21). On an Xvfb screen, with xdotool and xprop.

vncviewer has no title option: it names its window after the remote desktop
("x11 - TigerVNC", "root@vm - TigerVNC"). Rubicon names it once it has
connected. Clicking Connect on a desktop whose viewer runs shows that window
in front, with the keyboard.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core.launching import OpenedDesktop
from launcher.ui.mainwindow import MainWindow, Options
from tests.helpers.e2e import VNC_PASSWORD, require_binaries
from tests.helpers.live_broker import LiveBroker, Machine, live_broker

pytestmark = pytest.mark.e2e

USER, PASSWORD = "ann", "ann-sign-in-pw"


@pytest.fixture
def screen(xvfb_screen: Xvfb, monkeypatch: pytest.MonkeyPatch) -> Xvfb:
    require_binaries("vncviewer", "xdotool", "xprop", "xwininfo")
    monkeypatch.setenv("DISPLAY", xvfb_screen.display_name)
    return xvfb_screen


@pytest.fixture
def broker(tmp_path: Path, vnc_desktop: XvncDesktop) -> Iterator[LiveBroker]:
    with live_broker(
        tmp_path / "broker",
        pools={"lab-desk": [Machine("lab-1", port=vnc_desktop.port, password=VNC_PASSWORD)]},
        users={USER: PASSWORD},
        health_check=True,
    ) as live:
        yield live


def x11(*argv: str) -> str:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=10, check=True, env=os.environ
    ).stdout


def title_of(window: str) -> str:
    return x11("xdotool", "getwindowname", window).strip()


def names_of(window: str) -> list[str]:
    """The window's EWMH and ICCCM names, as xprop quotes them."""
    out = x11("xprop", "-id", window, "_NET_WM_NAME", "WM_NAME")
    return [line.split(" = ", 1)[-1] for line in out.splitlines()]


def focused() -> str:
    return x11("xdotool", "getwindowfocus").strip()


def test_the_viewer_is_named_after_the_desktop_and_comes_to_the_front(
    qtbot: QtBot, screen: Xvfb, broker: LiveBroker
) -> None:
    window = MainWindow(Options())
    qtbot.addWidget(window)
    window.show()
    page = window.sign_in_page
    page.server.setText(broker.url)
    page.username.setText(USER)
    page.password.setText(PASSWORD)
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    try:
        with qtbot.waitSignal(window.client_connected, timeout=30_000) as connected:
            qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
        opened: OpenedDesktop = connected.args[0]
        [viewer] = opened.client.windows()
        # Waited for with the event loop running: the list the window asked for on
        # the start comes back meanwhile (the page is busy until then).
        # Both names are set, one xprop each: wait for the second as well.
        qtbot.waitUntil(lambda: names_of(viewer) == ['"Lab Desk"', '"Lab Desk"'], timeout=10_000)
        assert title_of(viewer) == "Lab Desk"

        # Something else has the keyboard now (the root window: no window manager here).
        root = x11("xwininfo", "-root").split("Window id: ")[1].split()[0]
        x11("xdotool", "windowfocus", str(int(root, 16)))
        assert focused() != viewer
        page = window.desktops_page
        qtbot.waitUntil(lambda: page.connect_button.text() == "Reconnect", timeout=10_000)
        assert page.connect_button.isEnabled()
        with qtbot.waitSignal(window.flow.already_open, timeout=15_000) as again:
            qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
        assert again.args[1] is True
        assert focused() == viewer
        assert page.banner.text() == ("Lab Desk is already open in its own window, now in front.")
    finally:
        window.stop_clients()
