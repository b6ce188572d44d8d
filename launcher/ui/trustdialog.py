"""Ask whether to trust a broker's own certificate: the first time (trust on first
use), or, behind a warning and a confirmation, a new one after it changed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from launcher.core.trust import Presented


class TrustDialog(QDialog):
    """Shows the fingerprint; Cancel is the default, trusting takes a deliberate click.

    ``pinned``: the fingerprint trusted before, when the broker's certificate
    changed. Then both are shown, and the trust button stays disabled until
    the user confirms they compared the new one with their administrator's.
    """

    def __init__(
        self, presented: Presented, parent: QWidget | None = None, *, pinned: str | None = None
    ) -> None:
        super().__init__(parent)
        self.presented = presented
        self.pinned = pinned
        self.setModal(True)
        self.confirm: QCheckBox | None = None
        self.old_fingerprint: QLabel | None = None
        self.fingerprint = _fingerprint_label(presented.fingerprint)
        self.fingerprint.setAccessibleName(self.tr("SHA-256 fingerprint"))

        self.buttons = QDialogButtonBox()
        layout = QVBoxLayout(self)
        if pinned is None:
            title = self.tr("Trust this broker?")
            self._first_use(layout, presented)
            self.trust_button = self.buttons.addButton(
                self.tr("Trust and sign in"), QDialogButtonBox.ButtonRole.AcceptRole
            )
        else:
            title = self.tr("Trust the new certificate?")
            self.trust_button = self.buttons.addButton(
                self.tr("Trust the new certificate"), QDialogButtonBox.ButtonRole.AcceptRole
            )
            self._changed(layout, presented, pinned)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        # Enter must never trust: only a click (or Tab to it) does.
        self.trust_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def _first_use(self, layout: QVBoxLayout, presented: Presented) -> None:
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
        # Read top to bottom: what to do, then the fingerprint it speaks of "below".
        layout.addWidget(intro)
        layout.addWidget(ask)
        layout.addWidget(QLabel(self.tr("SHA-256 fingerprint:")))
        layout.addWidget(self.fingerprint)

    def _changed(self, layout: QVBoxLayout, presented: Presented, pinned: str) -> None:
        warning = QLabel(
            self.tr(
                "<b>The broker at %s now presents a different certificate from the one you "
                "trusted.</b> If your administrator replaced it, trust the new one. If "
                "not, someone may be intercepting the connection: cancel, and tell your "
                "administrator."
            )
            % presented.origin
        )
        warning.setWordWrap(True)
        ask = QLabel(
            self.tr(
                "Compare the new fingerprint below with the one your administrator gave "
                "you. Trust it only if they are the same: Rubicon will then accept this "
                "certificate from this broker, and no longer the old one."
            )
        )
        ask.setWordWrap(True)
        self.old_fingerprint = _fingerprint_label(pinned)
        self.old_fingerprint.setAccessibleName(self.tr("Fingerprint trusted before"))
        self.fingerprint.setAccessibleName(self.tr("New SHA-256 fingerprint"))
        self.confirm = QCheckBox(
            self.tr("I &compared the new fingerprint with the one my administrator gave me")
        )
        self.confirm.setAccessibleName(
            self.tr("I compared the new fingerprint with the one my administrator gave me")
        )
        self.trust_button.setEnabled(False)
        self.confirm.toggled.connect(self.trust_button.setEnabled)
        layout.addWidget(warning)
        layout.addWidget(ask)
        layout.addWidget(QLabel(self.tr("New certificate, presented now:")))
        layout.addWidget(self.fingerprint)
        layout.addWidget(QLabel(self.tr("Certificate trusted before:")))
        layout.addWidget(self.old_fingerprint)
        layout.addWidget(self.confirm)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        # The button box picks its own default on show; Cancel it must be.
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()


def _fingerprint_label(fingerprint: str) -> QLabel:
    label = QLabel(_two_lines(fingerprint))
    label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleDescription(fingerprint)
    label.setStyleSheet("padding: 8px; border: 1px solid palette(mid);")
    return label


def _two_lines(fingerprint: str) -> str:
    # 32 pairs read more easily as two rows of 16.
    pairs = fingerprint.split(":")
    half = len(pairs) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:])
