"""Fixtures for end-to-end tests: a screen to draw on and a VNC desktop to reach."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker_stub.xdisplay import Xvfb, XvncDesktop
from tests.helpers.e2e import DESKTOP_COLOUR, VNC_PASSWORD, require_binaries


@pytest.fixture
def xvfb_screen() -> Iterator[Xvfb]:
    """A 1280x800 virtual screen; point clients at it with ``env=xvfb_screen.env()``."""
    require_binaries("Xvfb")
    with Xvfb(screen="1280x800x24") as screen:
        yield screen


@pytest.fixture
def vnc_desktop() -> Iterator[XvncDesktop]:
    """An Xvnc desktop on 127.0.0.1 painted DESKTOP_COLOUR, password VNC_PASSWORD."""
    require_binaries("Xvnc", "xsetroot")
    with XvncDesktop(VNC_PASSWORD, colour=DESKTOP_COLOUR, geometry="1024x768") as desktop:
        yield desktop
