"""The kiosk opens desktops through the main window's LaunchFlow (issue 10 #8, #15).

A machine that powers on is asked for again with the same Idempotency-Key,
with a countdown and Cancel, and given up after the limit; whoever walks away
while it starts is signed out like anyone idle; the first desktop takes the
keyboard after sign-in, so Enter opens it. The broker is replayed in-process
(tests/helpers/fake_broker.py): the bundled broker powers nothing on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from launcher.core.kiosk import KioskConfig, KioskPolicy, Screen
from launcher.core.launching import Preferences
from launcher.ui.kiosk import KioskWindow
from tests.gui.conftest import answer
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop

URL = "https://broker.test"
DATA = Path(__file__).parents[2] / "data" / "vncviewer"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Kiosks:
    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.qtbot = qtbot
        self.viewer = fake_client.make(
            tmp_path / "viewer", replay=DATA / "connected.txt", hang=True
        )
        self.clock = Clock()
        self.windows: list[KioskWindow] = []

    def __call__(self, broker: FakeBroker, **options: Any) -> KioskWindow:
        policy = KioskPolicy(idle_sign_out=options.pop("idle_sign_out", 120.0))
        # No broker set by the admin: the form has a broker field, and no network wait.
        window = KioskWindow(
            KioskConfig(enabled=True, server="", policy=policy),
            preferences=Preferences(clients={"vncviewer": str(self.viewer.path)}),
            client_factory=broker.client,
            clock=self.clock,
            tick_interval=3_600_000,  # the tests tick
            **options,
        )
        self.qtbot.addWidget(window)
        self.windows.append(window)
        window.start()
        return window


@pytest.fixture
def kiosks(qtbot: QtBot, tmp_path: Path) -> Iterator[Kiosks]:
    made = Kiosks(qtbot, tmp_path)
    yield made
    for window in made.windows:
        window.shutdown()


def lab(**starting: int) -> FakeBroker:
    return FakeBroker(
        desktops=[desktop("lab", "vnc"), desktop("art", "vnc", name="Art studio")],
        connections={
            pool: {"protocol": "vnc", "host": "10.0.0.5", "port": 5901} for pool in ("lab", "art")
        },
        starting=dict(starting),
        retry_after=1,
    )


def sign_in(qtbot: QtBot, window: KioskWindow, *, desktops: int = 2) -> None:
    page = window.sign_in_page
    page.server.setText(URL)
    page.username.setText("ann")
    page.password.setText("ann-password")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.desktops_page.desktops()) == desktops, timeout=10_000)


def held() -> FakeBroker:
    """Ann holds a session on Lab: Log off is offered."""
    return FakeBroker(
        desktops=[desktop("lab", "vnc", state="disconnected", session="s-lab")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
    )


def launches(broker: FakeBroker) -> list[str | None]:
    """The Idempotency-Key of every launch, in order."""
    return [r.idempotency_key for r in broker.requests if r.path.endswith("/launch")]


def test_a_machine_that_powers_on_is_asked_for_again_with_one_key(
    qtbot: QtBot, kiosks: Kiosks
) -> None:
    broker = lab(lab=2)
    window = kiosks(broker)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.session.client_started, timeout=15_000):
        # Two 202s, each counted down; the third try gets the machine.
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    keys = launches(broker)
    assert len(keys) == 3
    assert keys[0] is not None
    assert len(set(keys)) == 1  # one key: the broker never claims a second machine
    assert kiosks.viewer.recorded()["argv"][-1] == "10.0.0.5::5901"


def test_opening_shows_when_the_kiosk_asks_again(qtbot: QtBot, kiosks: Kiosks) -> None:
    broker = lab(lab=1)
    window = kiosks(broker)
    sign_in(qtbot, window)
    page = window.connecting_page
    with qtbot.waitSignal(window.flow.waiting, timeout=10_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.CONNECTING
    assert page.heading.text() == "Opening Lab…"
    assert page.detail.text() == "Lab is starting. Rubicon opens it as soon as it is ready."
    assert page.countdown.text() == "Checking again in 1 second."
    assert page.cancel_button.isVisibleTo(window)
    with qtbot.waitSignal(window.flow.opened, timeout=15_000):
        pass  # the countdown runs out; the next try gets the machine
    assert not page.cancel_button.isVisibleTo(window)
    assert not page.countdown.isVisibleTo(window)


def test_a_machine_that_never_starts_is_given_up_and_the_list_says_so(
    qtbot: QtBot, kiosks: Kiosks
) -> None:
    broker = lab(lab=1000)
    window = kiosks(broker, start_wait_limit=1.5)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.flow.gave_up, timeout=15_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.DESKTOPS
    assert window.desktops_page.banner.text() == (
        "Lab did not start in time. Try again later, or ask your administrator."
    )
    asked = len(launches(broker))
    assert window.flow.waiting_for is None  # nothing left to ask again
    assert not window.flow.busy
    assert 2 <= asked <= 4
    assert not kiosks.viewer.record.exists()


def test_cancel_stops_asking_and_no_client_starts(qtbot: QtBot, kiosks: Kiosks) -> None:
    broker = lab(lab=1000)
    window = kiosks(broker)
    sign_in(qtbot, window)
    with qtbot.waitSignal(window.flow.waiting, timeout=10_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    attempt = window.flow.waiting_for
    assert attempt is not None
    with qtbot.waitSignal(window.flow.cancelled, timeout=5_000):
        qtbot.mouseClick(window.connecting_page.cancel_button, Qt.MouseButton.LeftButton)
    assert window.kiosk.screen is Screen.DESKTOPS
    assert attempt.cancelled.is_set()
    assert window.flow.waiting_for is None
    assert not window.flow.busy
    assert len(launches(broker)) == 1


def test_walking_away_while_a_machine_starts_signs_out(qtbot: QtBot, kiosks: Kiosks) -> None:
    """Else the next person could Cancel into the last one's desktop list."""
    broker = lab(lab=1000)
    window = kiosks(broker, idle_sign_out=60.0)
    sign_in(qtbot, window)
    cancel = window.connecting_page.cancel_button
    qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cancel.isVisibleTo(window), timeout=10_000)  # it powers on
    kiosks.clock.now += 59
    window.tick()
    assert window.kiosk.screen is Screen.CONNECTING
    with qtbot.waitSignal(window.signed_out, timeout=1_000) as out:
        kiosks.clock.now += 1
        window.tick()
    assert out.args == ["idle"]
    assert window.kiosk.screen is Screen.SIGN_IN
    assert window.session.current is None
    # Nothing asks again: no countdown, and no attempt left whose launch could start a client.
    assert window.flow.waiting_for is None
    assert not window.flow.busy
    assert window.desktops_page.desktops() == []
    assert not window.connecting_page.cancel_button.isVisibleTo(window)


def test_enter_right_after_sign_in_opens_the_first_desktop(qtbot: QtBot, kiosks: Kiosks) -> None:
    broker = lab()
    window = kiosks(broker)
    window.activateWindow()
    sign_in(qtbot, window)
    page = window.desktops_page
    assert window.focusWidget() is page.view
    assert page.selected() is not None
    assert page.selected().id == "lab"  # type: ignore[union-attr]
    with qtbot.waitSignal(window.flow.opened, timeout=10_000):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Return)
    assert [p for p in broker.paths() if p.endswith("/launch")] == ["/api/v1/desktops/lab/launch"]


def test_log_off_in_the_kiosk_asks_first(qtbot: QtBot, kiosks: Kiosks) -> None:
    broker = held()
    window = kiosks(broker)
    sign_in(qtbot, window, desktops=1)
    desktops = window.desktops_page
    qtbot.mouseClick(desktops.logoff_button, Qt.MouseButton.LeftButton)
    box = desktops.confirm_box
    assert box is not None
    assert box.windowTitle() == "Log off Lab?"
    answer(box, "Cancel")
    assert "/api/v1/sessions/s-lab/logoff" not in broker.paths()
    qtbot.mouseClick(desktops.logoff_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.session.logged_off, timeout=10_000):
        answer(desktops.confirm_box, "Log off")
    assert "/api/v1/sessions/s-lab/logoff" in broker.paths()


def test_a_question_left_open_goes_with_the_idle_sign_out(qtbot: QtBot, kiosks: Kiosks) -> None:
    """The next person never answers the last one's "Log off?"."""
    broker = held()
    window = kiosks(broker, idle_sign_out=60.0)
    sign_in(qtbot, window, desktops=1)
    desktops = window.desktops_page
    qtbot.mouseClick(desktops.logoff_button, Qt.MouseButton.LeftButton)
    box = desktops.confirm_box
    assert box is not None
    assert box.isVisible()
    with qtbot.waitSignal(window.signed_out, timeout=1_000):
        kiosks.clock.now += 60
        window.tick()
    assert desktops.confirm_box is None
    assert not box.isVisible()
    assert "/api/v1/sessions/s-lab/logoff" not in broker.paths()
