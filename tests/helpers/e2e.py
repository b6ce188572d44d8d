"""Helpers for end-to-end tests that drive real programs (Xvnc, Xvfb, vncviewer).

A missing program skips the test with the Debian package to install, unless
RUBICON_REQUIRE_E2E=1 (CI), where a skip would hide that nothing was tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from broker_stub.xdisplay import PACKAGES

# Programs the e2e tests use, beyond those broker_stub.xdisplay starts itself.
E2E_PACKAGES = {
    **PACKAGES,
    "import": "imagemagick",
    "convert": "imagemagick",
    "xdotool": "xdotool",
    "xwd": "x11-apps",
    "xfreerdp": "freerdp2-x11",
    "freerdp-shadow-cli": "freerdp2-shadow-x11",
    "remote-viewer": "virt-viewer",
}

# What the vnc_desktop fixture uses, so tests can check what they see.
VNC_PASSWORD = "rubicon1"
DESKTOP_COLOUR = "#3b6ea5"
# The rdp_desktop fixture's user: a space, a colon and a non-ASCII letter.
RDP_USER, RDP_PASSWORD = "ann", "pa ss:wörd!"


def e2e_required() -> bool:
    return os.environ.get("RUBICON_REQUIRE_E2E") == "1"


def missing_message(name: str) -> str:
    package = E2E_PACKAGES.get(name)
    if package:
        return f"{name} is not installed: sudo apt-get install {package}"
    return f"{name} is not installed (not found on PATH)"


def require_binaries(*names: str) -> None:
    """Skip the test (fail it under RUBICON_REQUIRE_E2E=1) if a program is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    reason = "; ".join(missing_message(name) for name in missing)
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it is true; fail the test naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
        time.sleep(interval)


def pixel_colour(display: str, x: int, y: int, timeout: float = 15.0) -> str:
    """The colour of one pixel of ``display``'s root window, as ``#rrggbb``."""
    require_binaries("import")
    env = {**os.environ, "DISPLAY": display}
    result = subprocess.run(
        ["import", "-window", "root", "-crop", f"1x1+{x}+{y}", "-depth", "8", "txt:-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    # txt: output looks like "0,0: (59,110,165)  #3B6EA5  srgb(59,110,165)".
    for word in result.stdout.split():
        if word.startswith("#") and len(word) >= 7:
            return word[:7].lower()
    raise AssertionError(f"no colour in ImageMagick output: {result.stdout!r}")


def secrets_absent(pid: int, *secrets: str) -> None:
    """None of ``secrets`` is in the command line or environment of process ``pid``."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    for secret in secrets:
        assert secret.encode() not in cmdline
        assert secret.encode() not in environ
