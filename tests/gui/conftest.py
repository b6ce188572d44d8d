from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from broker_stub import tls
from launcher.core import trust
from launcher.core.broker import BrokerClient
from launcher.core.launching import Preferences
from launcher.ui.mainwindow import MainWindow, Options
from launcher.ui.signin import SignInPage
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker, Machine, live_broker

USERS = {"ann": "ann-password", "bob": "bob-password"}


def submit(qtbot: QtBot, page: SignInPage, url: str, *, password: str | None = None) -> None:
    """Fill the sign-in page in for ann (her password unless ``password``) and click Sign in."""
    page.server.setText(url)
    page.username.setText("ann")
    page.password.setText(USERS["ann"] if password is None else password)
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


def answer(box: QMessageBox | None, label: str) -> None:
    """Click the button ``label`` of a question the window asked (``ui.widgets.ask``)."""
    assert box is not None, "no question was asked"
    [button] = [b for b in box.buttons() if b.text() == label]
    button.click()


def sign_in(qtbot: QtBot, window: MainWindow, url: str) -> None:
    """Sign ann in, until the window shows her desktops."""
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        submit(qtbot, window.sign_in_page, url)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LiveBroker]:
    """One pool, one machine: enough to meet 'nothing free'."""
    with live_broker(
        tmp_path / "broker",
        pools={"engineering": [Machine("eng-1", port=5901, password="vncpass1")]},
        users=USERS,
    ) as live:
        yield live


@pytest.fixture
def certificate(tmp_path: Path) -> tls.Certificate:
    return tls.create(tmp_path / "tls", ["broker.test"])


@pytest.fixture
def tls_broker(tmp_path: Path, certificate: tls.Certificate) -> Iterator[LiveBroker]:
    """A broker with its own certificate, which no CA vouches for: the window asks."""
    with live_broker(
        tmp_path / "broker",
        pools={"engineering": [Machine("eng-1", port=5901)]},
        users=USERS,
        tls=(certificate.cert, certificate.key),
    ) as live:
        yield live


@pytest.fixture
def viewer(tmp_path: Path) -> fake_client.FakeClient:
    return fake_client.make(tmp_path / "viewer", hang=True)


class WindowFactory:
    """Makes launcher windows and closes every one at teardown.

    qtbot only holds a weak reference; a window collected without being
    closed would leave its broker connection open.
    """

    def __init__(self, qtbot: QtBot) -> None:
        self._qtbot = qtbot
        self._windows: list[MainWindow] = []
        self.client_factory: Callable[[str], BrokerClient] | None = None
        self.pins: trust.PinStore | None = None

    def __call__(self, viewer_path: Path, **options: Any) -> MainWindow:
        """A window whose VNC viewer is ``viewer_path``; ``options`` go to :class:`Options`.

        Settings and logs default to files beside the viewer, never the user's own.
        """
        options.setdefault("preferences", Preferences(clients={"vnc": str(viewer_path)}))
        options.setdefault("settings_path", viewer_path.parent / "settings.json")
        options.setdefault("log_dir", viewer_path.parent / "logs")
        window = MainWindow(Options(**options), client_factory=self.client_factory, pins=self.pins)
        # pytest-qt closes it first (at teardown, before the fixtures): as SIGTERM would.
        self._qtbot.addWidget(window, before_close_func=self._shut_down)
        window.show()
        self._windows.append(window)
        return window

    def _shut_down(self, window: MainWindow) -> None:
        """Close without a question: desktops left open are disconnected. Wait until the
        clients are stopped and the broker told (off the GUI thread), so that nothing of
        this test is still at work in the next one."""
        window.shutdown()
        self._qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)

    def close_all(self) -> None:
        for window in self._windows:
            if shiboken6.isValid(window):  # pytest-qt deleted those it closed
                self._shut_down(window)


@pytest.fixture
def make_window(qtbot: QtBot) -> Iterator[WindowFactory]:
    factory = WindowFactory(qtbot)
    yield factory
    factory.close_all()


@pytest.fixture
def window(make_window: WindowFactory, viewer: fake_client.FakeClient) -> MainWindow:
    return make_window(viewer.path)
