"""Sign-in: one-time code, lockout, remember me, domain, caps lock, the broker list,
and a window that keeps running while the broker is slow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from broker_stub.auth import totp
from broker_stub.db.models import User
from launcher.core.settings import Layers, SystemConfig
from launcher.ui.mainwindow import MainWindow
from launcher.ui.signin import SignInPage
from tests.gui.conftest import USERS, WindowFactory
from tests.helpers.fake_broker import FakeBroker, desktop
from tests.helpers.live_broker import LiveBroker
from tests.helpers.memory_keyring import MemoryKeyring, memory_keyring

PASSWORD = "ann-password"


def fake(**extra: object) -> FakeBroker:
    return FakeBroker(
        desktops=[desktop("lab", "vnc"), desktop("win", "rdp", name="Windows 11")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        **extra,  # type: ignore[arg-type]
    )


def with_broker(
    make_window: WindowFactory, broker: FakeBroker, tmp: Path, **options: object
) -> MainWindow:
    make_window.client_factory = lambda url: broker.client(url)
    return make_window(tmp / "vncviewer", **options)


def fill(window: MainWindow, user: str = "ann", password: str = PASSWORD) -> None:
    page = window.sign_in_page
    page.server.setText("https://broker.test")
    page.username.setText(user)
    page.password.setText(password)


@pytest.fixture
def keychain() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


def test_the_code_field_appears_when_the_broker_asks(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = fake(otp={"ann": "123456"})
    window = with_broker(make_window, broker, tmp_path)
    page = window.sign_in_page
    assert not page.otp_requested
    fill(window)
    with qtbot.waitSignal(window.otp_requested, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert page.otp_requested
    assert page.otp.hasFocus() or QApplication.focusWidget() is None  # offscreen: no focus
    assert "one-time code" in page.banner.text()
    assert page.banner.kind_shown == "info"
    assert page.password.text() == PASSWORD  # kept for the second try

    page.otp.setText("12")
    qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert page.banner.text() == "Enter the 6-digit code your authenticator app shows."

    page.otp.setText("654 321")
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert "wrong, too old, or was already used" in page.banner.text()
    assert page.otp_requested

    page.otp.setText("123-456")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    logins = [r.body for r in broker.requests if r.path == "/api/v1/auth/login"]
    assert [body.get("otp") for body in logins] == [None, "654321", "123456"]
    assert not page.otp_requested  # reset for the next sign-in
    assert page.otp.text() == ""


def test_totp_with_the_live_broker(qtbot: QtBot, window: MainWindow, broker: LiveBroker) -> None:
    engine = create_engine(broker.database_url)
    with Session(engine) as db:
        user = db.scalar(select(User).where(User.username == "ann"))
        assert user is not None
        secret = totp.enrol(db, user)
    engine.dispose()
    page = window.sign_in_page
    page.server.setText(broker.url)
    page.username.setText("ann")
    page.password.setText(USERS["ann"])
    with qtbot.waitSignal(window.otp_requested, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    page.otp.setText(pyotp.TOTP(secret).now())
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("account_locked", "locked for now. Try again in 5 minutes"),
        ("too_many_attempts", "network address. Try again in 5 minutes"),
        ("directory_unavailable", "cannot reach the user directory"),
    ],
)
def test_lockouts_and_a_down_directory_are_said_inline(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, code: str, words: str
) -> None:
    status = 503 if code == "directory_unavailable" else 429
    window = with_broker(make_window, fake(refuse_login=(status, code, 300)), tmp_path)
    fill(window)
    page = window.sign_in_page
    with qtbot.waitSignal(window.sign_in_failed, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert words in page.banner.text()
    assert page.banner.kind_shown == "error"
    assert page.button.isEnabled()


def test_remember_me_keeps_the_password_in_the_keychain_only(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path, keychain: MemoryKeyring
) -> None:
    settings_path = tmp_path / "settings.json"
    broker = fake()
    window = with_broker(make_window, broker, tmp_path, settings=Layers(settings_path))
    fill(window)
    window.sign_in_page.remember.setChecked(True)
    with qtbot.waitSignal(window.credentials_stored, timeout=10_000) as stored:
        qtbot.mouseClick(window.sign_in_page.button, Qt.MouseButton.LeftButton)
    assert stored.args == [True]
    assert keychain.entries == {("rubicon:https://broker.test", "ann"): PASSWORD}
    assert PASSWORD not in settings_path.read_text()
    assert Layers(settings_path).effective().remember_password

    # The next start: the password comes back from the keychain, off the GUI thread.
    again = with_broker(make_window, broker, tmp_path, settings=Layers(settings_path))
    again.sign_in_page.prefill(server="https://broker.test", username="ann")
    with qtbot.waitSignal(again.password_recalled, timeout=10_000) as recalled:
        again.recall_password()
    assert recalled.args == [True]
    assert again.sign_in_page.password.text() == PASSWORD
    assert again.sign_in_page.remember.isChecked()

    # Unticked: forgotten.
    again.sign_in_page.remember.setChecked(False)
    with qtbot.waitSignal(again.credentials_stored, timeout=10_000) as forgotten:
        qtbot.mouseClick(again.sign_in_page.button, Qt.MouseButton.LeftButton)
    assert forgotten.args == [False]
    assert keychain.entries == {}


def test_without_a_keychain_remember_me_says_so_and_signs_in(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        window = with_broker(make_window, fake(), tmp_path)
        fill(window)
        window.sign_in_page.remember.setChecked(True)
        with qtbot.waitSignal(window.credentials_stored, timeout=10_000) as stored:
            qtbot.mouseClick(window.sign_in_page.button, Qt.MouseButton.LeftButton)
    finally:
        keyring.set_keyring(previous)
    assert stored.args == [False]
    assert window.stack.currentWidget() is window.desktops_page
    assert "could not save your password" in window.desktops_page.banner.text()
    assert window.desktops_page.banner.kind_shown == "warn"


def test_the_domain_goes_before_the_username(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    broker = fake(users={"CORP\\ann": PASSWORD})
    settings_path = tmp_path / "settings.json"
    layers = Layers(settings_path, system=SystemConfig.from_mapping({"show_domain": True}))
    window = with_broker(make_window, broker, tmp_path, settings=layers)
    page = window.sign_in_page
    assert not page.domain.isHidden()
    fill(window)
    page.domain.setText("CORP")
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert broker.requests[0].body["username"] == "CORP\\ann"
    saved = Layers(settings_path).effective()
    assert (saved.domain, saved.last_username) == ("CORP", "ann")


def test_the_domain_field_is_hidden_by_default(window: MainWindow) -> None:
    assert window.sign_in_page.domain.isHidden()


def test_the_page_made_for_a_kiosk_with_a_fixed_broker(qtbot: QtBot) -> None:
    page = SignInPage(fixed_server="https://broker.test", kiosk=True)
    qtbot.addWidget(page)
    page.show()
    assert page.server.text() == "https://broker.test"
    assert page.server.isReadOnly()
    for widget in (page.server_box, page.servers_button, page.remember):
        assert not widget.isVisibleTo(page)
    for button in (page.settings_button, page.help_button, page.about_button):
        assert not button.isVisibleTo(page)
    assert not page.remember.isChecked()
    plain = SignInPage()
    qtbot.addWidget(plain)
    plain.show()
    for widget in (plain.server_box, plain.remember, plain.settings_button, plain.help_button):
        assert widget.isVisibleTo(plain)


def press(widget: object, key: Qt.Key, text: str, shift: bool = False) -> None:
    modifiers = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key, modifiers, text))  # type: ignore[arg-type]


def test_caps_lock_hint_follows_what_the_keys_type(window: MainWindow) -> None:
    page = window.sign_in_page
    password = page.password
    assert not page.caps_lock_shown
    press(password, Qt.Key.Key_A, "A")  # upper case without Shift
    assert page.caps_lock_shown
    press(password, Qt.Key.Key_1, "1")  # says nothing: the hint stays
    assert page.caps_lock_shown
    press(password, Qt.Key.Key_B, "b")
    assert not page.caps_lock_shown
    press(password, Qt.Key.Key_C, "c", shift=True)  # lower case with Shift
    assert page.caps_lock_shown
    assert password.text() == "A1bc"


def test_the_broker_list_add_edit_remove_and_last_used_first(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    settings_path = tmp_path / "settings.json"
    window = with_broker(make_window, fake(), tmp_path, settings=Layers(settings_path))
    page = window.sign_in_page
    assert page.add_server("one.example.com")
    assert page.add_server("two.example.com:8443")
    assert page.servers() == ["https://two.example.com:8443", "https://one.example.com"]
    assert not page.add_server("ftp://nope")
    assert "not a broker address" in page.banner.text()
    assert page.edit_server("https://one.example.com", "uno.example.com")
    assert page.servers() == ["https://two.example.com:8443", "https://uno.example.com"]
    page.server.setText("https://two.example.com:8443")
    page.remove_current_server()
    assert page.servers() == ["https://uno.example.com"]
    assert page.server_box.count() == 1
    assert Layers(settings_path).effective().servers == ["https://uno.example.com"]

    # Signing in puts the broker used first.
    fill(window)
    with qtbot.waitSignal(window.desktops_shown, timeout=10_000):
        qtbot.mouseClick(page.button, Qt.MouseButton.LeftButton)
    assert Layers(settings_path).effective().servers == [
        "https://broker.test",
        "https://uno.example.com",
    ]

    # The add dialog is a real, non-blocking dialog.
    window.sign_out()
    page.add_action.trigger()
    dialog = page.server_dialog
    assert dialog is not None
    dialog.setTextValue("three.example.com")
    dialog.accept()
    assert page.servers()[0] == "https://three.example.com"


def test_a_broker_list_locked_by_the_admin(make_window: WindowFactory, tmp_path: Path) -> None:
    system = SystemConfig.from_mapping({"servers": ["https://vdi.example.com"]})
    window = with_broker(
        make_window, fake(), tmp_path, settings=Layers(tmp_path / "s.json", system=system)
    )
    page = window.sign_in_page
    assert page.servers() == ["https://vdi.example.com"]
    assert not page.servers_button.isEnabled()
    assert not page.add_server("mine.example.com")
    assert page.servers() == ["https://vdi.example.com"]


def test_the_window_keeps_running_while_the_broker_is_slow(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = with_broker(make_window, fake(delay=3.0), tmp_path)
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(lambda: ticks.append(1))
    fill(window)
    timer.start()
    with qtbot.waitSignal(window.desktops_shown, timeout=20_000):
        qtbot.mouseClick(window.sign_in_page.button, Qt.MouseButton.LeftButton)
        assert not window.sign_in_page.button.isEnabled()  # busy, not frozen
    timer.stop()
    # Two answers of 3 s each (sign-in, list): a frozen loop would tick a handful of times.
    assert len(ticks) >= 40
    assert window.desktops_page.model.rowCount() == 2
