"""Small widgets shared by the pages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

_STYLES = {
    "error": "background:#fdecea; color:#611a15; border:1px solid #f5c2bd;",
    "warn": "background:#fff4e5; color:#663c00; border:1px solid #f3d19e;",
    "info": "background:#e8f1fb; color:#0d3c61; border:1px solid #b9d4f1;",
    "ok": "background:#edf7ed; color:#1e4620; border:1px solid #b7dfb9;",
}


class Banner(QLabel):
    """A one-message strip: hidden until there is something to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName(self.tr("Message"))
        self._kind: str | None = None
        self.hide()

    def show_message(self, text: str, *, kind: str = "error") -> None:
        self.setStyleSheet(f"QLabel {{ {_STYLES[kind]} border-radius:6px; padding:8px 10px; }}")
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
