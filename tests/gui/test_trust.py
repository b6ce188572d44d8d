"""Signing in to a broker with its own certificate: ask once, pin, refuse a change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument, QTextDocumentFragment
from pytestqt.qtbot import QtBot

from broker_stub import cli, tls
from broker_stub.settings import TLS_CERT_FILE, TLS_KEY_FILE
from launcher.core import trust
from launcher.core.settings import Layers, SystemConfig
from launcher.ui.mainwindow import MainWindow
from tests.gui.conftest import USERS, WindowFactory, sign_in, submit
from tests.helpers import fake_client
from tests.helpers.live_broker import LiveBroker, Machine, live_broker

POOLS: dict[str, Sequence[Machine]] = {"engineering": [Machine("eng-1", port=5901)]}


@pytest.fixture
def pins(tmp_path: Path, make_window: WindowFactory) -> trust.PinStore:
    store = trust.PinStore(tmp_path / "pins.json")
    make_window.pins = store
    return store


Asked = Callable[..., MainWindow]


@pytest.fixture
def ask(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    viewer: fake_client.FakeClient,
) -> Asked:
    """Opens a window (keyword arguments go to its Options) and signs in to a broker it
    has never met. The window, once it asks whether to trust the certificate."""

    def asked(**options: Any) -> MainWindow:
        window = make_window(viewer.path, **options)
        submit(qtbot, window.sign_in_page, tls_broker.url)
        qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)
        return window

    return asked


def test_first_use_shows_the_fingerprint_and_pins_on_yes(
    qtbot: QtBot,
    ask: Asked,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
) -> None:
    window = ask()
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
    qtbot: QtBot, ask: Asked, pins: trust.PinStore
) -> None:
    window = ask()
    assert window.trust_dialog is not None
    qtbot.mouseClick(window.trust_dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not pins.path.exists()
    assert window.stack.currentWidget() is window.sign_in_page
    assert window.sign_in_page.button.isEnabled()


def test_a_changed_certificate_is_refused_without_a_question(
    qtbot: QtBot,
    refuse: Refused,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
) -> None:
    window, old = refuse()
    page = window.sign_in_page
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10_000)
    said = page.banner.accessibleDescription()
    assert "presented a different certificate" in said
    assert certificate.fingerprint in said
    assert old.fingerprint in said
    assert window.trust_dialog is None  # nothing is asked until the user asks
    assert window.stack.currentWidget() is page
    pin = trust.PinStore(pins.path).get(trust.origin(tls_broker.url))
    assert pin is not None
    assert pin.fingerprint == old.fingerprint  # the old pin stays


def test_enter_in_the_question_does_not_trust(
    qtbot: QtBot, ask: Asked, pins: trust.PinStore
) -> None:
    window = ask()
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


# -- a certificate that changed (issue 10 #6) --------------------------------------


Refused = Callable[..., tuple[MainWindow, tls.Certificate]]


@pytest.fixture
def refuse(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    tmp_path: Path,
    viewer: fake_client.FakeClient,
) -> Refused:
    """Pins an old certificate for the broker, opens a window (keyword arguments go to
    its Options) and signs in: refused. The window, and the old certificate."""

    def refused(**options: Any) -> tuple[MainWindow, tls.Certificate]:
        old = tls.create(tmp_path / "old", ["broker.test"])
        pins.pin(trust.origin(tls_broker.url), pem=old.cert.read_text())
        window = make_window(viewer.path, **options)
        with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
            submit(qtbot, window.sign_in_page, tls_broker.url)
        return window, old

    return refused


def test_the_whole_message_shows_both_fingerprints_and_fits(
    qtbot: QtBot,
    refuse: Refused,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
) -> None:
    window, old = refuse()
    banner = window.sign_in_page.banner
    qtbot.waitUntil(banner.isVisible)
    shown = QTextDocumentFragment.fromHtml(banner.text()).toPlainText()
    assert "Rubicon will not connect." in shown
    assert shown.rstrip().endswith("you can trust the new certificate.")  # to its end
    for fingerprint in (old.fingerprint, certificate.fingerprint):
        first, second = fingerprint[:48], fingerprint[48:]  # two rows of 16 pairs
        assert f"{first}\n{second}" in shown
    # Nothing cut off: once laid out, the box is as tall as its text needs at its width.
    qtbot.waitUntil(lambda: banner.height() >= banner.heightForWidth(banner.width()))
    # ... and no row of a fingerprint is wider than the box (a row cannot wrap).
    document = QTextDocument()
    document.setDefaultFont(banner.font())
    document.setHtml(banner.text())
    margins = banner.contentsMargins()
    document.setTextWidth(banner.width() - margins.left() - margins.right())
    assert document.idealWidth() <= document.textWidth()
    assert window.sign_in_page.trust_new_button.isVisible()


def test_trusting_the_new_certificate_takes_a_confirmation(
    qtbot: QtBot,
    refuse: Refused,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    certificate: tls.Certificate,
) -> None:
    window, old = refuse()
    page = window.sign_in_page
    qtbot.mouseClick(page.trust_new_button, Qt.MouseButton.LeftButton)
    dialog = window.trust_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.windowTitle() == "Trust the new certificate?"
    assert dialog.old_fingerprint is not None
    assert dialog.old_fingerprint.accessibleDescription() == old.fingerprint
    assert dialog.fingerprint.accessibleDescription() == certificate.fingerprint
    assert not dialog.trust_button.isEnabled()  # not before the user confirms
    assert dialog.cancel_button.isDefault()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter cancels, never trusts
    assert not dialog.isVisible()
    kept = trust.PinStore(pins.path).get(trust.origin(tls_broker.url))
    assert kept is not None
    assert kept.fingerprint == old.fingerprint

    qtbot.mouseClick(page.trust_new_button, Qt.MouseButton.LeftButton)
    dialog = window.trust_dialog
    assert dialog is not None
    assert dialog.confirm is not None
    qtbot.waitExposed(dialog)
    dialog.confirm.setChecked(True)
    assert dialog.trust_button.isEnabled()
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    pin = trust.PinStore(pins.path).get(trust.origin(tls_broker.url))
    assert pin is not None
    assert pin.fingerprint == certificate.fingerprint


def test_an_admin_can_forbid_trusting_a_new_certificate(refuse: Refused, tmp_path: Path) -> None:
    system = SystemConfig.from_mapping({"trust_new_certificates": False})
    window, _ = refuse(settings=Layers(tmp_path / "settings.json", system=system))
    page = window.sign_in_page
    assert not page.trust_new_button.isVisible()
    assert "only they can make Rubicon trust the new certificate" in page.banner.text()
    window._trust_new_certificate()  # even asked directly, nothing opens
    assert window.trust_dialog is None
    settings = window.show_settings()
    assert settings is not None
    assert not settings.trust_new.isEnabled()  # read-only: locked by the admin
    settings.reject()


def test_a_non_interactive_run_ends_with_both_fingerprints(
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
    window = make_window(viewer.path, interactive=False)
    with qtbot.waitSignal(window.run_finished, timeout=10_000) as finished:
        submit(qtbot, window.sign_in_page, tls_broker.url)
    code, message = finished.args
    assert code == 3
    assert f"Trusted before: {old.fingerprint}." in message
    assert f"Presented now: {certificate.fingerprint}." in message


def test_removing_a_broker_from_the_list_removes_its_pin(
    qtbot: QtBot,
    ask: Asked,
    pins: trust.PinStore,
    tls_broker: LiveBroker,
    tmp_path: Path,
) -> None:
    window = ask(settings=Layers(tmp_path / "settings.json"))
    assert window.trust_dialog is not None
    with qtbot.waitSignal(window.desktops_shown, timeout=15_000):
        qtbot.mouseClick(window.trust_dialog.trust_button, Qt.MouseButton.LeftButton)
    origin = trust.origin(tls_broker.url)
    assert trust.PinStore(pins.path).get(origin) is not None
    window.sign_out()

    page = window.sign_in_page
    assert page.add_server("other.example.com")  # a second broker stays, pin or not
    page.server.setText(tls_broker.url)
    page.remove_current_server()

    assert tls_broker.url not in page.servers()
    assert trust.PinStore(pins.path).get(origin) is None
    # The next time, it is a broker met for the first time: asked about again.
    submit(qtbot, page, tls_broker.url)
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=10_000)


def test_the_offer_to_trust_goes_when_the_address_changes(
    qtbot: QtBot, refuse: Refused, pins: trust.PinStore, tls_broker: LiveBroker, tmp_path: Path
) -> None:
    """It speaks of the broker refused: not of another typed in, nor after a removal."""
    window, _ = refuse(settings=Layers(tmp_path / "settings.json"))
    page = window.sign_in_page
    assert page.trust_new_button.isVisible()
    page.server.setText("https://other.example.com")
    assert not page.trust_new_button.isVisible()

    page.server.setText(tls_broker.url)
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        page.submit()
    assert page.trust_new_button.isVisible()
    assert page.add_server("other.example.com")
    page.server.setText(tls_broker.url)
    page.add_server(tls_broker.url)
    page.remove_current_server()
    assert not page.trust_new_button.isVisible()
    assert trust.PinStore(pins.path).get(trust.origin(tls_broker.url)) is None


def test_a_planned_rotation_asks_no_one_who_learnt_it_and_shows_the_others_both(
    qtbot: QtBot,
    make_window: WindowFactory,
    pins: trust.PinStore,
    tmp_path: Path,
    viewer: fake_client.FakeClient,
) -> None:
    """init, pin; init --next and a restart (announced); one launcher signs in and learns
    it, another is away; init --rotate and a restart on the same port: the first signs
    in without a question, the other is refused with both fingerprints."""
    where = tmp_path / "tls"
    served = (where / TLS_CERT_FILE, where / TLS_KEY_FILE)
    assert cli.main(["init", "--dir", str(where), "--hostname", "broker.test"]) == 0
    current = tls.load(*served)
    learnt = make_window(viewer.path)
    with live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=served) as live:
        url, port = live.url, int(live.url.rsplit(":", 1)[1])
        submit(qtbot, learnt.sign_in_page, url)  # first use: the fingerprint, and a yes
        qtbot.waitUntil(lambda: learnt.trust_dialog is not None, timeout=10_000)
        assert learnt.trust_dialog is not None
        with qtbot.waitSignal(learnt.desktops_shown, timeout=15_000):
            qtbot.mouseClick(learnt.trust_dialog.trust_button, Qt.MouseButton.LeftButton)
        learnt.sign_out()
    first_use = learnt.trust_dialog
    origin = trust.origin(url)
    away = trust.PinStore(tmp_path / "away-pins.json")  # pinned it, then was away
    away.pin(origin, pem=current.cert.read_text())

    assert cli.main(["init", "--dir", str(where), "--next", "--hostname", "broker.test"]) == 0
    upcoming = tls.load(tls.next_path(served[0]), tls.next_path(served[1]))
    with live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=served, port=port):
        sign_in(qtbot, learnt, url)  # the broker announces the next certificate
        learnt.sign_out()
    pin = trust.PinStore(pins.path).get(origin)
    assert pin is not None
    assert (pin.fingerprint, pin.next_fingerprint) == (current.fingerprint, upcoming.fingerprint)

    assert cli.main(["init", "--dir", str(where), "--rotate"]) == 0
    make_window.pins = away
    other = make_window(viewer.path, settings_path=tmp_path / "away-settings.json")
    with live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=served, port=port):
        sign_in(qtbot, learnt, url)
        with qtbot.waitSignal(other.sign_in_failed, timeout=10_000):
            submit(qtbot, other.sign_in_page, url)
    assert learnt.trust_dialog is first_use  # no question since the first one
    assert not learnt.sign_in_page.trust_new_button.isVisible()
    pin = trust.PinStore(pins.path).get(origin)
    assert pin is not None
    assert (pin.fingerprint, pin.next_fingerprint) == (upcoming.fingerprint, "")

    page = other.sign_in_page
    said = page.banner.accessibleDescription()
    assert f"Trusted before: {current.fingerprint}." in said
    assert f"Presented now: {upcoming.fingerprint}." in said
    assert page.trust_new_button.isVisible()
    assert other.trust_dialog is None
    kept = trust.PinStore(away.path).get(origin)
    assert kept is not None
    assert kept.fingerprint == current.fingerprint  # nothing trusted without a yes
