"""The About dialog: what this Rubicon is, its versions, and the way to the doctor."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from launcher import __version__
from launcher.ui.resources import icon


def versions() -> list[tuple[str, str]]:
    """(what, version) for the About dialog and a bug report."""
    return [
        ("Rubicon", __version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


class AboutDialog(QDialog):
    """``show_diagnostics`` opens the Diagnostics dialog (the doctor's report, the bundle)."""

    def __init__(
        self, show_diagnostics: Callable[[], object], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("About Rubicon"))
        self.setAccessibleName(self.tr("About Rubicon"))
        logo = QLabel()
        logo.setPixmap(icon("rubicon").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(self.tr("Rubicon %s") % __version__)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        blurb = QLabel(
            self.tr(
                "Signs you in to your organisation's desktops and opens them in the "
                "remote-display program that suits them: RDP, SPICE or VNC."
            )
        )
        blurb.setWordWrap(True)
        blurb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        form = QFormLayout()
        self.version_labels: dict[str, QLabel] = {}
        for what, version in versions():
            value = QLabel(version)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(self.tr("%s version") % what)
            form.addRow(what + ":", value)
            self.version_labels[what] = value
        licence = QLabel(self.tr("Licensed under the Apache License 2.0."))
        licence.setStyleSheet("color: palette(placeholder-text);")
        licence.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.diagnostics_button = QPushButton(self.tr("&Diagnostics and support bundle…"))
        self.diagnostics_button.setAccessibleName(self.tr("Open the diagnostics report"))
        self.buttons.addButton(self.diagnostics_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.diagnostics_button.clicked.connect(show_diagnostics)

        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(licence)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)

    def text(self) -> str:
        """The versions as plain lines, for a bug report."""
        return "\n".join(f"{w}: {v}" for w, v in versions()) + "\n" + sys.platform
