from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from launcher.ui.mainwindow import MainWindow, Options
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker, Machine, live_broker

USERS = {"ann": "ann-password", "bob": "bob-password"}


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
def viewer(tmp_path: Path) -> fake_client.FakeClient:
    return fake_client.make(tmp_path / "viewer", hang=True)


def make_window(qtbot: QtBot, viewer_path: Path) -> MainWindow:
    window = MainWindow(Options(clients={"vnc": str(viewer_path)}))
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def window(qtbot: QtBot, viewer: fake_client.FakeClient) -> Iterator[MainWindow]:
    win = make_window(qtbot, viewer.path)
    yield win
    win.stop_clients()
