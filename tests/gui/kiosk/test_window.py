"""The kiosk window against a live broker, with a fake viewer that records.

Time is a fake clock the tests move by hand, and ``tick()`` is called by
the tests (the window's own timer is set to an hour), so the countdown and
idle sign-out are checked without waiting for them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenuBar
from pytestqt.qtbot import QtBot

from launcher.core.broker import BrokerClient
from launcher.core.kiosk import KioskConfig, KioskPolicy, Screen, hash_pin
from launcher.core.launching import OpenedDesktop, Preferences
from launcher.core.models import DesktopState
from launcher.ui.kiosk import KioskWindow
from tests.gui.conftest import USERS
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker
from tests.helpers.fake_broker import desktop as fake_desktop
from tests.helpers.live_broker import LiveBroker

DATA = Path(__file__).parents[2] / "data" / "vncviewer"
PIN = "2468"
PIN_HASH = hash_pin(PIN)
DOWN = "http://127.0.0.1:9"  # the discard port: nothing listens


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Network:
    """Where the kiosk's broker address really leads: down, or the live broker."""

    def __init__(self, url: str = DOWN) -> None:
        self.url = url

    def client(self, _address: str) -> BrokerClient:
        return BrokerClient(self.url, timeout=5)


class KioskFactory:
    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self._qtbot = qtbot
        self._tmp = tmp_path
        self.clock = Clock()
        self.windows: list[KioskWindow] = []

    def __call__(
        self,
        viewer: Path,
        *,
        server: str = "http://kiosk-broker.test",
        network: Network | None = None,
        client_factory: Callable[[str], BrokerClient] | None = None,
        preferences: Preferences | None = None,
        single_sign_on: bool = False,
        **policy: Any,
    ) -> KioskWindow:
        config = KioskConfig(enabled=True, server=server, policy=KioskPolicy(**policy))
        factory = network.client if network else client_factory
        window = KioskWindow(
            config,
            preferences=preferences or Preferences(clients={"vncviewer": str(viewer)}),
            client_factory=factory,
            single_sign_on=single_sign_on,
            clock=self.clock,
            tick_interval=3_600_000,
        )
        self._qtbot.addWidget(window)
        self.windows.append(window)
        window.start()
        return window

    def close_all(self) -> None:
        for window in self.windows:
            window.shutdown()


@pytest.fixture
def make_kiosk(qtbot: QtBot, tmp_path: Path) -> Iterator[KioskFactory]:
    factory = KioskFactory(qtbot, tmp_path)
    yield factory
    factory.close_all()


@pytest.fixture
def connected_viewer(tmp_path: Path) -> fake_client.FakeClient:
    """Says what TigerVNC says once connected, then stays open like a session."""
    return fake_client.make(tmp_path / "viewer", replay=DATA / "connected.txt", hang=True)


def on_screen(qtbot: QtBot, window: KioskWindow, screen: Screen, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: window.kiosk.screen is screen, timeout=timeout)
    assert window.stack.currentWidget() is window._pages[screen]


def up(qtbot: QtBot, window: KioskWindow) -> None:
    on_screen(qtbot, window, Screen.SIGN_IN)


def sign_in(qtbot: QtBot, window: KioskWindow, user: str = "ann") -> None:
    page = window.sign_in_page
    page.username.setText(user)
    page.password.setText(USERS[user])
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.kiosk.screen is not Screen.SIGN_IN, timeout=10_000)


def ann_desktop_state(broker: LiveBroker) -> DesktopState:
    with BrokerClient(broker.url) as probe:
        probe.login(username="ann", password=USERS["ann"])
        [desktop] = probe.desktops()
        probe.logout()
        return desktop.state


def test_the_window_is_full_screen_frameless_and_cannot_be_closed(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url))
    up(qtbot, window)
    assert window.isFullScreen()
    flags = window.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert not window.findChildren(QMenuBar)
    assert window.contextMenuPolicy() is Qt.ContextMenuPolicy.NoContextMenu

    assert not window.close()
    qtbot.keyClick(window, Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(window.sign_in_page.username, Qt.Key.Key_Escape)
    assert window.isVisible()

    # The sign-in form keeps nothing and offers no way to settings or files.
    page = window.sign_in_page
    assert page.server.text() == "http://kiosk-broker.test"
    assert not page.server.isVisibleTo(window)
    for name in ("remember", "help_button", "settings_button", "about_button"):
        widget = getattr(page, name, None)
        assert widget is None or not widget.isVisibleTo(window), name
    assert page.username.hasFocus() or not window.isActiveWindow()


def test_no_broker_at_boot_counts_down_backs_off_and_recovers(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    network = Network(DOWN)
    window = make_kiosk(tmp_path / "vncviewer", network=network)
    clock = make_kiosk.clock
    waiting = window.waiting_page
    on_screen(qtbot, window, Screen.WAITING_FOR_NETWORK)
    qtbot.waitUntil(lambda: waiting.countdown.text() == "Trying again in 5 seconds.")
    assert waiting.detail.text().startswith("Cannot reach the broker at http://127.0.0.1:9.")
    clock.advance(2)
    window.tick()
    assert waiting.countdown.text() == "Trying again in 3 seconds."

    clock.advance(3)  # the countdown runs out: the kiosk tries by itself, and fails again
    window.tick()
    qtbot.waitUntil(lambda: waiting.countdown.text() == "Trying again in 10 seconds.")
    assert window.kiosk.screen is Screen.WAITING_FOR_NETWORK

    network.url = broker.url  # the network comes back
    qtbot.mouseClick(waiting.retry_button, Qt.MouseButton.LeftButton)
    up(qtbot, window)
    sign_in(qtbot, window)
    assert window.kiosk.screen is Screen.DESKTOPS


def test_a_broker_lost_at_sign_in_sends_the_kiosk_back_to_waiting(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    network = Network(broker.url)
    window = make_kiosk(tmp_path / "vncviewer", network=network)
    up(qtbot, window)
    network.url = DOWN
    page = window.sign_in_page
    page.username.setText("ann")
    page.password.setText(USERS["ann"])
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    on_screen(qtbot, window, Screen.WAITING_FOR_NETWORK)
    assert (page.username.text(), page.password.text()) == ("", "")


def test_sign_in_connect_and_the_end_of_the_session_signs_out(
    qtbot: QtBot,
    make_kiosk: KioskFactory,
    broker: LiveBroker,
    connected_viewer: fake_client.FakeClient,
) -> None:
    window = make_kiosk(connected_viewer.path, network=Network(broker.url))
    up(qtbot, window)
    sign_in(qtbot, window)
    on_screen(qtbot, window, Screen.DESKTOPS)
    page = window.desktops_page
    qtbot.waitUntil(lambda: len(page.desktops()) == 1)
    assert page.user_label.text() == "Signed in as Ann"

    started: list[OpenedDesktop] = []
    window.session.client_started.connect(started.append)
    qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.CONNECTING
    on_screen(qtbot, window, Screen.IN_SESSION)
    # The client's full-screen window must be free to cover the kiosk.
    assert not window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    recorded = connected_viewer.recorded()
    assert recorded["argv"] == [
        str(connected_viewer.path),
        "-FullScreen",
        "-passwd",
        "/dev/stdin",
        "127.0.0.1::5901",
    ]

    # The user closes the viewer: signed out, the form empty, the broker told.
    with (
        qtbot.waitSignal(window.signed_out, timeout=10_000) as out,
        qtbot.waitSignal(window.session.session_reported, timeout=10_000) as reported,
    ):
        os.kill(started[0].client.pid, signal.SIGTERM)
    assert out.args == ["session"]
    assert reported.args == [started[0].session_id, "disconnect"]  # on_session_end = auto
    on_screen(qtbot, window, Screen.SIGN_IN)
    sign_in_page = window.sign_in_page
    assert (sign_in_page.username.text(), sign_in_page.password.text()) == ("", "")
    assert sign_in_page.banner.text() == "Your session has ended and you have been signed out."
    assert window.session.current is None
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    # Nothing of Ann is left on any screen.
    assert page.desktops() == []
    assert page.user_label.text() == ""
    assert "Engineering" not in window.connecting_page.heading.text()
    # disconnect keeps the machine hers until the pool's timeout.
    assert ann_desktop_state(broker) is DesktopState.DISCONNECTED


def test_policy_logoff_frees_the_machine_when_the_session_ends(
    qtbot: QtBot,
    make_kiosk: KioskFactory,
    broker: LiveBroker,
    connected_viewer: fake_client.FakeClient,
) -> None:
    window = make_kiosk(connected_viewer.path, network=Network(broker.url), on_session_end="logoff")
    up(qtbot, window)
    sign_in(qtbot, window)
    qtbot.waitUntil(lambda: len(window.desktops_page.desktops()) == 1)
    with qtbot.waitSignal(window.session.client_connected, timeout=10_000) as connected:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.session.session_reported, timeout=10_000) as reported:
        os.kill(connected.args[0].client.pid, signal.SIGTERM)
    assert reported.args[1] == "logoff"
    assert ann_desktop_state(broker) is DesktopState.AVAILABLE


def test_auto_connect_opens_the_desktop_without_the_list(
    qtbot: QtBot,
    make_kiosk: KioskFactory,
    broker: LiveBroker,
    connected_viewer: fake_client.FakeClient,
) -> None:
    window = make_kiosk(
        connected_viewer.path, network=Network(broker.url), auto_connect="engineering"
    )
    screens: list[str] = []
    window.screen_changed.connect(screens.append)
    up(qtbot, window)
    sign_in(qtbot, window)
    on_screen(qtbot, window, Screen.IN_SESSION)
    assert Screen.DESKTOPS.value not in screens
    assert screens[-2:] == [Screen.CONNECTING.value, Screen.IN_SESSION.value]
    assert connected_viewer.recorded()["argv"][1] == "-FullScreen"


def test_auto_connect_to_a_desktop_the_user_lacks_shows_the_list(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    viewer = fake_client.make(tmp_path / "viewer", hang=True)
    window = make_kiosk(viewer.path, network=Network(broker.url), auto_connect="finance")
    up(qtbot, window)
    sign_in(qtbot, window)
    on_screen(qtbot, window, Screen.DESKTOPS)
    banner = window.desktops_page.banner
    assert banner.text() == "The desktop set for this kiosk (finance) is not available to you."
    assert not viewer.record.exists()


def test_a_viewer_that_never_connected_signs_out_and_says_why(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    failing = fake_client.make(tmp_path / "bad", replay=DATA / "auth-failure.txt", hang=True)
    window = make_kiosk(failing.path, network=Network(broker.url))
    up(qtbot, window)
    sign_in(qtbot, window)
    qtbot.waitUntil(lambda: len(window.desktops_page.desktops()) == 1)
    with qtbot.waitSignal(window.signed_out, timeout=15_000) as out:
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert out.args == ["failed"]
    on_screen(qtbot, window, Screen.SIGN_IN)
    banner = window.sign_in_page.banner
    assert banner.kind_shown == "error"
    assert banner.text() == (
        "Your desktop could not be opened: The desktop refused the console password. "
        "Sign in to try again."
    )
    assert window.session.current is None


def test_idle_on_the_desktop_list_signs_out(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url), idle_sign_out=120)
    clock = make_kiosk.clock
    up(qtbot, window)
    sign_in(qtbot, window)
    on_screen(qtbot, window, Screen.DESKTOPS)
    clock.advance(119)
    window.tick()
    assert window.kiosk.screen is Screen.DESKTOPS
    # Any input is activity: the idle time starts again.
    qtbot.keyClick(window.desktops_page.view, Qt.Key.Key_Right)
    clock.advance(119)
    window.tick()
    assert window.kiosk.screen is Screen.DESKTOPS
    with qtbot.waitSignal(window.signed_out) as out:
        clock.advance(1)
        window.tick()
    assert out.args == ["idle"]
    on_screen(qtbot, window, Screen.SIGN_IN)
    assert window.session.current is None
    assert window.sign_in_page.username.text() == ""
    assert window.desktops_page.desktops() == []
    assert "nobody used the screen" in window.sign_in_page.banner.text()


def test_a_half_typed_sign_in_is_cleared_when_left(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url), idle_sign_out=60)
    up(qtbot, window)
    window.sign_in_page.username.setText("ann")
    window.sign_in_page.password.setText("half")
    make_kiosk.clock.advance(60)
    window.tick()
    assert (window.sign_in_page.username.text(), window.sign_in_page.password.text()) == ("", "")


def test_the_admin_chord_and_a_wrong_then_right_pin_leave_kiosk_mode(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url), pin_hash=PIN_HASH)
    up(qtbot, window)
    chord = (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.ShiftModifier
    )
    window.activateWindow()
    qtbot.keyClick(window.sign_in_page.username, Qt.Key.Key_K, chord)
    on_screen(qtbot, window, Screen.ADMIN_PIN)
    pin_page = window.pin_page

    qtbot.keyClicks(pin_page.pin, "1357")
    qtbot.keyClick(pin_page.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pin_page.banner.text() == "That PIN is not right.", timeout=10_000)
    assert window.kiosk.screen is Screen.ADMIN_PIN
    assert pin_page.pin.text() == ""

    qtbot.keyClick(pin_page.pin, Qt.Key.Key_Escape)  # cancel: back where it was
    on_screen(qtbot, window, Screen.SIGN_IN)
    window.ask_for_pin()
    with qtbot.waitSignal(window.admin_exit, timeout=10_000):
        qtbot.keyClicks(pin_page.pin, PIN)
        qtbot.mouseClick(pin_page.ok_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.EXITED


def test_without_a_pin_hash_the_chord_does_nothing(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url))
    up(qtbot, window)
    window.admin_shortcut.activated.emit()
    assert window.kiosk.screen is Screen.SIGN_IN


def test_sign_out_button_forgets_the_user(
    qtbot: QtBot, make_kiosk: KioskFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", network=Network(broker.url))
    up(qtbot, window)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.signed_out) as out:
        qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    assert out.args == ["user"]
    on_screen(qtbot, window, Screen.SIGN_IN)
    assert window.sign_in_page.username.text() == ""
    assert not window.sign_in_page.banner.isVisible()


def test_a_one_time_code_is_asked_for_and_forgotten_with_the_user(
    qtbot: QtBot, make_kiosk: KioskFactory, tmp_path: Path
) -> None:
    broker = FakeBroker(
        desktops=[fake_desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "127.0.0.1", "port": 5901}},
        users={"ann": USERS["ann"]},
        otp={"ann": "123456"},
    )
    # No broker set by the admin (the fake has no /healthz): the user types it.
    window = make_kiosk(tmp_path / "vncviewer", server="", client_factory=broker.client)
    up(qtbot, window)
    page = window.sign_in_page
    assert page.server.isVisibleTo(window)
    page.server.setText("https://broker.test")
    page.username.setText("ann")
    page.password.setText(USERS["ann"])
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.otp_requested, timeout=10_000)
    assert "one-time code" in page.banner.text()
    page.otp.setText("123 456")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    on_screen(qtbot, window, Screen.DESKTOPS)
    logins = [r.body for r in broker.requests if r.path.endswith("/auth/login")]
    assert [login.get("otp") for login in logins] == [None, "123456"]
    qtbot.mouseClick(window.desktops_page.sign_out_button, Qt.MouseButton.LeftButton)
    on_screen(qtbot, window, Screen.SIGN_IN)
    assert not page.otp_requested
    assert (page.username.text(), page.password.text(), page.otp.text()) == ("", "", "")
    assert page.server.text() == ""  # nobody's broker is remembered either


def test_single_sign_on_holds_the_password_only_until_the_session_ends(
    qtbot: QtBot, make_kiosk: KioskFactory, tmp_path: Path
) -> None:
    password = "Sso pässword:1"
    broker = FakeBroker(
        desktops=[fake_desktop("win", "rdp", name="Windows 11")],
        connections={"win": {"protocol": "rdp", "host": "10.0.0.8", "port": 3389, "sso": True}},
        users={"ann": password},
    )
    version = (DATA.parent / "xfreerdp" / "version-2.txt").read_text().strip()
    rdp = fake_client.make(tmp_path / "bin", name="xfreerdp", version=version, hang=True)
    window = make_kiosk(
        rdp.path,
        server="",
        client_factory=broker.client,
        preferences=Preferences(clients={"xfreerdp": str(rdp.path)}),
        single_sign_on=True,
        auto_connect="win",
    )
    up(qtbot, window)
    page = window.sign_in_page
    page.server.setText("https://broker.test")
    page.username.setText("ann")
    page.password.setText(password)
    with qtbot.waitSignal(window.session.client_started, timeout=10_000) as started:
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    recorded = rdp.recorded()
    assert recorded["stdin"] == f"{password}\n".encode()
    assert "/f" in recorded["argv"]  # full screen, as every kiosk client
    held = window.session.sso
    assert held is not None
    assert not held.cleared
    with qtbot.waitSignal(window.signed_out, timeout=10_000):
        os.kill(started.args[0].client.pid, signal.SIGTERM)
    assert held.cleared
    assert not window.session.holds_password


def test_an_untrusted_broker_certificate_is_named_not_blamed_on_the_network(
    qtbot: QtBot, make_kiosk: KioskFactory, tls_broker: LiveBroker, tmp_path: Path
) -> None:
    window = make_kiosk(tmp_path / "vncviewer", server=tls_broker.url)
    on_screen(qtbot, window, Screen.WAITING_FOR_NETWORK)
    waiting = window.waiting_page
    qtbot.waitUntil(lambda: waiting.heading.text() == "The broker cannot be trusted")
    assert waiting.detail.text() == (
        f"The broker at {tls_broker.url} presents a certificate this kiosk does not trust. "
        "Tell your administrator."
    )
    assert "network connection" not in waiting.detail.text()
