"""The launcher's side of the e2e tests: the real launcher opening a desktop, and a
SPICE desktop (Xspice) for it to reach.

``Watch`` keeps what the launcher reports about a viewer; ``Recorder`` is the
launcher's real HTTP transport keeping each launch answer; ``from_broker``
signs in to a served broker and opens a pool's desktop, asking again while
the machine starts, and stops the viewer at the end.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from broker_stub.demo.xdisplay import Xvfb
from launcher.core.broker import BrokerClient, DesktopStarting, new_idempotency_key
from launcher.core.launching import OpenedDesktop, Preferences, open_desktop
from launcher.core.models import Desktop
from launcher.core.supervisor import ClientExit, RunningClient
from tests.helpers.broker_site import LAUNCH_TIMEOUT_S, POLL_S, SIGN_IN, USER
from tests.helpers.e2e import (
    DESKTOP_COLOUR,
    SPICE_CONNECTED,
    SPICE_PASSWORD,
    XspiceDesktop,
    pixel_colour,
    require_binaries,
    wait_for,
)


class Watch:
    """What the launcher reports about a viewer: connected, then its exit."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.exits: queue.Queue[ClientExit] = queue.Queue()

    def open(self, api: BrokerClient, desktop: Desktop, **options: Any) -> OpenedDesktop:
        """open_desktop on Linux reporting here; `options` add to or replace its
        defaults (the default Preferences)."""
        return open_desktop(
            api,
            desktop,
            **{
                "on_exit": self.exits.put,
                "on_connected": self.connected.set,
                "preferences": Preferences(),
                "platform": "linux",
                **options,
            },
        )


class Recorder(httpx.HTTPTransport):
    """The launcher's real HTTP transport, keeping each launch request's answer."""

    def __init__(self) -> None:
        super().__init__()
        self.launches: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/launch"):
            response.read()
            self.launches.append((request, response))
        return response


def open_until_ready(
    api: BrokerClient, pool: str, watch: Watch, key: str, recorder: Recorder
) -> OpenedDesktop:
    """open_desktop with the same key until the machine is up (the launcher's
    StartWaiter does this after Retry-After)."""
    [desktop] = [d for d in api.desktops() if d.id == pool]
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    while True:
        try:
            return watch.open(api, desktop, idempotency_key=key)
        except DesktopStarting:
            last = recorder.launches[-1][1]
            assert time.monotonic() < deadline, f"{pool} still starting: {last.text}"
            time.sleep(POLL_S)


@contextmanager
def stopped(client: RunningClient) -> Iterator[RunningClient]:
    try:
        yield client
    finally:
        client.stop()


@contextmanager
def from_broker(url: str, pool: str) -> Iterator[tuple[OpenedDesktop, Watch, Recorder]]:
    """USER's desktop of `pool` opened by the launcher from the broker at `url`; the
    viewer is stopped when the block ends (read its exit from the Watch after that)."""
    recorder = Recorder()
    watch = Watch()
    with BrokerClient(url, transport=recorder) as api:
        api.login(username=USER, password=SIGN_IN)
        opened = open_until_ready(api, pool, watch, new_idempotency_key(), recorder)
        with stopped(opened.client):
            yield opened, watch, recorder


@pytest.fixture
def spice_desktop() -> Iterator[XspiceDesktop]:
    """Xspice on 127.0.0.1, a free display and port, painted DESKTOP_COLOUR, SPICE_PASSWORD."""
    require_binaries("Xspice", "xsetroot")
    with XspiceDesktop(SPICE_PASSWORD) as server:
        yield server


def spice_desktop_shown(watch: Watch, server: XspiceDesktop, screen: Xvfb) -> None:
    """The viewer said it connected, Xspice accepted it, and the desktop's colour is on
    the user's `screen` (the viewer's window sits at its top left)."""
    assert watch.connected.wait(30), "remote-viewer gave no sign of a connection"
    wait_for(lambda: SPICE_CONNECTED in server.log_text(), 20, "Xspice to accept the viewer")
    wait_for(
        lambda: pixel_colour(screen.display_name, 200, 200) == DESKTOP_COLOUR,
        20,
        "the SPICE desktop on the user's screen",
    )
