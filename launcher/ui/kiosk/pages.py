"""The kiosk's plain pages: waiting for the network, a message (opening, in session,
leaving, with a countdown and Cancel while a machine powers on), the admin PIN."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QKeyEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from launcher.ui.kiosk.parts import centred, detail_label, heading_label, logo_label
from launcher.ui.widgets import Banner


class WaitingPage(QWidget):
    """The broker does not answer: what is wrong, when the next try is, and "Try now"."""

    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = heading_label(self.tr("Waiting for the network"))
        self.detail = detail_label()
        self.countdown = detail_label()
        self.countdown.setAccessibleName(self.tr("Time until the next try"))
        self.retry_button = QPushButton(self.tr("Try now"))
        self.retry_button.setAccessibleName(self.tr("Try to reach the broker now"))
        self.retry_button.setMinimumSize(160, 44)
        self.retry_button.clicked.connect(self.retry_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(centred(logo_label(), self.heading, self.detail, self.countdown, row))

    def set_reason(self, text: str) -> None:
        self.detail.setText(text)

    def set_seconds(self, seconds: int, *, trying: bool) -> None:
        if trying:
            self.countdown.setText(self.tr("Trying now…"))
        elif seconds <= 0:
            self.countdown.setText(self.tr("Trying again shortly."))
        elif seconds == 1:
            self.countdown.setText(self.tr("Trying again in 1 second."))
        else:
            self.countdown.setText(self.tr("Trying again in %d seconds.") % seconds)
        self.retry_button.setEnabled(not trying)


class MessagePage(QWidget):
    """A calm full-screen message: connecting, in session, leaving."""

    cancelled = Signal()

    def __init__(
        self, heading: str, detail: str = "", *, busy: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.heading = heading_label(heading)
        self.detail = detail_label(detail)
        self.countdown = detail_label()
        self.countdown.setAccessibleName(self.tr("Time until Rubicon checks again"))
        self.countdown.hide()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.bar.setVisible(busy)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Stop waiting and go back"))
        self.cancel_button.setMinimumSize(160, 44)
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancelled)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(
            centred(logo_label(), self.heading, self.detail, self.countdown, self.bar, row)
        )

    def set_seconds(self, seconds: int) -> None:
        """While a machine powers on: when Rubicon asks the broker again."""
        if seconds <= 0:
            self.countdown.setText(self.tr("Checking now…"))
        elif seconds == 1:
            self.countdown.setText(self.tr("Checking again in 1 second."))
        else:
            self.countdown.setText(self.tr("Checking again in %d seconds.") % seconds)
        self.countdown.show()


class PinPage(QWidget):
    """The admin's way out: a PIN, checked against the hash in the system config."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = heading_label(self.tr("Administrator"))
        self.detail = detail_label(self.tr("Enter the administrator PIN to leave kiosk mode."))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        self.pin.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), self.pin)
        )
        self.pin.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self.pin.setAccessibleName(self.tr("Administrator PIN"))
        self.pin.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin.setStyleSheet("font-size: 18pt;")
        self.banner = Banner()
        self.ok_button = QPushButton(self.tr("Leave kiosk mode"))
        self.ok_button.setDefault(True)
        self.ok_button.setAccessibleName(self.tr("Leave kiosk mode"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Cancel and go back"))
        for button in (self.ok_button, self.cancel_button):
            button.setMinimumHeight(44)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.ok_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(centred(self.heading, self.detail, self.pin, self.banner, row, width=420))
        self.ok_button.clicked.connect(self._submit)
        self.pin.returnPressed.connect(self._submit)
        self.cancel_button.clicked.connect(self.cancelled)

    def _submit(self) -> None:
        if self.pin.text():
            self.submitted.emit(self.pin.text())

    def set_busy(self, busy: bool) -> None:
        for widget in (self.pin, self.ok_button, self.cancel_button):
            widget.setEnabled(not busy)

    def reset(self) -> None:
        self.pin.clear()
        self.banner.clear_message()
        self.set_busy(False)
        self.pin.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)
