"""The sign-in page: server, username, password."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from launcher.ui.resources import icon
from launcher.ui.widgets import Banner


class SignInPage(QWidget):
    """Emits ``submitted(server, username, password)``; shows busy and errors."""

    submitted = Signal(str, str, str)
    help_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        logo = QLabel()
        logo.setPixmap(icon("rubicon").pixmap(72, 72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(self.tr("Rubicon"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 22pt; font-weight: 600;")
        subtitle = QLabel(self.tr("Sign in to reach your desktops"))
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setStyleSheet("color: palette(placeholder-text);")

        self.server = QLineEdit()
        self.server.setPlaceholderText("https://broker.example.com")
        self.server.setAccessibleName(self.tr("Broker address"))
        self.username = QLineEdit()
        self.username.setAccessibleName(self.tr("Username"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Password"))
        self.banner = Banner()
        self.button = QPushButton(self.tr("Sign in"))
        self.button.setDefault(True)
        self.button.setAccessibleName(self.tr("Sign in"))
        self.button.setMinimumHeight(34)
        self.help_button = QPushButton(self.tr("Help"))
        self.help_button.setFlat(True)
        self.help_button.setAccessibleName(self.tr("Help and diagnostics"))
        self.help_button.setToolTip(self.tr("Check this computer and the broker (F1)"))

        form = QFormLayout()
        form.addRow(self.tr("&Server"), self.server)
        form.addRow(self.tr("&Username"), self.username)
        form.addRow(self.tr("&Password"), self.password)

        card = QWidget()
        card.setFixedWidth(380)
        inner = QVBoxLayout(card)
        inner.setSpacing(12)
        inner.addWidget(logo)
        inner.addWidget(title)
        inner.addWidget(subtitle)
        inner.addSpacing(8)
        inner.addLayout(form)
        inner.addWidget(self.banner)
        inner.addWidget(self.button)
        inner.addWidget(self.help_button, 0, Qt.AlignmentFlag.AlignHCenter)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

        self.button.clicked.connect(self.submit)
        self.help_button.clicked.connect(self.help_requested)
        for field in (self.server, self.username, self.password):
            field.returnPressed.connect(self.submit)

    def prefill(self, *, server: str, username: str) -> None:
        self.server.setText(server)
        self.username.setText(username)
        self.focus_first_empty()

    def focus_first_empty(self) -> None:
        for field in (self.server, self.username, self.password):
            if not field.text():
                field.setFocus()
                return
        self.password.setFocus()

    def set_busy(self, busy: bool) -> None:
        for widget in (self.server, self.username, self.password, self.button):
            widget.setEnabled(not busy)
        self.button.setText(self.tr("Signing in…") if busy else self.tr("Sign in"))

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        self.banner.show_message(text)
        self.password.selectAll()
        self.password.setFocus()

    def reset(self) -> None:
        """Back to a fresh form: the password is never kept."""
        self.password.clear()
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
        self.banner.clear_message()
        self.set_busy(True)
        self.submitted.emit(server, username, password)
