"""Quality of the window itself: accessible names, keyboard order, the dark palette,
sharp icons on high-DPI screens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAccessible, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from launcher.core.doctor import Check, Report, Status
from launcher.core.models import Desktop, DesktopState, Protocol, SessionRef
from launcher.core.trust import Presented
from launcher.ui.about import AboutDialog
from launcher.ui.diagnostics import DiagnosticsDialog
from launcher.ui.mainwindow import MainWindow
from launcher.ui.resources import is_dark, themed_icon
from launcher.ui.settingsdialog import SettingsDialog
from launcher.ui.trustdialog import TrustDialog

SAMPLE = [
    Desktop("eng", "Engineering", (Protocol.VNC,), Protocol.VNC, DesktopState.AVAILABLE),
    Desktop(
        "win",
        "Windows 11",
        (Protocol.RDP, Protocol.VNC),
        Protocol.RDP,
        DesktopState.CONNECTED,
        SessionRef("s1", "active", "win-1"),
        allow_reset=True,
    ),
]


def buddies(root: QWidget) -> set[int]:
    """ids of the widgets a label with text stands for."""
    return {
        id(label.buddy())
        for label in root.findChildren(QLabel)
        if label.buddy() is not None and label.text().replace("&", "").strip()
    }


def internal(widget: QWidget) -> bool:
    """Parts of a composite control, named through their owner."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QComboBox, QAbstractSpinBox, QTabBar)):
            return True
        if isinstance(parent, QAbstractScrollArea) and widget in (
            parent.viewport(),
            parent.horizontalScrollBar(),
            parent.verticalScrollBar(),
        ):
            return True
        parent = parent.parentWidget()
    return False


def unnamed_controls(root: QWidget) -> list[str]:
    labelled = buddies(root)
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or internal(widget):
            continue
        if widget.focusProxy() is not None:
            continue
        own = widget.accessibleName().strip()
        text = widget.text().replace("&", "").strip() if isinstance(widget, QAbstractButton) else ""
        if own or text or id(widget) in labelled:
            accessible = QAccessible.queryAccessibleInterface(widget)
            assert accessible is not None
            assert accessible.text(QAccessible.Text.Name).strip() or id(widget) in labelled
            continue
        missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {type(root).__name__}")
    return missing


def windows(window: MainWindow) -> Iterator[QWidget]:
    """Every window and dialog Rubicon shows, filled in as a user sees them."""
    yield window.sign_in_page
    page = window.desktops_page
    page.set_desktops(SAMPLE)
    page.starting.start("Engineering")
    yield page
    settings = window.show_settings()
    assert settings is not None
    yield settings
    about = window.show_about()
    assert about is not None
    yield about
    yield TrustDialog(Presented("https://b.test:443", "AA:" * 31 + "AA", ""), window)
    report = Report((Check("rubicon", "Rubicon", Status.OK, "fine."),))
    diagnostics = DiagnosticsDialog(lambda: report, lambda path, r: None, parent=window)
    diagnostics.show_report(report)
    yield diagnostics
    yield page.confirm("reset", SAMPLE[1])


def test_every_control_has_an_accessible_name(window: MainWindow) -> None:
    window.sign_in_page.set_domain_shown(True)
    window.sign_in_page.ask_otp("Enter the code.")
    problems: list[str] = []
    for shown in windows(window):
        problems += unnamed_controls(shown)
    assert problems == []


def test_a_settings_control_without_a_name_would_be_caught(window: MainWindow) -> None:
    from PySide6.QtWidgets import QLineEdit

    dialog = window.show_settings()
    assert dialog is not None
    QLineEdit(dialog)
    assert unnamed_controls(dialog) == ["QLineEdit '' in SettingsDialog"]


def focus_chain(qtbot: QtBot, start: QWidget, count: int) -> list[QWidget]:
    start.setFocus(Qt.FocusReason.TabFocusReason)
    seen = [start]
    for _ in range(count - 1):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())  # type: ignore[arg-type]
    return seen


def test_the_sign_in_page_tabs_in_reading_order(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    page = window.sign_in_page
    page.set_domain_shown(True)
    chain = focus_chain(qtbot, page.server, 11)
    assert chain == [
        page.server,
        page.servers_button,
        page.username,
        page.password,
        page.domain,
        page.remember,
        page.button,
        page.settings_button,
        page.help_button,
        page.about_button,
        chain[-1],
    ]
    assert chain[-1] in (page.server, page.server_box)  # and round again


def test_the_desktops_page_tabs_from_search_to_connect(qtbot: QtBot, window: MainWindow) -> None:
    window.stack.setCurrentWidget(window.desktops_page)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    page = window.desktops_page
    page.set_desktops(SAMPLE)
    page.select("win")  # a session: Log off is enabled
    chain = focus_chain(qtbot, page.search, 13)
    # Exclusive groups (All/Favourites/Recent, tiles/list) take one Tab stop, their
    # checked button; the arrow keys move inside them.
    assert chain == [
        page.search,
        page.all_button,
        page.tiles_button,
        page.view,
        page.more_button,
        page.logoff_button,
        page.connect_button,
        page.refresh_button,  # Cancel of the power-on panel is hidden
        page.settings_button,
        page.help_button,
        page.about_button,
        page.sign_out_button,
        page.search,
    ]
    page.all_button.setFocus()
    qtbot.keyClick(page.all_button, Qt.Key.Key_Right)
    assert QApplication.focusWidget() is page.favourites_button
    qtbot.keyClick(page.favourites_button, Qt.Key.Key_Space)
    assert page.favourites_button.isChecked()


def test_enter_on_a_tile_connects_and_ctrl_f_finds(qtbot: QtBot, window: MainWindow) -> None:
    window.stack.setCurrentWidget(window.desktops_page)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    page = window.desktops_page
    page.set_desktops(SAMPLE)
    page.view.setFocus()
    with qtbot.waitSignal(page.connect_requested, timeout=2_000) as requested:
        qtbot.keyClick(page.view, Qt.Key.Key_Return)
    assert requested.args[0].id == "eng"
    qtbot.keyClick(page.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is page.search


@pytest.fixture
def dark() -> Iterator[QPalette]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#1f2227"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#2a2e35"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.Button, "#2f333a"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"),
        (QPalette.ColorRole.PlaceholderText, "#9aa0a6"),
        (QPalette.ColorRole.Mid, "#4a4f57"),
        (QPalette.ColorRole.Highlight, "#3d7bd9"),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    yield palette
    app.setPalette(before)


def test_the_dark_palette_is_followed(qtbot: QtBot, window: MainWindow, dark: QPalette) -> None:
    page = window.desktops_page
    window.stack.setCurrentWidget(page)
    page.set_desktops(SAMPLE)
    page.banner.show_message("Engineering is open in its own window.", kind="info")
    assert is_dark(page.palette())
    assert "#12283d" in page.banner.styleSheet()  # the dark banner, not the light one
    image = window.grab().toImage()
    corner = image.pixelColor(3, image.height() // 2)
    assert corner.lightness() < 80  # the window background is dark
    # A line icon is drawn in the palette's text colour: light on dark.
    icon = themed_icon("search", dark).pixmap(QSize(24, 24)).toImage()
    inked = [
        icon.pixelColor(x, y)
        for x in range(24)
        for y in range(24)
        if icon.pixelColor(x, y).alpha() > 200
    ]
    assert inked
    assert min(c.lightness() for c in inked) > 150


def test_icons_are_drawn_sharp_at_any_pixel_ratio(qtbot: QtBot, window: MainWindow) -> None:
    icon = themed_icon("settings")
    small = icon.pixmap(QSize(20, 20), 1.0)
    large = icon.pixmap(QSize(20, 20), 3.0)
    assert (small.width(), large.width()) == (20, 60)  # drawn at 60 px, not scaled up
    assert large.devicePixelRatio() == 3.0
    assert QGuiApplication.platformName() == "offscreen"


def test_every_dialog_is_a_real_window(window: MainWindow) -> None:
    for shown in windows(window):
        if isinstance(shown, (SettingsDialog, AboutDialog, TrustDialog, DiagnosticsDialog)):
            assert shown.windowTitle()
            assert shown.accessibleName() or shown.windowTitle()
        if isinstance(shown, QWidget) and shown.isWindow() and shown is not window:
            shown.close()
