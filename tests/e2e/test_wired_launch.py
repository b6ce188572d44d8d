"""open_desktop with the real clients: protocol, client, plan, supervisor and its
connect watch, end to end.

VNC desktops come from the live broker (Xvnc behind it); RDP with single
sign-on from a replayed broker (the bundled one serves VNC pools only) that
points at freerdp-shadow-cli.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core.broker import BrokerClient
from launcher.core.launching import FreeRdpVersions, OpenedDesktop, Preferences
from launcher.core.secret import Secret
from launcher.core.settings import RdpSettings
from launcher.core.supervisor import DID_NOT_ANSWER
from tests.e2e.conftest import ShadowServer
from tests.helpers.e2e import (
    RDP_PASSWORD,
    RDP_USER,
    VNC_PASSWORD,
    require_binaries,
    secrets_absent,
    wait_for,
)
from tests.helpers.fake_broker import FakeBroker, desktop
from tests.helpers.live_broker import Machine, live_broker
from tests.helpers.viewers import Watch

pytestmark = pytest.mark.e2e

USER, SIGN_IN = "ann", "ann-sign-in-pw"
AUTHENTICATED = "Server default pixel format"


@contextmanager
def open_vnc(
    tmp_path: Path, port: int, password: str, prefs: Preferences
) -> Iterator[tuple[OpenedDesktop, Watch]]:
    watch = Watch()
    with (
        live_broker(
            tmp_path / "broker",
            pools={"lab": [Machine("lab-1", port=port, password=password)]},
            users={USER: SIGN_IN},
        ) as broker,
        BrokerClient(broker.url) as api,
    ):
        api.login(username=USER, password=SIGN_IN)
        [lab] = api.desktops()
        opened = watch.open(api, lab, preferences=prefs)
        try:
            yield opened, watch
        finally:
            opened.client.stop()


@pytest.mark.parametrize("viewer", ["vncviewer", "remote-viewer"])
def test_the_viewer_says_when_it_is_connected(
    tmp_path: Path, user_screen: Xvfb, vnc_desktop: XvncDesktop, viewer: str
) -> None:
    require_binaries(viewer)
    prefs = Preferences(vnc_client=viewer)
    with open_vnc(tmp_path, vnc_desktop.port, VNC_PASSWORD, prefs) as (opened, watch):
        assert watch.connected.wait(30), "no sign of a connection"
        assert AUTHENTICATED in vnc_desktop.log_text()
        assert opened.client.connected
        secrets_absent(opened.client.pid, VNC_PASSWORD, SIGN_IN)
    result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)


@pytest.mark.parametrize("viewer", ["vncviewer", "remote-viewer"])
def test_a_wrong_console_password_ends_with_the_message_and_no_hang(
    tmp_path: Path, user_screen: Xvfb, vnc_desktop: XvncDesktop, viewer: str
) -> None:
    require_binaries(viewer)
    started = time.monotonic()
    prefs = Preferences(vnc_client=viewer)
    with open_vnc(tmp_path, vnc_desktop.port, "wrong-pw", prefs) as (opened, watch):
        result = watch.exits.get(timeout=30)
        assert not opened.client.running()
    assert time.monotonic() - started < 30
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert not result.connected
    assert not watch.connected.is_set()


@pytest.fixture
def silent_desktop() -> Iterator[int]:
    """A port that accepts connections and never says a word: a hung desktop."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield server.getsockname()[1]
        finally:
            stop.set()
            thread.join(5)
            for conn in held:
                conn.close()


def test_a_desktop_that_never_answers_is_given_up_on(
    tmp_path: Path, user_screen: Xvfb, silent_desktop: int
) -> None:
    require_binaries("vncviewer")
    prefs = Preferences(connect_timeout=3.0)
    with open_vnc(tmp_path, silent_desktop, VNC_PASSWORD, prefs) as (opened, watch):
        result = watch.exits.get(timeout=20)
        assert not opened.client.running()
    assert result.reason is DID_NOT_ANSWER


# --- RDP with single sign-on ------------------------------------------------------


@contextmanager
def open_rdp(server: ShadowServer, sign_in_password: str, watch: Watch) -> Iterator[OpenedDesktop]:
    broker = FakeBroker(
        desktops=[desktop("win", "rdp")],
        connections={
            "win": {
                "protocol": "rdp",
                "host": "127.0.0.1",
                "port": server.port,
                "username": RDP_USER,
                "sso": True,
            }
        },
        users={RDP_USER: sign_in_password},
    )
    sso = Secret(sign_in_password)
    prefs = Preferences(rdp=RdpSettings(width=800, height=600), connect_timeout=4.0)
    with broker.client() as api:
        api.login(username=RDP_USER, password=sign_in_password)
        [win] = api.desktops()
        opened = watch.open(
            api,
            win,
            preferences=prefs,
            sso=sso,
            versions=FreeRdpVersions(),  # asks the real xfreerdp, on the user's DISPLAY
        )
        try:
            yield opened
        finally:
            opened.client.stop()
            sso.clear()


def test_freerdp_signs_in_with_the_sign_in_password(
    user_screen: Xvfb, rdp_desktop: ShadowServer
) -> None:
    require_binaries("xfreerdp")
    watch = Watch()
    with open_rdp(rdp_desktop, RDP_PASSWORD, watch) as opened:
        assert watch.connected.wait(20)  # still running, no fatal line: connected
        secrets_absent(opened.client.pid, RDP_PASSWORD)
        assert "authentication failure" not in rdp_desktop.log_text()
    assert watch.exits.get(timeout=15).reason is None


def test_freerdp_with_a_wrong_sign_in_password_ends_with_a_reason(
    user_screen: Xvfb, rdp_desktop: ShadowServer
) -> None:
    require_binaries("xfreerdp")
    watch = Watch()
    with open_rdp(rdp_desktop, "not-the-password", watch):
        result = watch.exits.get(timeout=30)
    assert result.reason is not None
    assert result.reason.message == (
        "The desktop could not be reached or ended the connection while signing in."
    )
    assert not watch.connected.is_set()
    wait_for(lambda: "authentication failure" in rdp_desktop.log_text(), 10, "the refusal")
