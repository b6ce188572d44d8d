"""What the package tests run: the frozen launcher that `make package` built.

``RUBICON_BUNDLE`` names its folder (default: dist/rubicon). Without one the
tests skip, saying how to build it; with RUBICON_REQUIRE_PACKAGES=1 (CI, after
`make package`) they fail instead, so a skip cannot hide that nothing was tested.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import vnc_desktop, xvfb_screen

__all__ = ["bundle", "vnc_desktop", "xvfb_screen"]

ROOT = Path(__file__).resolve().parents[2]


def packages_required() -> bool:
    return os.environ.get("RUBICON_REQUIRE_PACKAGES") == "1"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The frozen launcher's folder (its program is ``rubicon`` in it)."""
    folder = Path(os.environ.get("RUBICON_BUNDLE", ROOT / "dist" / "rubicon"))
    if not (folder / "rubicon").is_file():
        message = f"no frozen launcher at {folder}: run make package (or set RUBICON_BUNDLE)"
        if packages_required():
            pytest.fail(message)
        pytest.skip(message)
    return folder
