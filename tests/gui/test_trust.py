"""Signing in to a broker with its own certificate: ask once, pin, refuse a change."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from broker_stub import tls
from launcher.core import trust
from tests.gui.conftest import WindowFactory, submit
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker


@pytest.fixture
def pins(tmp_path: Path, make_window: WindowFactory) -> trust.PinStore:
    store = trust.PinStore(tmp_path / "pins.json")
    make_window.pins = store
    return store


def test_first_use_shows_the_fingerprint_and_pins_on_yes(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
    viewer: fake_client.FakeClient,
) -> None:
    window = make_window(viewer.path)
    submit(qtbot, window.sign_in_page, tls_broker.url)
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)
    dialog = window.trust_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.fingerprint.text().replace("\n", "") == certificate.fingerprint
    assert dialog.cancel_button.isDefault()
    assert "does not trust" in window.sign_in_page.banner.text()

    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    pin = trust.PinStore(pins.path).get(trust.origin(tls_broker.url))
    assert pin is not None
    assert pin.fingerprint == certificate.fingerprint
    assert window.stack.currentWidget() is window.desktops_page


def test_cancel_pins_nothing_and_stays_signed_out(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    viewer: fake_client.FakeClient,
) -> None:
    window = make_window(viewer.path)
    submit(qtbot, window.sign_in_page, tls_broker.url)
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)
    assert window.trust_dialog is not None
    qtbot.mouseClick(window.trust_dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not pins.path.exists()
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.sign_in_page.button.isEnabled()


def test_a_changed_certificate_is_refused_without_a_question(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
    tmp_path: Path,
    viewer: fake_client.FakeClient,
) -> None:
    old = tls.create(tmp_path / "old", ["broker.test"])
    pins.pin(trust.origin(tls_broker.url), pem=old.cert.read_text())
    window = make_window(viewer.path)
    page = window.sign_in_page
    submit(qtbot, page, tls_broker.url)
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    assert "presented a different certificate" in page.banner.text()
    assert certificate.fingerprint in page.banner.text()
    assert window.trust_dialog is None
    pin = trust.PinStore(pins.path).get(trust.origin(tls_broker.url))
    assert pin is not None
    assert pin.fingerprint == old.fingerprint  # the old pin stays


def test_enter_in_the_question_does_not_trust(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    viewer: fake_client.FakeClient,
) -> None:
    window = make_window(viewer.path)
    submit(qtbot, window.sign_in_page, tls_broker.url)
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)
    dialog = window.trust_dialog
    assert dialog is not None
    with qtbot.waitSignal(dialog.rejected, timeout=5_000):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert not pins.path.exists()


def test_the_question_points_at_the_fingerprint_where_it_is(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLabel

    from launcher.ui.trustdialog import TrustDialog

    dialog = TrustDialog(
        trust.Presented("https://broker.test:8443", ":".join(["AB"] * 32), ""), parent=None
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    (ask,) = [label for label in dialog.findChildren(QLabel) if "Compare" in label.text()]
    assert "below" in ask.text()
    assert ask.geometry().bottom() < dialog.fingerprint.geometry().top()
