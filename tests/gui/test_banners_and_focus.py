"""Old messages go when what they were about is over (issue 10 #11); the first desktop takes
the keyboard after sign-in (#15). The broker is replayed in-process."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from launcher.core.launching import Preferences
from launcher.core.settings import Layers
from launcher.core.startup import request
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop

URL = "https://broker.test"


def make(
    make_window: WindowFactory, broker: FakeBroker, tmp_path: Path
) -> tuple[MainWindow, fake_client.FakeClient]:
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    make_window.client_factory = lambda url: broker.client(url)
    window = make_window(
        viewer.path,
        preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
        settings=Layers(tmp_path / "settings.json"),
    )
    return window, viewer


def two() -> FakeBroker:
    return FakeBroker(
        desktops=[desktop("lab", "vnc"), desktop("art", "vnc", name="Art studio")],
        connections={
            pool: {"protocol": "vnc", "host": "10.0.0.5", "port": 5901} for pool in ("lab", "art")
        },
    )


def fill(window: MainWindow, password: str) -> None:
    page = window.sign_in_page
    page.server.setText(URL)
    page.username.setText("ann")
    page.password.setText(password)


def test_a_link_handed_over_clears_the_old_error(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, two(), tmp_path)
    page = window.sign_in_page
    fill(window, "wrong")
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert page.banner.kind_shown == "error"

    # A second start hands over a link: the old error is about another attempt.
    window.open_request(request("rubicon://broker.test/lab?user=bob"))
    assert page.banner.kind_shown is None
    assert page.username.text() == "bob"


def test_a_link_handed_over_while_signed_in_clears_the_list_s_old_error(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, two(), tmp_path)
    page = window.sign_in_page
    fill(window, "ann-password")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    window.open_request(request("rubicon://broker.test/nothing-here"))
    banner = window.desktops_page.banner
    assert banner.text().startswith("There is no desktop “nothing-here” for you")
    # A link to the same broker alone: nothing new to say, and the old error is over.
    window.open_request(request("rubicon://broker.test"))
    assert banner.kind_shown is None
    assert window.stack.currentWidget() is window.desktops_page


def test_removing_a_broker_clears_what_was_said_about_it(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window, _ = make(make_window, two(), tmp_path)
    page = window.sign_in_page
    assert page.add_server("gone.example.com")
    page.server.setText("https://gone.example.com")
    page.show_error("Cannot reach the broker at https://gone.example.com.")
    page.remove_current_server()
    assert page.banner.kind_shown is None


def test_enter_right_after_sign_in_opens_the_first_desktop(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = two()
    window, _ = make(make_window, broker, tmp_path)
    window.activateWindow()
    page = window.sign_in_page
    fill(window, "ann-password")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.keyClick(page.password, Qt.Key.Key_Return)
    desktops = window.desktops_page
    assert window.focusWidget() is desktops.view
    first = desktops.selected()
    assert first is not None
    with qtbot.waitSignal(window.client_started, timeout=10_000) as started:
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Return)
    assert started.args[0].desktop.id == first.id
    window.stop_clients()
