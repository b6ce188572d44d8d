"""Ask, once, whether to trust a broker's own certificate (trust on first use)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from launcher.core.trust import Presented


class TrustDialog(QDialog):
    """Shows the fingerprint; Cancel is the default, trusting takes a deliberate click."""

    def __init__(self, presented: Presented, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presented = presented
        self.setWindowTitle(self.tr("Trust this broker?"))
        self.setAccessibleName(self.tr("Trust this broker?"))
        self.setModal(True)

        intro = QLabel(
            self.tr(
                "The broker at <b>%s</b> uses a certificate that this computer does not "
                "trust. If you trust it, Rubicon will accept this exact certificate from "
                "this broker from now on, and refuse any other."
            )
            % presented.origin
        )
        intro.setWordWrap(True)
        ask = QLabel(
            self.tr(
                "Compare the fingerprint below with the one your administrator gave you. "
                "Trust it only if they are the same."
            )
        )
        ask.setWordWrap(True)
        self.fingerprint = QLabel(_two_lines(presented.fingerprint))
        self.fingerprint.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setAccessibleName(self.tr("SHA-256 fingerprint"))
        self.fingerprint.setAccessibleDescription(presented.fingerprint)
        self.fingerprint.setStyleSheet("padding: 8px; border: 1px solid palette(mid);")

        self.buttons = QDialogButtonBox()
        self.trust_button = self.buttons.addButton(
            self.tr("Trust and sign in"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        # Enter must never trust: only a click (or Tab to it) does.
        self.trust_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        # Read top to bottom: what to do, then the fingerprint it speaks of "below".
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(ask)
        layout.addWidget(QLabel(self.tr("SHA-256 fingerprint:")))
        layout.addWidget(self.fingerprint)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        # The button box picks its own default on show; Cancel it must be.
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()


def _two_lines(fingerprint: str) -> str:
    # 32 pairs read more easily as two rows of 16.
    pairs = fingerprint.split(":")
    half = len(pairs) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:])
