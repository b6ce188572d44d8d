"""Plans run by the supervisor against real clients and servers.

remote-viewer reads its .vv document from stdin and opens an Xvnc desktop;
FreeRDP 2 reads the password from stdin (/from-stdin:force) and signs in with
NLA to freerdp-shadow-cli sharing an Xvfb screen. Both show up on an Xvfb
screen standing in for the user's monitor.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess

import pytest

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core import supervisor
from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import spice
from launcher.core.protocols.rdp import RdpOptions, freerdp
from launcher.core.supervisor import ClientExit
from tests.e2e.conftest import ShadowServer
from tests.helpers.e2e import (
    RDP_PASSWORD,
    RDP_USER,
    VNC_PASSWORD,
    require_binaries,
    secrets_absent,
    wait_for,
)

pytestmark = pytest.mark.e2e

AUTHENTICATED = "Server default pixel format"  # Xvnc logs it once VncAuth passed
TITLE = "Rubicon e2e"


def window_named(display: str, name: str) -> bool:
    result = subprocess.run(
        ["xdotool", "search", "--name", name],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0 and bool(result.stdout.strip())


# --- remote-viewer ---------------------------------------------------------------


def start_viewer(
    desktop: XvncDesktop, password: str
) -> tuple[supervisor.RunningClient, queue.Queue[ClientExit]]:
    client = shutil.which("remote-viewer")
    assert client is not None
    plan = spice.plan(
        ConnectionInfo(Protocol.VNC, desktop.host, desktop.port, password=password),
        client=client,
        title=TITLE,
    )
    exits: queue.Queue[ClientExit] = queue.Queue()
    running = supervisor.start(
        plan, name="SPICE viewer", classify=spice.classify_line, on_exit=exits.put
    )
    return running, exits


def test_remote_viewer_reads_the_vv_from_stdin_and_connects(
    user_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    require_binaries("remote-viewer")
    viewer, exits = start_viewer(vnc_desktop, VNC_PASSWORD)
    try:
        wait_for(lambda: AUTHENTICATED in vnc_desktop.log_text(), 20, "Xvnc to accept the viewer")
        secrets_absent(viewer.pid, VNC_PASSWORD)
        assert viewer.running()
    finally:
        viewer.stop()
    result = exits.get(timeout=15)
    assert result.reason is None  # we stopped it: nothing to report


def test_remote_viewer_on_a_wrong_password_is_stopped_with_the_reason(
    user_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    require_binaries("remote-viewer")
    viewer, exits = start_viewer(vnc_desktop, "wrong-pw")
    try:
        result = exits.get(timeout=30)
    finally:
        viewer.stop()
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert not viewer.running()


# --- FreeRDP 2 against freerdp-shadow-cli -------------------------------------------


def start_freerdp(
    desktop: ShadowServer, password: str
) -> tuple[supervisor.RunningClient, queue.Queue[ClientExit], str]:
    client = shutil.which("xfreerdp")
    assert client is not None
    version = freerdp.detect_version(
        subprocess.run(
            [client, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    )
    assert version is not None
    assert version[0] == 2, "these checks are for FreeRDP 2's /from-stdin"
    options = RdpOptions(
        fullscreen=False, width=800, height=600, title=TITLE, sso_password=password
    )
    plan = freerdp.plan(
        ConnectionInfo(Protocol.RDP, "127.0.0.1", desktop.port, username=RDP_USER),
        client=client,
        version=version,
        options=options,
    )
    exits: queue.Queue[ClientExit] = queue.Queue()
    running = supervisor.start(
        plan, name="RDP client", classify=freerdp.classify_line, on_exit=exits.put
    )
    return running, exits, client


def test_freerdp2_signs_in_with_the_password_from_stdin(
    user_screen: Xvfb, rdp_desktop: ShadowServer
) -> None:
    require_binaries("xfreerdp", "xdotool")
    client, exits, _ = start_freerdp(rdp_desktop, RDP_PASSWORD)
    try:
        # xfreerdp opens its window only after NLA accepted the password.
        wait_for(
            lambda: window_named(user_screen.display_name, TITLE), 30, "the RDP session window"
        )
        secrets_absent(client.pid, RDP_PASSWORD)
        assert "authentication failure" not in rdp_desktop.log_text()
    finally:
        client.stop()
    assert exits.get(timeout=15).reason is None


def test_freerdp2_with_a_wrong_password_ends_with_a_reason(
    user_screen: Xvfb, rdp_desktop: ShadowServer
) -> None:
    require_binaries("xfreerdp")
    client, exits, _ = start_freerdp(rdp_desktop, "not-the-password")
    try:
        result = exits.get(timeout=30)
    finally:
        client.stop()
    assert result.reason is not None
    assert result.reason.message == (
        "The desktop could not be reached or ended the connection while signing in."
    )
    wait_for(
        lambda: "client authentication failure" in rdp_desktop.log_text(),
        10,
        "the shadow server to log the refused sign-in",
    )
