"""Find the files under ``resources/`` (icons, translations) wherever we run from.

Icons are SVG. :func:`icon` draws one as it is (the logo, the desktop, the
gold star); :func:`themed_icon` draws a line icon, whose SVG strokes with
``currentColor``, in the palette's text colour, so it reads on a light and
on a dark palette alike. Both render the SVG at the size and pixel ratio
asked for, so they stay sharp on high-DPI screens.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication


def resources_dir() -> Path:
    override = os.environ.get("RUBICON_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons``; Qt renders it sharp at any size."""
    return QIcon(str(icon_path(name)))


@functools.lru_cache(maxsize=64)
def _svg_text(name: str) -> str:
    return icon_path(name).read_text(encoding="utf-8")


class _TintedSvg(QIconEngine):
    """Renders an SVG, ``currentColor`` replaced, at whatever size is asked.

    Without a palette of its own it takes the application's at each paint,
    so it follows a switch between light and dark while the window is open.
    """

    def __init__(self, name: str, palette: QPalette | None) -> None:
        super().__init__()
        self._name = name
        self._palette = palette

    def _renderer(self, disabled: bool) -> QSvgRenderer:
        palette = self._palette if self._palette is not None else QApplication.palette()
        group = QPalette.ColorGroup.Disabled if disabled else QPalette.ColorGroup.Active
        colour = palette.color(group, QPalette.ColorRole.WindowText).name()
        text = _svg_text(self._name).replace("currentColor", colour)
        return QSvgRenderer(QByteArray(text.encode()))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode == QIcon.Mode.Disabled).render(painter, rect)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return _TintedSvg(self._name, self._palette)


def themed_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """A line icon in the text colour of ``palette`` (default: the application's, live)."""
    return QIcon(_TintedSvg(name, palette))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
