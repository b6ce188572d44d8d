"""Find the files under ``resources/`` (icons, style) wherever we run from."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon


def resources_dir() -> Path:
    override = os.environ.get("RUBICON_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons``; Qt renders it sharp at any size."""
    return QIcon(str(resources_dir() / "icons" / f"{name}.svg"))
