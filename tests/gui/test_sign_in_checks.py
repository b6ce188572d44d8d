"""What the sign-in form says before and after it asks the broker: a wrong password
said once, a bad address, plain HTTP refused, and no keychain warning for nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from pytestqt.qtbot import QtBot

from launcher.core.settings import Layers
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory, submit
from tests.helpers import fake_client
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


def test_no_keychain_and_no_remember_warns_about_nothing(
    qtbot: QtBot,
    make_window: WindowFactory,
    broker: LiveBroker,
    viewer: fake_client.FakeClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window = make_window(viewer.path, settings=Layers(tmp_path / "settings.json"))
    assert not window.sign_in_page.remember.isChecked()
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # this computer has no keychain at all
    try:
        with (
            caplog.at_level(logging.INFO, logger="rubicon"),
            qtbot.waitSignal(window.credentials_stored, timeout=10_000) as stored,
        ):
            submit(qtbot, window.sign_in_page, broker.url)
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.desktops_page)
    finally:
        keyring.set_keyring(previous)
    assert stored.args == [False]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    assert window.desktops_page.banner.kind_shown != "warn"
