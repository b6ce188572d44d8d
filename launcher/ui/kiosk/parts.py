"""What the kiosk's full-screen pages are made of: a big heading, a quiet detail
line, the logo, and a centred column."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget

from launcher.ui.resources import icon


def heading_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("font-size: 22pt; font-weight: 600;")
    return label


def detail_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("font-size: 13pt; color: palette(placeholder-text);")
    return label


def logo_label(size: int = 72) -> QLabel:
    logo = QLabel()
    logo.setPixmap(icon("rubicon").pixmap(size, size))
    logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
    logo.setMinimumHeight(size)
    return logo


def centred(*parts: QWidget | QLayout, width: int = 520) -> QWidget:
    """A page with ``parts`` in a column in the middle of the screen.

    The column is as tall as the page, with the space above and below it
    inside: a column only as tall as its size hint would squeeze labels whose
    text wraps (their height depends on their width).
    """
    page = QWidget()
    card = QWidget()
    card.setFixedWidth(width)
    column = QVBoxLayout(card)
    column.setSpacing(14)
    column.addStretch(1)
    for part in parts:
        if isinstance(part, QLayout):
            column.addLayout(part)
        else:
            column.addWidget(part)
    column.addStretch(2)
    outer = QHBoxLayout(page)
    outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
    return page
