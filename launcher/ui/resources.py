"""Find the files under ``resources/`` (icons, translations) wherever we run from.

Icons are SVG. :func:`icon` draws one as it is (the logo, the desktop, the
gold star); :func:`themed_icon` draws a line icon, whose SVG strokes with
``currentColor``, in the palette's text colour, so it reads on a light and
on a dark palette alike. Both render the SVG at the size and pixel ratio
asked for, so they stay sharp on high-DPI screens.

The first frame of the window draws no SVG, so that Qt's SVG module is not
loaded before the window is on screen: the logo (:func:`logo_pixmap`) and
the line icons of the sign-in page come from PNG files in
``resources/icons/png`` made from the SVGs by ``scripts/icons.py``
(:data:`PNG_SIZES` says which), at 1x and 2x; so does the window icon
(:func:`window_icon`), set once that frame is up. A line icon's PNG is a
mask, tinted when drawn like the SVG would be; a size or a pixel ratio
without a PNG is drawn from the SVG.
"""

from __future__ import annotations

import functools
import os
import site
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

# Pixel sizes of the PNGs made from each SVG: the logo on the sign-in page
# (72 at 1x and 2x), the window icon (16 to 256), the sign-in page's "more"
# button (16 at 1x and 2x). scripts/icons.py writes them; a test checks them.
LOGO_SIZE = 72
WINDOW_ICON_SIZES = (16, 32, 64, 128, 256)
PNG_SIZES: dict[str, tuple[int, ...]] = {
    "rubicon": tuple(sorted({*WINDOW_ICON_SIZES, LOGO_SIZE, 2 * LOGO_SIZE})),
    "more": (16, 32),
}
THEMED = frozenset({"more"})  # line icons: their PNG is a mask, tinted when drawn


@functools.cache  # found once: every icon asks, and the answer cannot change in a run
def resources_dir() -> Path:
    """Where the icons and translations are: ``$RUBICON_RESOURCES``, the frozen
    bundle's, a source checkout's ``resources/``, or a wheel's data files."""
    override = os.environ.get("RUBICON_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    # pip puts pyproject.toml's data-files under the prefix it installs to: the
    # environment's, or the user's base for `pip install --user`.
    for prefix in (sys.prefix, site.getuserbase()):
        installed = Path(prefix) / "share" / "rubicon"
        if installed.is_dir():
            return installed
    return checkout


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def png_path(name: str, pixels: int) -> Path:
    """The PNG of icon ``name``, ``pixels`` wide, made by scripts/icons.py."""
    return resources_dir() / "icons" / "png" / f"{name}-{pixels}.png"


def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons``; Qt renders it sharp at any size."""
    return QIcon(str(icon_path(name)))


def _png(name: str, pixels: int) -> QPixmap | None:
    """The PNG of ``name`` at ``pixels``, if scripts/icons.py made one."""
    if pixels not in PNG_SIZES.get(name, ()):
        return None
    pixmap = QPixmap(str(png_path(name, pixels)))
    return None if pixmap.isNull() else pixmap


def logo_pixmap(size: int = LOGO_SIZE) -> QPixmap:
    """The logo, ``size`` pixels square at the application's pixel ratio.

    From its PNG where there is one for that many device pixels (1x, 2x);
    else drawn from the SVG, as sharp.
    """
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    pixels = size * ratio
    if pixels.is_integer():
        pixmap = _png("rubicon", int(pixels))
        if pixmap is not None:
            pixmap.setDevicePixelRatio(ratio)
            return pixmap
    return icon("rubicon").pixmap(size, size)


def window_icon() -> QIcon:
    """The application's icon for window frames, task bars and switchers (PNG sizes)."""
    result = QIcon()
    for pixels in WINDOW_ICON_SIZES:
        pixmap = _png("rubicon", pixels)
        if pixmap is not None:
            result.addPixmap(pixmap)
    return result if not result.isNull() else icon("rubicon")


@functools.lru_cache(maxsize=64)
def _svg_text(name: str) -> str:
    return icon_path(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=16)
def _mask(name: str, pixels: int) -> QPixmap | None:
    """The alpha mask PNG of line icon ``name`` at ``pixels``, if there is one."""
    return _png(name, pixels) if name in THEMED else None


class _TintedSvg(QIconEngine):
    """Renders an SVG, ``currentColor`` replaced, at whatever size is asked.

    Without a palette of its own it takes the application's at each paint,
    so it follows a switch between light and dark while the window is open.
    Where scripts/icons.py made a mask PNG of the size asked, the mask is
    filled with the colour instead: the same pixels, without loading QtSvg.
    """

    def __init__(self, name: str, palette: QPalette | None) -> None:
        super().__init__()
        self._name = name
        self._palette = palette

    def _colour(self, disabled: bool) -> QColor:
        palette = self._palette if self._palette is not None else QApplication.palette()
        group = QPalette.ColorGroup.Disabled if disabled else QPalette.ColorGroup.Active
        return palette.color(group, QPalette.ColorRole.WindowText)

    def _renderer(self, disabled: bool) -> QSvgRenderer:
        from PySide6.QtCore import QByteArray
        from PySide6.QtSvg import QSvgRenderer  # only when a size has no PNG

        colour = self._colour(disabled).name()
        text = _svg_text(self._name).replace("currentColor", colour)
        return QSvgRenderer(QByteArray(text.encode()))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode == QIcon.Mode.Disabled).render(painter, rect)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        disabled = mode == QIcon.Mode.Disabled
        mask = _mask(self._name, size.width()) if size.width() == size.height() else None
        if mask is not None:
            # The colour where the mask is: the mask, then the colour "source in".
            # (Not painter.fillRect or QImage.fill: their overloads take a
            # Qt.GlobalColor, and resolving them builds the Qt namespace's enums,
            # which the first frame does without.)
            solid = QPixmap(size)
            solid.fill(self._colour(disabled))
            tinted = QPixmap(size)
            tinted.fill(QColor(0, 0, 0, 0))
            painter = QPainter(tinted)
            painter.drawPixmap(0, 0, mask)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.drawPixmap(0, 0, solid)
            painter.end()
            return tinted
        pixmap = QPixmap(size)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        """A copy for Qt, which clones the engine when a shared icon is changed.

        PySide leaves the copy owned by Python: with no reference kept, it
        would be deleted as this returns, and the icon Qt made from it would
        draw with freed memory (a crash, or an abort on a pure virtual call).
        It is kept in :data:`_clones` until Qt deletes it with its icon, which
        shiboken marks as invalid; each clone drops those.
        """
        engine = _TintedSvg(self._name, self._palette)
        _clones[:] = [kept for kept in _clones if shiboken6.isValid(kept)]
        _clones.append(engine)
        return engine


# The engines _TintedSvg.clone() handed to Qt and Qt has not deleted yet.
_clones: list[_TintedSvg] = []


def render_png(name: str, pixels: int) -> QImage:
    """What scripts/icons.py writes to :func:`png_path`: the SVG drawn ``pixels`` square.

    A line icon (:data:`THEMED`) is drawn in black: its alpha is the mask.
    """
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    text = _svg_text(name)
    if name in THEMED:
        text = text.replace("currentColor", "#000000")
    image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    QSvgRenderer(QByteArray(text.encode())).render(painter, QRect(0, 0, pixels, pixels))
    painter.end()
    return image


def themed_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """A line icon in the text colour of ``palette`` (default: the application's, live)."""
    return QIcon(_TintedSvg(name, palette))


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128
