"""scripts/screenshots.py renders every window, light and dark, without a broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def test_every_window_is_rendered_light_and_dark(tmp_path: Path) -> None:
    env = {**os.environ, "RUBICON_SCREENSHOTS": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    written = sorted(Path(line).name for line in result.stdout.split())
    for name in ("sign-in", "sign-in-code", "desktops", "desktops-list", "desktops-starting"):
        assert f"{name}.png" in written
        assert f"{name}-dark.png" in written
    for name in (
        "settings-general",
        "about",
        "diagnostics",
        "trust",
        "confirm-reset",
        "trust-changed",
        "sign-in-certificate-changed",
        "confirm-log-off",
        "close-question",
    ):
        assert f"{name}.png" in written
    light = QImage(str(tmp_path / "desktops.png"))
    dark = QImage(str(tmp_path / "desktops-dark.png"))
    assert light.width() > 600
    assert light.pixelColor(2, 300).lightness() > 180
    assert dark.pixelColor(2, 300).lightness() < 80
