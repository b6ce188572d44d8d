"""Fixtures for end-to-end tests: a screen to draw on, a VNC desktop and an RDP
desktop to reach."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop, free_tcp_port, port_open, stop_process
from tests.helpers.e2e import (
    DESKTOP_COLOUR,
    RDP_PASSWORD,
    RDP_USER,
    VNC_PASSWORD,
    e2e_required,
    require_binaries,
    wait_for,
)


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


@pytest.fixture
def user_screen(xvfb_screen: Xvfb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Xvfb:
    """Clients open on the Xvfb screen, with a HOME of their own."""
    monkeypatch.setenv("DISPLAY", xvfb_screen.display_name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return xvfb_screen


@dataclass
class ShadowServer:
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def rdp_desktop(tmp_path: Path) -> Iterator[ShadowServer]:
    """freerdp-shadow-cli sharing its own Xvfb, NLA only, user ann in a SAM file."""
    require_binaries("Xvfb", "freerdp-shadow-cli")
    if shutil.which("winpr-hash") is None:  # makes the SAM file's NT hash
        reason = "winpr-hash is not installed: sudo apt-get install winpr-utils"
        if e2e_required():
            pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    sam = tmp_path / "sam"
    line = subprocess.run(
        ["winpr-hash", "-u", RDP_USER, "-p", RDP_PASSWORD, "-f", "sam"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    sam.write_text(line)
    sam.chmod(0o600)
    port = free_tcp_port()
    log = tmp_path / "shadow.log"
    with Xvfb(screen="800x600x24") as shared, log.open("ab") as out:
        server = subprocess.Popen(
            [
                "freerdp-shadow-cli",
                f"/port:{port}",
                "/bind-address:127.0.0.1",
                f"/sam-file:{sam}",
                "+auth",
                "/sec:nla",
            ],
            env={**shared.env(), "HOME": str(tmp_path)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
        try:
            wait_for(lambda: port_open("127.0.0.1", port), 20, "freerdp-shadow-cli to listen")
            yield ShadowServer(port=port, log=log)
        finally:
            stop_process(server)
