"""SPICE against a real server: open_desktop starts the real remote-viewer with
the type=spice .vv document on its stdin, and it signs in to an Xspice desktop
(an X server that serves its screen over SPICE, with a password) and shows
it on an Xvfb screen standing in for the user's monitor.

The broker is replayed (tests/helpers/fake_broker): the bundled one's test
helper serves VNC pools only.

Through a proxy: Proxmox's spiceproxy answer (the .vv ``host`` a name only the
proxy knows, ``proxy`` its URL) as the broker passes it on, and
tests/helpers/connect_proxy in the proxy's place, mapping that name to Xspice.

Where dbus-daemon is installed, the viewer runs with a session bus as on a
desktop, whose accessibility bus (at-spi2-core) and settings (dconf) leave
folders and sockets in the runtime directory: the tests look for what would
matter there (a file holding a secret, a launch file), not for an empty folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import Xvfb
from launcher.core.launching import OpenedDesktop
from launcher.core.models import Protocol
from tests.helpers.connect_proxy import ConnectProxy, running_proxy
from tests.helpers.e2e import (
    SPICE_CONNECTED,
    SPICE_PASSWORD,
    SPICE_REFUSED,
    XspiceDesktop,
    files_containing,
    require_binaries,
    secrets_absent,
    wait_for,
)
from tests.helpers.fake_broker import FakeBroker, desktop
from tests.helpers.viewers import Watch, spice_desktop, spice_desktop_shown

__all__ = ["spice_desktop"]  # the fixture

pytestmark = pytest.mark.e2e

USER, SIGN_IN = "ann", "ann-sign-in-pw"


@pytest.fixture
def private_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_RUNTIME_DIR of our own, where the supervisor would put launch files."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    return runtime


@pytest.fixture
def desktop_session_bus(
    private_runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A D-Bus session bus for the viewer, as a desktop has, if dbus-daemon is installed.

    Its runtime directory is the viewer's, as when a bus is started for a
    session (dbus-run-session) or by the viewer itself (dbus-launch's
    autolaunch): the accessibility bus it starts for GTK (at-spi2-core) and
    dconf make their files there. Stopped with what it started (its process
    group) at the end.
    """
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        yield  # the viewer runs without a session bus, as on a bare server
        return
    address = f"unix:path={tmp_path / 'session-bus'}"
    with (tmp_path / "dbus-daemon.log").open("wb") as out:
        bus = subprocess.Popen(
            [daemon, "--session", "--nofork", "--nopidfile", f"--address={address}"],
            env={**os.environ, "XDG_RUNTIME_DIR": str(private_runtime)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        wait_for(lambda: (tmp_path / "session-bus").is_socket(), 10, "dbus-daemon's socket")
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(bus.pid, signal.SIGTERM)
        try:
            bus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(bus.pid, signal.SIGKILL)
            bus.wait(timeout=10)


@contextmanager
def open_spice(
    server: XspiceDesktop, password: str, watch: Watch, **through: object
) -> Iterator[OpenedDesktop]:
    """Open the desktop; ``through``: connection fields that replace or add to its own."""
    connection = {
        "protocol": "spice",
        "host": server.host,
        "port": server.port,
        "password": password,
    }
    broker = FakeBroker(
        desktops=[desktop("lab", "spice")],
        connections={"lab": {**connection, **through}},
        users={USER: SIGN_IN},
    )
    with broker.client() as api:
        api.login(username=USER, password=SIGN_IN)
        [lab] = api.desktops()
        opened = watch.open(api, lab)
        try:
            yield opened
        finally:
            opened.client.stop()


def launch_dirs() -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob("rubicon-launch-*"))


def test_remote_viewer_signs_in_to_xspice_and_no_secret_leaks(
    tmp_path: Path,
    user_screen: Xvfb,
    spice_desktop: XspiceDesktop,
    private_runtime: Path,
    desktop_session_bus: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("remote-viewer", "import")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    launch_dirs_before = set(launch_dirs())
    watch = Watch()
    with open_spice(spice_desktop, SPICE_PASSWORD, watch) as opened:
        assert opened.protocol is Protocol.SPICE
        spice_desktop_shown(watch, spice_desktop, user_screen)

        # While it runs: the password is nowhere but in the viewer's memory.
        pid = opened.client.pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[0].endswith(b"remote-viewer")
        assert cmdline[1:] == [b"--debug", b"-", b""]
        secrets_absent(pid, SPICE_PASSWORD, SIGN_IN)
        for secret in (SPICE_PASSWORD, SIGN_IN):
            assert secret not in caplog.text
            assert secret not in spice_desktop.log_text()
            new_dirs = set(launch_dirs()) - launch_dirs_before
            assert files_containing(secret, tmp_path, *new_dirs) == []
        # The runtime directory is shared with the desktop (at-spi, dconf, ...): what
        # matters is that no file there holds a secret (above, under tmp_path), and
        # that the supervisor wrote no launch file there: the .vv went through stdin.
        assert private_runtime.is_relative_to(tmp_path)
        assert sorted(private_runtime.glob("rubicon-launch-*")) == []
        assert "connected (it said so)" in caplog.text
        assert SPICE_REFUSED not in spice_desktop.log_text()
    result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)


def test_a_wrong_password_ends_with_the_message_and_no_hang(
    user_screen: Xvfb, spice_desktop: XspiceDesktop, caplog: pytest.LogCaptureFixture
) -> None:
    require_binaries("remote-viewer")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    watch = Watch()
    started = time.monotonic()
    with open_spice(spice_desktop, "not-the-pw", watch) as opened:
        # remote-viewer would sit on its error dialog; the supervisor stops it.
        result = watch.exits.get(timeout=30)
        assert not opened.client.running()
    assert time.monotonic() - started < 30
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert not result.connected
    assert not watch.connected.is_set()
    wait_for(lambda: SPICE_REFUSED in spice_desktop.log_text(), 10, "Xspice to log the refusal")
    assert SPICE_CONNECTED not in spice_desktop.log_text()
    assert "not-the-pw" not in caplog.text


# What Proxmox's spiceproxy call answers for host (its API reference): a name its
# proxy alone resolves. The port is the one the .vv asks the proxy for; the
# proxy picks the VM's real port itself, as spiceproxy does.
PVE_HOST = "pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f41b7a8c5d09e1f2a3b4c5d6e7f8091"
PVE_PORT = 61000


@pytest.fixture
def spice_proxy(spice_desktop: XspiceDesktop) -> Iterator[ConnectProxy]:
    with running_proxy({PVE_HOST: spice_desktop.port}) as proxy:
        yield proxy


def test_remote_viewer_goes_through_the_proxy_to_the_name_only_it_knows(
    user_screen: Xvfb,
    spice_desktop: XspiceDesktop,
    spice_proxy: ConnectProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("remote-viewer", "import")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    watch = Watch()
    with open_spice(
        spice_desktop,
        SPICE_PASSWORD,
        watch,
        host=PVE_HOST,
        port=PVE_PORT,
        proxy=spice_proxy.url,
    ) as opened:
        spice_desktop_shown(watch, spice_desktop, user_screen)
        secrets_absent(opened.client.pid, SPICE_PASSWORD, SIGN_IN)
    result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)
    # Every channel (main, display, inputs, ...) asked the proxy for the same name.
    assert spice_proxy.requests
    assert set(spice_proxy.requests) == {f"CONNECT {PVE_HOST}:{PVE_PORT} HTTP/1.0"}
    assert spice_proxy.refused == []
    assert SPICE_PASSWORD not in caplog.text


def test_a_wrong_password_through_the_proxy_is_refused_with_the_message(
    user_screen: Xvfb, spice_desktop: XspiceDesktop, spice_proxy: ConnectProxy
) -> None:
    require_binaries("remote-viewer")
    watch = Watch()
    with open_spice(
        spice_desktop, "not-the-pw", watch, host=PVE_HOST, port=PVE_PORT, proxy=spice_proxy.url
    ) as opened:
        result = watch.exits.get(timeout=30)
        assert not opened.client.running()
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert not result.connected
    wait_for(lambda: SPICE_REFUSED in spice_desktop.log_text(), 10, "Xspice to log the refusal")
    assert f"CONNECT {PVE_HOST}:{PVE_PORT} HTTP/1.0" in spice_proxy.requests


def test_a_proxy_that_refuses_the_name_ends_with_the_message(
    user_screen: Xvfb, spice_desktop: XspiceDesktop
) -> None:
    """A ticket the proxy no longer knows (it ran out, or names another VM): a 403."""
    require_binaries("remote-viewer")
    watch = Watch()
    with (
        running_proxy({"pvespiceproxy:another:101:pve1::00": spice_desktop.port}) as proxy,
        open_spice(
            spice_desktop, SPICE_PASSWORD, watch, host=PVE_HOST, port=PVE_PORT, proxy=proxy.url
        ) as opened,
    ):
        result = watch.exits.get(timeout=30)
        assert not opened.client.running()
    assert result.reason is not None
    assert result.reason.message == "The desktop's console proxy refused the connection."
    assert proxy.refused == [f"CONNECT {PVE_HOST}:{PVE_PORT} HTTP/1.0"]
    assert SPICE_CONNECTED not in spice_desktop.log_text()
