"""What the sign-in form says before and after it asks the broker: a wrong password
said once, a bad address, plain HTTP refused, and no keychain warning for nothing."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import submit
from tests.helpers.live_broker import LiveBroker


def test_a_wrong_password_is_said_once(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker
) -> None:
    page = window.sign_in_page
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        submit(qtbot, page, broker.url, password="not-her-password")
    shown = page.banner.text()
    assert shown == "The username or password is wrong. Check both and try again."
    assert shown.lower().count("try again") == 1
    assert shown.lower().count("check") == 1


def test_a_server_that_is_no_address_is_said_to_be_none(qtbot: QtBot, window: MainWindow) -> None:
    page = window.sign_in_page
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        submit(qtbot, page, "ht!tp:/bad url")
    shown = page.banner.text()
    assert shown.startswith("“ht!tp:/bad url” is not a valid address.")
    assert "Cannot reach" not in shown
    assert page.button.isEnabled()
