"""Draw the PNG icons of resources/icons/png from their SVGs.

Run: QT_QPA_PLATFORM=offscreen python scripts/icons.py          (after changing an SVG)
     QT_QPA_PLATFORM=offscreen python scripts/icons.py --check  (exit 1 if one is stale)

The window's first frame draws these PNGs instead of the SVGs, so that Qt's
SVG module is not loaded before the window is on screen: the logo of the
sign-in page (1x and 2x), the window icon, the sign-in page's line icons
(masks, tinted when drawn). ``launcher.ui.resources.PNG_SIZES`` says which
sizes of which icons; ``render_png`` draws one. tests/gui/test_resources.py
checks that the files match what this script draws.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QGuiApplication, QImage  # noqa: E402

from launcher.ui.resources import PNG_SIZES, png_path, render_png  # noqa: E402


def same(a: QImage, b: QImage, tolerance: int = 2) -> bool:
    """Equal size and every channel of every pixel within ``tolerance`` (PNG round trip)."""
    if a.size() != b.size():
        return False
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    for y in range(a.height()):
        for x in range(a.width()):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            if any(
                abs(((pa >> s) & 0xFF) - ((pb >> s) & 0xFF)) > tolerance for s in (0, 8, 16, 24)
            ):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    stale = []
    for name, sizes in PNG_SIZES.items():
        for pixels in sizes:
            path = png_path(name, pixels)
            image = render_png(name, pixels)
            if args.check:
                if not same(QImage(str(path)), image):
                    stale.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if not image.save(str(path), "PNG"):
                raise SystemExit(f"cannot write {path}")
            print(path.relative_to(ROOT))
    del app
    for path in stale:
        print(f"stale: {path.relative_to(ROOT)} (run python scripts/icons.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
