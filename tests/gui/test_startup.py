"""What the window builds after its first frame, or when first needed, still works.

The window is on screen sooner because it builds only the sign-in page with
itself: the desktops page, the session controller (broker client, launch
machinery), the launch preferences and the certificate pins come when first
needed; the log file, the window icon, the keychain and a link wait for the
first frame (``FirstFrame``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from launcher.core import trust
from launcher.core.models import DesktopState
from launcher.core.protocols import vnc
from launcher.core.settings import Layers, SystemConfig, UserSettings
from launcher.ui.desktops import DesktopsPage
from launcher.ui.firstframe import FirstFrame
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory, sign_in, submit
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker


def sign_in_and_connect(qtbot: QtBot, window: MainWindow, url: str) -> None:
    """Sign in, then Connect to the one desktop listed, until its client has started."""
    sign_in(qtbot, window, url)
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        qtbot.mouseClick(window.desktops_page.connect_button, Qt.MouseButton.LeftButton)


def test_the_desktops_page_is_built_at_sign_in_and_works(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, viewer: fake_client.FakeClient
) -> None:
    assert window.findChild(DesktopsPage) is None  # not with the window
    assert window.stack.count() == 1
    assert window.stack.currentWidget() is window.sign_in_page

    sign_in(qtbot, window, broker.url)

    page = window.desktops_page
    assert window.findChildren(DesktopsPage) == [page]  # built once
    assert window.stack.currentWidget() is page
    assert page.user_label.text() == "Signed in as Ann"
    [desktop] = page.model.desktops()
    assert desktop.state is DesktopState.AVAILABLE
    with qtbot.waitSignal(window.client_started, timeout=10_000):
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
    assert viewer.recorded()["stdin"] == vnc.obfuscate_password("vncpass1")

    window.sign_out()
    assert window.stack.currentWidget() is window.sign_in_page
    sign_in(qtbot, window, broker.url)  # and again, on the same page
    assert window.findChildren(DesktopsPage) == [page]
    window.stop_clients()


def test_a_desktops_page_built_late_shows_the_view_the_settings_say(
    qtbot: QtBot, make_window: WindowFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    layers = Layers(tmp_path / "settings.json", system=SystemConfig.from_mapping({"view": "list"}))
    window = make_window(viewer.path, settings=layers)
    sign_in(qtbot, window, broker.url)
    page = window.desktops_page
    assert page.list_button.isChecked()
    assert not page.tiles_button.isEnabled()  # the admin locked the view
    assert not page.list_button.isEnabled()


def test_without_preferences_the_window_launches_with_the_settings_clients(
    qtbot: QtBot, make_window: WindowFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    viewer = fake_client.make(tmp_path / "chosen", hang=True)
    layers = Layers(
        tmp_path / "settings.json", user=UserSettings(clients={"vncviewer": str(viewer.path)})
    )
    # What app.py hands it: settings, no preferences (they are made when first needed).
    window = make_window(tmp_path / "not-this-one", preferences=None, settings=layers)
    sign_in_and_connect(qtbot, window, broker.url)
    assert viewer.recorded()["argv"][0] == str(viewer.path)
    window.stop_clients()


def test_a_client_chosen_before_the_first_sign_in_is_the_one_launched(
    qtbot: QtBot, make_window: WindowFactory, broker: LiveBroker, tmp_path: Path
) -> None:
    viewer = fake_client.make(tmp_path / "chosen", hang=True)
    window = make_window(
        tmp_path / "not-this-one", preferences=None, settings=Layers(tmp_path / "s.json")
    )
    dialog = window.show_settings()  # before anything was made for a launch
    assert dialog is not None
    dialog.client_paths["vncviewer"].setText(str(viewer.path))
    with qtbot.waitSignal(window.settings_saved, timeout=5_000):
        dialog.ok_button.click()
    sign_in_and_connect(qtbot, window, broker.url)
    assert viewer.recorded()["argv"][0] == str(viewer.path)
    window.stop_clients()


def test_pins_in_the_pins_path_are_read_and_written_when_needed(
    qtbot: QtBot,
    make_window: WindowFactory,
    tls_broker: LiveBroker,
    tmp_path: Path,
) -> None:
    pins_path = tmp_path / "profile" / "pins.json"
    viewer = fake_client.make(tmp_path / "bin", hang=True)
    window = make_window(viewer.path, pins_path=pins_path)
    assert not pins_path.exists()
    submit(qtbot, window.sign_in_page, tls_broker.url)
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)
    assert window.trust_dialog is not None
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        window.trust_dialog.accept()
    assert trust.PinStore(pins_path).get(trust.origin(tls_broker.url)) is not None


def test_first_frame_is_painted_then_settled_each_once(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    frame = FirstFrame(widget)
    seen: list[str] = []
    frame.painted.connect(lambda: seen.append("painted"))
    frame.settled.connect(lambda: seen.append("settled"))
    with qtbot.waitSignal(frame.settled, timeout=10_000):
        pass
    assert seen == ["painted", "settled"]
    assert frame.is_painted
    widget.update()
    qtbot.wait(50)
    assert seen == ["painted", "settled"]  # not again


def test_deferred_work_is_not_put_off_forever_for_a_window_not_on_screen(
    qtbot: QtBot,
) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.winId()  # a native window that is never shown, so never exposed
    frame = FirstFrame(widget, at_latest_ms=0)
    seen: list[str] = []
    frame.painted.connect(lambda: seen.append("painted"))
    frame.settled.connect(lambda: seen.append("settled"))
    with qtbot.waitSignal(frame.settled, timeout=10_000):
        pass
    assert seen == ["settled"]
    assert not frame.is_painted


def test_the_sign_in_pages_qt_values_given_by_name_took(qtbot: QtBot, window: MainWindow) -> None:
    """The page sets them with setProperty("name", "Key"), which fails quietly on a typo."""
    page = window.sign_in_page
    centred = [label for label in page.findChildren(QLabel) if label.text() == "Rubicon"]
    assert [label.alignment() for label in centred] == [Qt.AlignmentFlag.AlignCenter]
    logo = [label for label in page.findChildren(QLabel) if not label.pixmap().isNull()]
    assert [label.alignment() for label in logo] == [Qt.AlignmentFlag.AlignCenter]
    assert page.otp.inputMethodHints() == Qt.InputMethodHint.ImhDigitsOnly
    assert page.banner.textInteractionFlags() == Qt.TextInteractionFlag.TextSelectableByMouse
