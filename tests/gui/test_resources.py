"""The PNG icons the first frame draws instead of SVGs: up to date, and the same pixels.

scripts/icons.py makes them from the SVGs; a PNG that no longer matches its
SVG fails here (run the script again). The sign-in page's logo and line
icons must look exactly as the SVGs drawn at that size would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QImage, QPalette
from pytestqt.qtbot import QtBot

from launcher.ui import resources
from launcher.ui.resources import PNG_SIZES, THEMED, icon, logo_pixmap, png_path, themed_icon

ROOT = Path(__file__).resolve().parents[2]


def differ(a: QImage, b: QImage) -> int:
    """The largest difference of any channel of any pixel (sizes must match)."""
    assert a.size() == b.size()
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    worst = 0
    for y in range(a.height()):
        for x in range(a.width()):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            for shift in (0, 8, 16, 24):
                worst = max(worst, abs(((pa >> shift) & 0xFF) - ((pb >> shift) & 0xFF)))
    return worst


def test_the_pngs_are_what_scripts_icons_draws_from_the_svgs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "icons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    folder = png_path("rubicon", 72).parent
    made = {png_path(name, pixels).name for name, sizes in PNG_SIZES.items() for pixels in sizes}
    assert {p.name for p in folder.iterdir()} == made  # nothing else, nothing missing


def test_the_logo_is_the_svg_drawn_at_72(qtbot: QtBot) -> None:
    png = logo_pixmap().toImage()
    svg = icon("rubicon").pixmap(72, 72).toImage()
    assert png.size() == QSize(72, 72)
    assert differ(png, svg) <= 1


@pytest.mark.parametrize("disabled", [False, True])
@pytest.mark.parametrize("dark", [False, True])
@pytest.mark.parametrize("pixels", [16, 32])
def test_a_line_icon_from_its_mask_looks_as_from_its_svg(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, disabled: bool, dark: bool, pixels: int
) -> None:
    palette = QPalette()
    if dark:
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    mode = QIcon.Mode.Disabled if disabled else QIcon.Mode.Normal
    assert "more" in THEMED
    resources._mask.cache_clear()
    from_mask = themed_icon("more", palette).pixmap(QSize(pixels, pixels), 1.0, mode).toImage()
    # Drawn from the mask PNG, not the SVG: the engine looked this mask up, and found it.
    assert resources._mask.cache_info().misses == 1
    assert resources._mask("more", pixels) is not None
    assert resources._mask.cache_info().hits == 1
    monkeypatch.setattr(resources, "THEMED", frozenset())
    resources._mask.cache_clear()
    try:
        from_svg = themed_icon("more", palette).pixmap(QSize(pixels, pixels), 1.0, mode)
    finally:
        resources._mask.cache_clear()
    assert differ(from_mask, from_svg.toImage()) <= 1


LOGO_AT = """
from PySide6.QtWidgets import QApplication
app = QApplication([])
from launcher.ui.resources import logo_pixmap
logo = logo_pixmap()
print(app.devicePixelRatio(), logo.width(), logo.devicePixelRatio())
"""


@pytest.mark.parametrize(
    ("scale", "expected"),
    [("1", "1.0 72 1.0"), ("2", "2.0 144 2.0"), ("1.5", "1.5 108 1.5")],  # 1.5: from the SVG
)
def test_the_logo_is_sharp_at_any_pixel_ratio(scale: str, expected: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale}
    result = subprocess.run(
        [sys.executable, "-c", LOGO_AT],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    assert result.stdout.split("\n")[-2] == expected


# Qt clones an icon's engine when an icon that shares it is changed (addPixmap
# and the like). Run apart: before the fix the clone was freed as clone()
# returned, and drawing the changed icon crashed the process.
CHANGED_COPY = """
import gc
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication
app = QApplication([])
from launcher.ui import resources
palette = QPalette()
palette.setColor(QPalette.ColorRole.WindowText, QColor("#ff0000"))
for round in range(3):
    shared = resources.themed_icon("more", palette)
    changed = QIcon(shared)
    changed.addPixmap(QPixmap(8, 8))  # Qt clones the engine here
    gc.collect()
    image = changed.pixmap(QSize(16, 16)).toImage()
    drawn = [image.pixelColor(x, y) for x in range(16) for y in range(16)]
    drawn = [c for c in drawn if c.alpha() > 0]
    assert max(c.alpha() for c in drawn) > 200, round
    assert {c.name() for c in drawn} == {"#ff0000"}, round
    del changed
    gc.collect()
print("kept", len(resources._clones))
"""


def test_a_changed_copy_of_a_line_icon_still_draws_in_its_colour() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHANGED_COPY],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Clones whose icon is gone are let go: only the last one's may remain.
    assert result.stdout.split() == ["kept", "1"]
