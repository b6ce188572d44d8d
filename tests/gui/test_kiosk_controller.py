"""The session controller the kiosk and the main window share: event order."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from launcher.core.broker import BrokerClient
from launcher.core.launching import OpenedDesktop, Preferences
from launcher.core.models import Desktop, DesktopState, Protocol
from launcher.core.supervisor import ClientExit
from launcher.ui.controller import SessionController


class StubClient:
    pid = 4242
    name = "VNC viewer"

    def running(self) -> bool:
        return False

    def stop(self, *, timeout: float = 5.0) -> None:
        pass


def never(url: str) -> BrokerClient:
    raise AssertionError(f"no broker in this test ({url})")


def test_news_from_a_client_that_overtakes_its_launch_is_kept_until_it_lands(
    qtbot: QtBot,
) -> None:
    """The watcher thread's "connected" and "exited" may reach the GUI thread
    before the launch task's result (another thread); neither may be lost."""
    controller = SessionController(Preferences(), client_factory=never, single_sign_on=False)
    desktop = Desktop("lab", "Lab", (Protocol.VNC,), Protocol.VNC, DesktopState.AVAILABLE)
    opened = OpenedDesktop(desktop, "s-1", client=StubClient())  # type: ignore[arg-type]
    events: list[tuple[Any, ...]] = []
    controller.client_started.connect(lambda o: events.append(("started", o)))
    controller.client_connected.connect(lambda o: events.append(("connected", o)))
    controller.client_exited.connect(lambda o, r: events.append(("exited", r)))
    ended = ClientExit(0, None, (), connected=True)

    controller._launching.add("lab")  # as connect_desktop does before its task runs
    controller._client_connected("lab")
    controller._client_exited("lab", ended)
    assert events == []
    controller._started(opened)
    assert events == [("started", opened), ("connected", opened), ("exited", ended)]
    assert not controller.is_open("lab")
    assert controller._early == {}
