"""What the sign-in form says before and after it asks the broker: a wrong password
said once, a bad address, plain HTTP refused, and no keychain warning for nothing."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from pytestqt.qtbot import QtBot

from launcher.core.broker import PlainHttpRefused
from launcher.core.settings import Layers, SystemConfig
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import WindowFactory, sign_in, submit
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


class Lookups:
    """Names the launcher asked to resolve; ``broker.example.com`` leads to loopback."""

    NAME = "broker.example.com"

    def __init__(self) -> None:
        self.names: list[str] = []


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    """A broker on another host, by name, that is the live broker on loopback:
    the name resolves to 127.0.0.1, so nothing leaves this computer, and every
    lookup is noted, so a test sees whether a connection was even tried."""
    seen = Lookups()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == Lookups.NAME:
            seen.names.append(host)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen


def elsewhere(broker: LiveBroker) -> str:
    """The live broker's plain-HTTP address under a name that is not loopback's."""
    return broker.url.replace("127.0.0.1", Lookups.NAME)


def test_plain_http_to_another_host_is_refused_before_the_password_leaves(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker, lookups: Lookups
) -> None:
    page = window.sign_in_page
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000) as failed:
        submit(qtbot, page, elsewhere(broker))
    assert isinstance(failed.args[0], PlainHttpRefused)
    assert lookups.names == []  # no connection was even tried
    shown = page.banner.text()
    assert shown.startswith(
        "Rubicon will not send your password to broker.example.com over plain HTTP"
    )
    assert "https://" in shown  # what to do
    assert "administrator" in shown
    assert window.stack.currentWidget() is page
    assert page.button.isEnabled()


def test_plain_http_to_a_host_the_admin_allowed_signs_in(
    qtbot: QtBot,
    make_window: WindowFactory,
    broker: LiveBroker,
    lookups: Lookups,
    viewer: fake_client.FakeClient,
    tmp_path: Path,
) -> None:
    system = SystemConfig.from_mapping({"plain_http_hosts": ["Broker.Example.com"]})
    window = make_window(viewer.path, settings=Layers(tmp_path / "settings.json", system=system))
    sign_in(qtbot, window, elsewhere(broker))
    assert lookups.names  # it went there, and signed in


def test_a_user_cannot_allow_plain_http_for_themselves(
    qtbot: QtBot,
    make_window: WindowFactory,
    broker: LiveBroker,
    lookups: Lookups,
    viewer: fake_client.FakeClient,
    tmp_path: Path,
) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text('{"plain_http_hosts": ["broker.example.com"]}')
    # [defaults] are a start the user may change: not where the admin allows this.
    system = SystemConfig.from_mapping({"defaults": {"plain_http_hosts": ["broker.example.com"]}})
    window = make_window(viewer.path, settings=Layers(settings, system=system))
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000) as failed:
        submit(qtbot, window.sign_in_page, elsewhere(broker))
    assert isinstance(failed.args[0], PlainHttpRefused)
    assert lookups.names == []


def test_plain_http_to_this_computer_still_signs_in(
    qtbot: QtBot, window: MainWindow, broker: LiveBroker
) -> None:
    assert broker.url.startswith("http://127.0.0.1:")
    sign_in(qtbot, window, broker.url)  # loopback needs nobody's permission
