"""A rubicon:// link while signed in: the same broker however the link writes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from launcher.core import startup
from launcher.core.launching import Preferences
from launcher.core.settings import Layers
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop

URL = "https://broker.example.com"


def signed_in(qtbot: QtBot, make_window: WindowFactory, tmp_path: Path) -> MainWindow:
    broker = FakeBroker(
        desktops=[desktop("engineering", "vnc"), desktop("lab", "vnc", name="Teaching lab")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
    )
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    make_window.client_factory = lambda url: broker.client(url)
    window = make_window(
        viewer.path,
        preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
        settings=Layers(tmp_path / "settings.json"),
    )
    page = window.sign_in_page
    page.server.setText(URL)
    page.username.setText("ann")
    page.password.setText("ann-password")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    return window


@pytest.mark.parametrize(
    "link",
    [
        "rubicon://broker.example.com:443/lab",
        "rubicon://BROKER.Example.com/lab",
    ],
)
def test_a_link_to_the_broker_signed_in_to_opens_its_desktop(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, link: str
) -> None:
    window = signed_in(qtbot, make_window, tmp_path)
    with qtbot.waitSignal(window.client_started, timeout=15_000) as started:
        window.open_request(startup.request(link))
    assert started.args[0].desktop.id == "lab"
    assert "The link is for the broker" not in window.desktops_page.banner.text()
    window.stop_clients()


def test_a_link_handed_over_by_a_second_start_compares_the_same_way(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = signed_in(qtbot, make_window, tmp_path)
    handed = startup.decode(startup.encode(startup.request("rubicon://broker.example.com:443/lab")))
    with qtbot.waitSignal(window.client_started, timeout=15_000):
        window.open_request(handed)
    window.stop_clients()


def test_a_link_to_another_port_is_another_broker(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = signed_in(qtbot, make_window, tmp_path)
    window.open_request(startup.request("rubicon://broker.example.com:8443/lab"))
    banner = window.desktops_page.banner.text()
    assert banner.startswith("The link is for the broker https://broker.example.com:8443")
    assert not window.session.opened()
