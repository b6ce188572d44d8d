"""The sign-in page: broker (from the user's list), username, password, domain, code.

It emits intents and renders what the window tells it; it never talks to
the broker. ``submitted(server, account, password)`` carries the account
name with the domain put in (``DOMAIN\\user``); :meth:`otp` and
:attr:`remember` say the rest. The one-time code field appears only when
the broker asked for one (:meth:`ask_otp`). The kiosk's sign-in is this
page made with ``kiosk=True`` (and ``fixed_server``, the admin's broker).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from launcher.core.signin import account_name, caps_lock_from_key, clean_otp
from launcher.ui import coretext
from launcher.ui.deferred import servers  # loads the broker client: only when the list is edited
from launcher.ui.resources import logo_pixmap, themed_icon
from launcher.ui.widgets import Banner, ask

if TYPE_CHECKING:
    from PySide6.QtWidgets import QInputDialog, QMessageBox


class _Card(QWidget):
    """The form's column: fixed in width, and as tall as its wrapped texts need at it.

    Qt does not carry a word-wrapped label's height for a width up to the
    window's minimum size, so a long message (a changed certificate with both
    fingerprints, a translation) was cut off: the card says its height itself.
    """

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            layout = self.layout()
            # Without a wrapped text shown (the message went) the layout's own
            # minimum holds again, so the window can shrink back.
            wrapped = layout is not None and layout.hasHeightForWidth()
            self.setMinimumHeight(layout.heightForWidth(self.width()) if layout and wrapped else 0)
        return super().event(event)


class SignInPage(QWidget):
    """Emits ``submitted(server, account, password)``; shows busy, errors and prompts."""

    submitted = Signal(str, str, str)
    help_requested = Signal()
    settings_requested = Signal()
    about_requested = Signal()
    servers_changed = Signal(list)  # the user's list after an add, edit or remove
    server_chosen = Signal(str)  # another broker picked from the list
    trust_new_requested = Signal()  # "Trust the new certificate…" after it changed

    def __init__(
        self, parent: QWidget | None = None, *, fixed_server: str = "", kiosk: bool = False
    ) -> None:
        """``fixed_server``: the admin's broker, filled in and its row hidden.
        ``kiosk``: nothing kept or opened from here (no remember me, no settings,
        help or about)."""
        super().__init__(parent)
        self._servers: list[str] = []
        self._servers_locked = False
        self._caps_lock: bool | None = None
        self.server_dialog: QInputDialog | None = None
        self.remove_box: QMessageBox | None = None  # "Remove …?" while it is asked

        # This page is the window's first frame. It names the few Qt enum values
        # it needs (setProperty takes an enum's key as text): the first use of
        # ``Qt.`` makes PySide build all ~90 enum types of the Qt namespace,
        # which would cost that frame 10 to 20 ms.
        logo = QLabel()
        logo.setPixmap(logo_pixmap())
        logo.setProperty("alignment", "AlignCenter")
        title = QLabel(self.tr("Rubicon"))
        title.setProperty("alignment", "AlignCenter")
        title.setStyleSheet("font-size: 22pt; font-weight: 600;")
        subtitle = QLabel(self.tr("Sign in to reach your desktops"))
        subtitle.setProperty("alignment", "AlignCenter")
        subtitle.setStyleSheet("color: palette(placeholder-text);")

        # The broker: an editable list; self.server is its text field.
        self.server_box = QComboBox()
        self.server_box.setEditable(True)
        self.server_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.server_box.setAccessibleName(self.tr("Broker address"))
        self.server_box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        line = self.server_box.lineEdit()
        assert line is not None
        self.server: QLineEdit = line
        self.server.setPlaceholderText("https://broker.example.com")
        self.server.setAccessibleName(self.tr("Broker address"))
        self.servers_button = QToolButton()
        self.servers_button.setIcon(themed_icon("more"))
        self.servers_button.setToolTip(self.tr("Add, edit or remove brokers"))
        self.servers_button.setAccessibleName(self.tr("Manage brokers"))
        self.servers_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.servers_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.servers_menu = QMenu(self.servers_button)
        self.add_action = self.servers_menu.addAction(themed_icon("add"), self.tr("Add a broker…"))
        self.edit_action = self.servers_menu.addAction(
            themed_icon("edit"), self.tr("Edit this address…")
        )
        self.remove_action = self.servers_menu.addAction(
            themed_icon("remove"), self.tr("Remove from the list")
        )
        self.servers_button.setMenu(self.servers_menu)
        server_row = QHBoxLayout()
        server_row.setContentsMargins(0, 0, 0, 0)
        server_row.addWidget(self.server_box, 1)
        server_row.addWidget(self.servers_button)

        self.username = QLineEdit()
        self.username.setAccessibleName(self.tr("Username"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Password"))
        self.caps_hint = QLabel(self.tr("Caps Lock is on"))
        self.caps_hint.setAccessibleName(self.tr("Caps Lock is on"))
        self.caps_hint.setStyleSheet("color: #b26a00; font-weight: 600;")
        self.caps_hint.hide()
        self.domain = QLineEdit()
        self.domain.setPlaceholderText(self.tr("optional, e.g. CORP"))
        self.domain.setAccessibleName(self.tr("Domain"))
        self.otp = QLineEdit()
        self.otp.setAccessibleName(self.tr("One-time code"))
        self.otp.setPlaceholderText(self.tr("6-digit code from your authenticator app"))
        self.otp.setMaxLength(12)
        self.otp.setProperty("inputMethodHints", "ImhDigitsOnly")
        self.remember = QCheckBox(self.tr("&Remember my password"))
        self.remember.setAccessibleName(self.tr("Remember my password"))
        self.remember.setToolTip(
            self.tr("Keep the password in this computer's keychain, never in a file")
        )
        self.banner = Banner()
        # Shown with the message about a broker whose certificate changed, where allowed.
        self.trust_new_button = QPushButton(self.tr("Trust the new certificate…"))
        self.trust_new_button.setAccessibleName(self.tr("Trust the broker's new certificate"))
        self.trust_new_button.hide()
        self.button = QPushButton(self.tr("Sign in"))
        self.button.setDefault(True)
        self.button.setAccessibleName(self.tr("Sign in"))
        self.button.setMinimumHeight(34)
        self.settings_button = QPushButton(self.tr("Settings"))
        self.settings_button.setFlat(True)
        self.settings_button.setAccessibleName(self.tr("Settings"))
        self.help_button = QPushButton(self.tr("Help"))
        self.help_button.setFlat(True)
        self.help_button.setAccessibleName(self.tr("Help and diagnostics"))
        self.help_button.setToolTip(self.tr("Check this computer and the broker (F1)"))
        self.about_button = QPushButton(self.tr("About"))
        self.about_button.setFlat(True)
        self.about_button.setAccessibleName(self.tr("About Rubicon"))

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow(self._label(self.tr("&Server"), self.server_box), server_row)
        self.form.addRow(self._label(self.tr("&Username"), self.username), self.username)
        self.form.addRow(self._label(self.tr("&Password"), self.password), self.password)
        self.form.addRow("", self.caps_hint)
        self.domain_label = self._label(self.tr("&Domain"), self.domain)
        self.form.addRow(self.domain_label, self.domain)
        self.otp_label = self._label(self.tr("One-time &code"), self.otp)
        self.form.addRow(self.otp_label, self.otp)
        self.form.addRow("", self.remember)
        self.form.setRowVisible(self.caps_hint, False)
        self.form.setRowVisible(self.domain, False)
        self.form.setRowVisible(self.otp, False)

        links = QHBoxLayout()
        links.addStretch(1)
        links.addWidget(self.settings_button)
        links.addWidget(self.help_button)
        links.addWidget(self.about_button)
        links.addStretch(1)

        card = _Card()
        card.setFixedWidth(400)
        inner = QVBoxLayout(card)
        inner.setSpacing(12)
        inner.addWidget(logo)
        inner.addWidget(title)
        inner.addWidget(subtitle)
        inner.addSpacing(8)
        inner.addLayout(self.form)
        inner.addWidget(self.banner)
        inner.addWidget(self.trust_new_button)
        inner.addWidget(self.button)
        inner.addLayout(links)

        # Centred by stretches on both sides (not Qt.AlignmentFlag.AlignHCenter).
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(card)
        centred.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(centred)
        outer.addStretch(2)

        self.setTabOrder(self.server, self.servers_button)
        self.setTabOrder(self.servers_button, self.username)
        self.setTabOrder(self.username, self.password)
        self.setTabOrder(self.password, self.domain)
        self.setTabOrder(self.domain, self.otp)
        self.setTabOrder(self.otp, self.remember)
        self.setTabOrder(self.remember, self.trust_new_button)
        self.setTabOrder(self.trust_new_button, self.button)
        self.setTabOrder(self.button, self.settings_button)
        self.setTabOrder(self.settings_button, self.help_button)
        self.setTabOrder(self.help_button, self.about_button)

        self.button.clicked.connect(self.submit)
        self.trust_new_button.clicked.connect(self.trust_new_requested)
        # The button speaks of the broker whose certificate changed: not of another
        # one typed, picked, edited or left after a removal.
        self.server.textChanged.connect(self.trust_new_button.hide)
        self.help_button.clicked.connect(self.help_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.about_button.clicked.connect(self.about_requested)
        for field in (self.server, self.username, self.password, self.domain, self.otp):
            field.returnPressed.connect(self.submit)
        self.server_box.activated.connect(self._picked)
        self.add_action.triggered.connect(lambda: self._ask_address(None))
        self.edit_action.triggered.connect(lambda: self._ask_address(self.server.text()))
        self.remove_action.triggered.connect(self.ask_to_remove_server)
        self.servers_menu.aboutToShow.connect(self._update_server_actions)
        self.password.installEventFilter(self)
        if kiosk:
            for button in (self.settings_button, self.help_button, self.about_button):
                button.hide()
            self.remember.setChecked(False)
            self.form.setRowVisible(self.remember, False)
            self.remember.hide()
        if fixed_server:
            self.server.setText(fixed_server)
            self.server.setReadOnly(True)
            self.form.setRowVisible(server_row, False)

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    # -- the broker list -------------------------------------------------------

    def set_servers(self, addresses: list[str], *, locked: bool = False) -> None:
        """Fill the list; ``locked``: the admin fixed it, no add/edit/remove."""
        self._servers = list(addresses)
        self._servers_locked = locked
        text = self.server.text()
        self.server_box.blockSignals(True)
        self.server_box.clear()
        self.server_box.addItems(self._servers)
        self.server_box.setCurrentIndex(-1)
        self.server_box.blockSignals(False)
        self.server.setText(text)
        self.servers_button.setEnabled(not locked)
        self.servers_button.setToolTip(
            self.tr("Your administrator set the brokers")
            if locked
            else self.tr("Add, edit or remove brokers")
        )
        self.server.setReadOnly(locked and bool(addresses))

    def servers(self) -> list[str]:
        return list(self._servers)

    def _picked(self, row: int) -> None:
        if 0 <= row < len(self._servers):
            self.server.setText(self._servers[row])
            self.server_chosen.emit(self._servers[row])

    def _update_server_actions(self) -> None:
        known = self.server.text().strip() in self._servers
        self.edit_action.setEnabled(known)
        self.remove_action.setEnabled(known)

    def _ask_address(self, current: str | None) -> None:
        from PySide6.QtWidgets import QInputDialog

        dialog = QInputDialog(self)
        dialog.setWindowTitle(self.tr("Edit broker") if current else self.tr("Add a broker"))
        dialog.setLabelText(self.tr("Broker address, for example broker.example.com:"))
        dialog.setTextValue(current or "")
        dialog.setAccessibleName(dialog.windowTitle())
        dialog.textValueSelected.connect(
            lambda text: self.edit_server(current, text) if current else self.add_server(text)
        )
        dialog.finished.connect(dialog.deleteLater)
        self.server_dialog = dialog
        dialog.open()

    def add_server(self, address: str) -> bool:
        return self._change_servers(lambda: servers.add(self._servers, address))

    def edit_server(self, old: str | None, address: str) -> bool:
        if old is None:
            return self.add_server(address)
        return self._change_servers(lambda: servers.replace(self._servers, old, address))

    def remove_current_server(self) -> None:
        current = self.server.text().strip()
        if current not in self._servers or self._servers_locked:
            return
        updated = servers.remove(self._servers, current)
        self.server.clear()
        self.set_servers(updated)
        self.server.setText(updated[0] if updated else "")
        self.servers_changed.emit(updated)

    def ask_to_remove_server(self) -> QMessageBox | None:
        """Ask before "Remove from the list": the broker's trusted certificate goes too."""
        current = self.server.text().strip()
        if current not in self._servers or self._servers_locked:
            return None
        from PySide6.QtWidgets import QMessageBox

        def answered(answer: str | None) -> None:
            self.remove_box = None
            if answer == "remove" and self.server.text().strip() == current:
                self.remove_current_server()

        self.remove_box = ask(
            self,
            title=self.tr("Remove %s?") % current,
            text=self.tr("Remove %s from your list of brokers?") % current,
            detail=self.tr(
                "Rubicon also forgets the certificate it trusted for it. You can add it again."
            ),
            choices=[("remove", self.tr("Remove"), QMessageBox.ButtonRole.DestructiveRole)],
            default=None,
            on_answer=answered,
        )
        return self.remove_box

    def _change_servers(self, change: Callable[[], list[str]]) -> bool:
        if self._servers_locked:
            return False
        try:
            updated = change()
        except ValueError as e:
            self.banner.show_message(coretext.of_error(e))
            return False
        self.banner.clear_message()
        self.set_servers(updated)
        self.server.setText(updated[0])
        self.servers_changed.emit(updated)
        return True

    # -- the form --------------------------------------------------------------

    def prefill(self, *, server: str, username: str) -> None:
        self.server.setText(server)
        self.username.setText(username)
        self.focus_first_empty()

    def set_domain_shown(self, shown: bool, domain: str = "") -> None:
        self.form.setRowVisible(self.domain, shown or bool(domain))
        if domain and not self.domain.text():
            self.domain.setText(domain)

    def focus_first_empty(self) -> None:
        for field in (self.server, self.username, self.password):
            if not field.text():
                field.setFocus()
                return
        if self.otp_requested:
            self.otp.setFocus()
            return
        self.password.setFocus()

    @property
    def otp_requested(self) -> bool:
        return not self.otp.isHidden()

    def otp_code(self) -> str | None:
        """The code typed, cleaned; None when none is asked for or typed."""
        if not self.otp_requested or not self.otp.text().strip():
            return None
        return clean_otp(self.otp.text())

    def ask_otp(self, message: str) -> None:
        """The broker wants a one-time code: show the field and say so."""
        self.set_busy(False)
        self.form.setRowVisible(self.otp, True)
        self.otp.clear()
        self.banner.show_message(message, kind="info")
        self.otp.setFocus()

    def set_busy(self, busy: bool) -> None:
        for widget in (
            self.server_box,
            self.servers_button,
            self.username,
            self.password,
            self.domain,
            self.otp,
            self.remember,
            self.button,
        ):
            widget.setEnabled(not busy)
        if not busy and self._servers_locked:
            self.servers_button.setEnabled(False)
        self.button.setText(self.tr("Signing in…") if busy else self.tr("Sign in"))

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        self.trust_new_button.hide()
        self.banner.show_message(text)
        if self.otp_requested:
            self.otp.selectAll()
            self.otp.setFocus()
            return
        self.password.selectAll()
        self.password.setFocus()

    def show_certificate_changed(
        self, *, origin: str, pinned: str, presented: str, can_trust: bool
    ) -> None:
        """The broker's certificate is not the one trusted before: both fingerprints, in
        full, and "Trust the new certificate…" where ``can_trust`` (the settings allow it)."""
        self.set_busy(False)
        said = (
            self.tr(
                "The broker at %s presented a different certificate from the one you trusted "
                "before. Someone may be intercepting the connection, or the certificate was "
                "replaced. Rubicon will not connect."
            )
            % origin
        )
        if can_trust:
            advice = self.tr(
                "Ask your administrator whether it changed. If the new fingerprint is the "
                "one they give you, you can trust the new certificate."
            )
        else:
            advice = self.tr(
                "Ask your administrator whether it changed: on this computer, only they can "
                "make Rubicon trust the new certificate."
            )
        before, now = self.tr("Trusted before:"), self.tr("Presented now:")
        # The fingerprints in two rows each, so that the box never cuts them (or what
        # follows) off; selectable, to paste and compare.
        self.banner.show_message(
            f"<p>{escape(said)}</p>"
            f"<p>{escape(before)}<br><tt>{_rows(pinned)}</tt></p>"
            f"<p>{escape(now)}<br><tt>{_rows(presented)}</tt></p>"
            f"<p>{escape(advice)}</p>"
        )
        self.banner.setAccessibleDescription(
            f"{said} {before} {pinned}. {now} {presented}. {advice}"
        )
        self.trust_new_button.setVisible(can_trust)

    def reset(self) -> None:
        """Back to a fresh form: the password and the code are never kept."""
        self.password.clear()
        self.otp.clear()
        self.form.setRowVisible(self.otp, False)
        self.trust_new_button.hide()
        self.banner.clear_message()
        self.set_busy(False)
        self.focus_first_empty()

    def submit(self) -> None:
        server = self.server.text().strip()
        username = self.username.text().strip()
        password = self.password.text()
        missing = [
            name
            for name, value in (
                (self.tr("server"), server),
                (self.tr("username"), username),
                (self.tr("password"), password),
            )
            if not value
        ]
        if missing:
            listed = (
                ", ".join(missing[:-1]) + self.tr(" and ") + missing[-1]
                if len(missing) > 1
                else missing[0]
            )
            self.banner.show_message(self.tr("Enter your %s.") % listed)
            self.focus_first_empty()
            return
        if self.otp_requested:
            try:
                clean_otp(self.otp.text())
            except ValueError:
                self.banner.show_message(
                    self.tr("Enter the 6-digit code your authenticator app shows.")
                )
                self.otp.setFocus()
                return
        self.banner.clear_message()
        self.trust_new_button.hide()
        self.set_busy(True)
        self.submitted.emit(server, account_name(username, self.domain.text()), password)

    # -- caps lock -------------------------------------------------------------

    @property
    def caps_lock_shown(self) -> bool:
        return not self.caps_hint.isHidden()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.password:
            if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                from PySide6.QtCore import Qt  # here: see the comment in __init__

                shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                state = caps_lock_from_key(event.text(), shift)
                if state is not None:
                    self._caps_lock = state
                self._show_caps_hint(bool(self._caps_lock))
            elif event.type() == QEvent.Type.FocusOut:
                self._show_caps_hint(False)
            elif event.type() == QEvent.Type.FocusIn:
                self._show_caps_hint(bool(self._caps_lock))
        return super().eventFilter(watched, event)

    def _show_caps_hint(self, shown: bool) -> None:
        if shown != self.caps_lock_shown:
            self.form.setRowVisible(self.caps_hint, shown)


def _rows(fingerprint: str) -> str:
    """A fingerprint as two rows of 16 pairs, for rich text."""
    pairs = [escape(p) for p in fingerprint.split(":")]
    half = len(pairs) // 2
    return ":".join(pairs[:half]) + ":<br>" + ":".join(pairs[half:])
