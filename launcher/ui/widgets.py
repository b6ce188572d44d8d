"""Small widgets shared by the pages: the message banner, the power-on panel, a question."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from launcher.ui.resources import is_dark

if TYPE_CHECKING:  # QMessageBox when first asked: the sign-in page (the first frame) has none
    from PySide6.QtWidgets import QMessageBox

    # A choice of ask(): its key, its label, and the role that places it (and colours
    # it on some styles: DestructiveRole for what cannot be undone).
    Choice = tuple[str, str, QMessageBox.ButtonRole]

# background, text, border; a light and a dark set, picked by the palette.
_LIGHT = {
    "error": ("#fdecea", "#611a15", "#f5c2bd"),
    "warn": ("#fff4e5", "#663c00", "#f3d19e"),
    "info": ("#e8f1fb", "#0d3c61", "#b9d4f1"),
    "ok": ("#edf7ed", "#1e4620", "#b7dfb9"),
}
_DARK = {
    "error": ("#3d1714", "#f8c9c3", "#7a2e27"),
    "warn": ("#3a2a0c", "#f7dca8", "#7a5a1c"),
    "info": ("#12283d", "#c4ddf5", "#2f5578"),
    "ok": ("#15301a", "#c3e6c6", "#2f6236"),
}


class Banner(QLabel):
    """A one-message strip: hidden until there is something to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        # By name, and QtCore.Qt below only when used: the sign-in page, the
        # window's first frame, has a banner and does without ``Qt.`` (see signin.py).
        self.setProperty("textInteractionFlags", "TextSelectableByMouse")
        self.setAccessibleName(self.tr("Message"))
        self._kind: str | None = None
        self.hide()

    def show_message(self, text: str, *, kind: str = "error") -> None:
        background, colour, border = (_DARK if is_dark(self.palette()) else _LIGHT)[kind]
        self.setStyleSheet(
            f"QLabel {{ background:{background}; color:{colour}; border:1px solid {border};"
            " border-radius:6px; padding:8px 10px; }"
        )
        self._kind = kind
        self.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    def clear_message(self) -> None:
        self._kind = None
        self.clear()
        self.hide()

    @property
    def kind_shown(self) -> str | None:
        """``error``, ``warn``, ``info`` or ``ok``; None while hidden."""
        if not self.isVisible():
            return None
        return self._kind


class StartingPanel(QFrame):
    """While a machine powers on: a moving bar, when Rubicon asks again, and Cancel."""

    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.countdown = QLabel()
        self.countdown.setAccessibleName(self.tr("Time until Rubicon checks again"))
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate: the broker gives no percentage
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.bar.setAccessibleName(self.tr("Desktop starting"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setAccessibleName(self.tr("Stop waiting for the desktop"))
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.countdown)
        text.addWidget(self.bar)
        row = QHBoxLayout(self)
        row.addLayout(text, 1)
        row.addWidget(self.cancel_button, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button.clicked.connect(self.cancelled)
        self.hide()

    def start(self, name: str) -> None:
        self.title.setText(
            self.tr("<b>%s</b> is starting. It opens as soon as it is ready.") % name
        )
        self.countdown.setText(self.tr("Asking the broker…"))
        self.show()

    def set_seconds(self, seconds: int) -> None:
        if seconds <= 0:
            self.countdown.setText(self.tr("Checking now…"))
        else:
            self.countdown.setText(self.tr("Checking again in %d s") % seconds)

    def stop(self) -> None:
        self.hide()


def ask(
    parent: QWidget,
    *,
    title: str,
    text: str,
    detail: str = "",
    choices: Sequence[Choice],
    default: str | None,
    on_answer: Callable[[str | None], None],
) -> QMessageBox:
    """Ask before doing something the user may regret; never blocks.

    The box is window-modal and opened with ``open()``: ``on_answer`` is called
    with the key of the choice clicked, or None for Cancel, Escape or the
    box's close button. ``default``: the choice Enter takes; None: Cancel.
    """
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    if detail:
        box.setInformativeText(detail)
    buttons = {key: box.addButton(label, role) for key, label, role in choices}
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(buttons[default] if default is not None else cancel)
    box.setEscapeButton(cancel)
    box.setAccessibleName(title)

    def done() -> None:
        clicked = box.clickedButton()
        answer = next((key for key, button in buttons.items() if button is clicked), None)
        box.deleteLater()
        on_answer(answer)

    box.finished.connect(done)
    box.open()
    return box


def ask_log_off(
    parent: QWidget, *, name: str, on_answer: Callable[[str | None], None]
) -> QMessageBox:
    """Log off ends the user's work on desktop ``name``: asked first, Cancel the default
    (the main window and the kiosk ask the same). ``on_answer("logoff")`` on yes."""
    from PySide6.QtWidgets import QMessageBox

    tr = QtCore.QCoreApplication.translate
    return ask(
        parent,
        title=tr("Questions", "Log off %s?") % name,
        text=tr(
            "Questions",
            "Logging off ends your session on %s: every program on it is closed, "
            "and anything not saved is lost.",
        )
        % name,
        choices=[("logoff", tr("Questions", "Log off"), QMessageBox.ButtonRole.DestructiveRole)],
        default=None,
        on_answer=on_answer,
    )
