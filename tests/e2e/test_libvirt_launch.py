"""The libvirt backend end to end: the broker's HTTP API on a real libvirtd with
real QEMU guests, and the real launcher and viewers on an Xvfb user screen.

One private libvirtd serves the whole session (tests/helpers/libvirtd.py);
each test defines tiny guests (64 MiB, TCG, no OS: SeaBIOS finds nothing to
boot, and a console is all a test needs). The broker is ``create_app`` on a
pools file of the test's, served by uvicorn on loopback (the launcher needs a
URL). Its scheduler is off: ``Site.tend`` runs it, and the upkeep's discovery
is what adds the pool's domains as machines.

What QEMU did with a console password is read from QEMU itself: its
``vnc_auth_*`` trace events (switched on through the HMP monitor, written to
the guest's log) say pass, or fail and why; for SPICE, ``info spice`` lists
only channels that got past the password, and spice-server's refusals are in
the guest's log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broker_stub.backends import answers
from broker_stub.db.models import Machine
from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from launcher.core import supervisor
from launcher.core.broker import BrokerClient, DesktopStarting, new_idempotency_key
from launcher.core.launching import Preferences, locate, open_desktop, prepare
from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.supervisor import RunningClient
from tests.helpers.broker_site import (
    SIGN_IN,
    USER,
    Site,
    audit,
    degraded_gauge,
    degrades,
    launch_and_log_off,
    pool_toml,
    recovers,
    start_site,
)
from tests.helpers.e2e import (
    SPICE_REFUSED,
    VNC_PASSWORD,
    pid_alive,
    require_binaries,
    secrets_absent,
    wait_for,
)
from tests.helpers.libvirtd import Guests, Libvirtd, graphics_ports, libvirt, vnc_password_accepted
from tests.helpers.viewers import Recorder, Watch, from_broker, open_until_ready, stopped

pytestmark = pytest.mark.e2e

REFUSED = "The desktop refused the console password."


# --- the broker ---------------------------------------------------------------------


def libvirt_pool(pool_id: str, daemon: Libvirtd, domains: list[str], **keys: Any) -> str:
    """A libvirt pool of ``domains``; ``backend_*`` keys go into [pools.backend]."""
    backend = {"type": "libvirt", "uri": daemon.uri, "domains": domains}
    for key in [k for k in keys if k.startswith("backend_")]:
        backend[key.removeprefix("backend_")] = keys.pop(key)
    return pool_toml(pool_id, backend=backend, **keys)


@pytest.fixture
def make_site(tmp_path: Path, libvirt_guests: Guests) -> Iterator[Callable[[str], Site]]:
    """make_site(pools file text): a broker on a new SQLite database, its pools'
    machines found. Stopped before the test's guests are removed (it depends on them)."""
    with ExitStack() as stack:
        yield lambda pools: start_site(stack, tmp_path, pools)


# --- the guests ---------------------------------------------------------------------


def live_port(daemon: Libvirtd, name: str, kind: str = "vnc") -> int:
    with daemon.connect() as conn:
        return graphics_ports(conn.lookupByName(name).XMLDesc(0))[kind]


def power(daemon: Libvirtd, name: str) -> tuple[int, int]:
    """(state, reason) of the domain, as libvirt has it."""
    with daemon.connect() as conn:
        state, reason = conn.lookupByName(name).state()
    return state, reason


def hmp(daemon: Libvirtd, name: str, command: str) -> str:
    return daemon.virsh("qemu-monitor-command", "--hmp", name, command).stdout


def trace_vnc_auth(daemon: Libvirtd, name: str) -> None:
    """QEMU writes vnc_auth_pass / vnc_auth_fail (with the reason) to the guest's log."""
    hmp(daemon, name, "trace-event vnc_auth_* on")


def vnc_auth(daemon: Libvirtd, name: str) -> list[str]:
    """The guest's VNC authentication outcomes so far: "pass", or why it failed."""
    return [
        "pass" if outcome == "pass" else reason
        for outcome, reason in re.findall(
            r"vnc_auth_(pass|fail) .*?(?:message=(.*) reason=.*)?$", daemon.guest_log(name), re.M
        )
    ]


def wait_for_auth(daemon: Libvirtd, name: str, count: int) -> list[str]:
    wait_for(lambda: len(vnc_auth(daemon, name)) >= count, 10, f"QEMU to trace auth #{count}")
    return vnc_auth(daemon, name)


# --- the viewers --------------------------------------------------------------------


def start_viewer(connection: ConnectionInfo, watch: Watch) -> RunningClient:
    """The launcher's steps after the broker answered (open_desktop's tail), for an
    answer the broker gave earlier: a password it has since replaced."""
    preferences = Preferences()
    client = locate(connection.protocol, preferences, platform="linux")
    prepared = prepare(connection, client, preferences, title="stale")
    return supervisor.start(
        prepared.plan,
        name=prepared.name,
        classify=prepared.classify,
        on_exit=watch.exits.put,
        exit_reason=prepared.exit_reason,
        connect=prepared.connect,
        on_connected=watch.connected.set,
    )


def nowhere_in_processes(*secrets: str) -> set[int]:
    """No process here has any of ``secrets`` in its argv or environment; the PIDs
    that were read (kernel threads have neither, and this container's init is not
    ours to read)."""
    read = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            # A process may also end between the listing and the reading.
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
                secrets_absent(int(proc.name), *secrets)
                read.add(int(proc.name))
    return read


# --- 1. a stopped machine ------------------------------------------------------------


def test_a_stopped_machine_starts_and_vncviewer_gets_in_with_its_one_time_password(
    make_site: Callable[[str], Site],
    libvirt_guests: Guests,
    user_screen: Xvfb,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("vncviewer")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("vm", start=False)
    site = make_site(libvirt_pool("lab", daemon, [name]))
    assert site.machine("lab", name)["state"] == "ready"  # found by the upkeep
    assert power(daemon, name)[0] == libvirt.VIR_DOMAIN_SHUTOFF

    recorder = Recorder()
    watch = Watch()
    key = new_idempotency_key()
    with BrokerClient(site.url, transport=recorder) as api:
        api.login(username=USER, password=SIGN_IN)
        [lab] = api.desktops()
        with pytest.raises(DesktopStarting) as starting:
            open_desktop(
                api,
                lab,
                on_exit=watch.exits.put,
                preferences=Preferences(),
                platform="linux",
                idempotency_key=key,
            )
        [(request, first)] = recorder.launches
        assert request.headers["Idempotency-Key"] == key
        assert first.status_code == 202
        body = first.json()
        assert body["status"] == "starting"
        assert first.headers["Retry-After"] == str(body["retry_after"])
        assert body["retry_after"] >= 1
        assert starting.value.retry_after == body["retry_after"]
        # The broker started the domain before it answered.
        assert power(daemon, name)[0] == libvirt.VIR_DOMAIN_RUNNING
        trace_vnc_auth(daemon, name)

        opened = open_until_ready(api, "lab", watch, key, recorder)
        with stopped(opened.client):
            request, answer = recorder.launches[-1]
            assert request.headers["Idempotency-Key"] == key
            assert answer.status_code == 200
            answered_at = datetime.now(UTC)
            assert answer.json()["session_id"] == body["session_id"]
            connection = answer.json()["connection"]
            port = live_port(daemon, name)
            assert (connection["protocol"], connection["host"], connection["port"]) == (
                "vnc",
                "127.0.0.1",
                port,
            )
            assert (opened.host, opened.port) == ("127.0.0.1", port)
            password = connection["password"]
            assert len(password) == 8
            assert password != "initial1"  # not the one in the domain's configuration
            ahead = datetime.fromisoformat(connection["expires_at"]) - answered_at
            assert timedelta(seconds=55) < ahead <= timedelta(seconds=60)

            assert watch.connected.wait(30), "vncviewer gave no sign of a connection"
            assert opened.client.connected
            assert "connected (it said so)" in caplog.text
            # QEMU let the viewer in, and refused nobody.
            assert wait_for_auth(daemon, name, 1) == ["pass"]
            assert opened.client.running()
            # Among them the viewer, QEMU (libvirt sets it through the monitor), libvirtd.
            read = nowhere_in_processes(password, SIGN_IN)
            assert {opened.client.pid, daemon.libvirtd_pid, *daemon.qemu_pids()} <= read
            assert password not in caplog.text
        result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)


# --- 2. one-time passwords ---------------------------------------------------------


def test_a_reconnect_replaces_the_password_and_an_old_or_expired_one_is_refused(
    make_site: Callable[[str], Site],
    libvirt_guests: Guests,
    user_screen: Xvfb,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("vncviewer")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("vm", start=False)
    # console_ttl: the shortest the broker allows, to see a password expire.
    site = make_site(libvirt_pool("lab", daemon, [name], backend_console_ttl="10s"))
    user = site.sign_in()

    first, _ = site.launch_ready("lab", user)
    assert first.status_code == 200, first.text
    trace_vnc_auth(daemon, name)
    old = first.json()["connection"]
    port = old["port"]
    assert vnc_password_accepted(port, old["password"])
    assert wait_for_auth(daemon, name, 1) == ["pass"]

    # The user's second launch reconnects to the same session with a new password.
    second = site.launch("lab", user)
    assert second.status_code == 200, second.text
    assert second.json()["session_id"] == first.json()["session_id"]
    new = second.json()["connection"]
    assert new["port"] == port
    assert new["password"] != old["password"]
    expires_at = datetime.fromisoformat(new["expires_at"])
    assert expires_at - datetime.now(UTC) <= timedelta(seconds=10)
    assert not vnc_password_accepted(port, old["password"])
    assert vnc_password_accepted(port, new["password"])
    assert wait_for_auth(daemon, name, 3)[1:] == ["mis-matched challenge response", "pass"]

    # The real viewer, given the first answer's password, reports the refusal.
    watch = Watch()
    stale = ConnectionInfo(
        protocol=Protocol.VNC, host=old["host"], port=port, password=old["password"]
    )
    said = len(caplog.text)
    with stopped(start_viewer(stale, watch)) as viewer:
        # vncviewer waits on its error dialog; the launcher reads the line and stops it.
        result = watch.exits.get(timeout=30)
        assert not pid_alive(viewer.pid)
    assert "Authentication failure" in caplog.text[said:]
    assert result.reason is not None
    assert result.reason.message == REFUSED
    assert not watch.connected.is_set()
    assert wait_for_auth(daemon, name, 4)[3] == "mis-matched challenge response"
    assert old["password"] not in caplog.text

    # Past its passwdValidTo the newest password is refused too (QEMU says why).
    while datetime.now(UTC) < expires_at + timedelta(seconds=1.5):
        time.sleep(0.2)
    assert not vnc_password_accepted(port, new["password"])
    assert wait_for_auth(daemon, name, 5)[4] == "password is expired"


# --- 3. SPICE -----------------------------------------------------------------------


def spice_channels(daemon: Libvirtd, name: str) -> list[tuple[str, str]]:
    """(client address, channel name) of each SPICE channel that passed the password."""
    listing = hmp(daemon, name, "info spice")
    return re.findall(
        r"^Channel:\n\s+address: (\S+)\n(?:.*\n)*?\s+channel name: (\w+)", listing, re.M
    )


def test_remote_viewer_gets_in_to_a_spice_guest_and_an_old_password_is_refused(
    make_site: Callable[[str], Site],
    libvirt_guests: Guests,
    user_screen: Xvfb,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("remote-viewer")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("vm", start=False, graphics=("spice",))
    site = make_site(libvirt_pool("lab", daemon, [name], protocol="spice"))

    with from_broker(site.url, "lab") as (opened, watch, recorder):
        assert [r.status_code for _, r in recorder.launches][-1] == 200
        assert recorder.launches[0][1].status_code == 202
        connection = recorder.launches[-1][1].json()["connection"]
        assert connection["protocol"] == "spice"
        assert connection["port"] == live_port(daemon, name, "spice")
        password = connection["password"]
        assert opened.protocol is Protocol.SPICE
        assert watch.connected.wait(30), "remote-viewer gave no sign of a connection"
        assert "connected (it said so)" in caplog.text
        # QEMU lists a channel only once its client passed the password.
        wait_for(lambda: len(spice_channels(daemon, name)) >= 2, 10, "SPICE channels")
        channels = spice_channels(daemon, name)
        assert "main" in {kind for _, kind in channels}
        assert all(address.startswith("127.0.0.1:") for address, _ in channels)
        cmdline = Path(f"/proc/{opened.client.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:] == [b"--debug", b"-", b""]  # the .vv comes on stdin
        read = nowhere_in_processes(password, SIGN_IN)
        assert {opened.client.pid, *daemon.qemu_pids()} <= read
        assert password not in caplog.text

        # A reconnect gets a new password; the first one no longer opens the console.
        user = site.sign_in()
        again = site.launch("lab", user)
        assert again.status_code == 200, again.text
        assert again.json()["connection"]["password"] != password
        stale_watch = Watch()
        stale = ConnectionInfo(
            protocol=Protocol.SPICE,
            host=connection["host"],
            port=connection["port"],
            password=password,
        )
        before = len(spice_channels(daemon, name))
        assert SPICE_REFUSED not in daemon.guest_log(name)
        said = len(caplog.text)
        with stopped(start_viewer(stale, stale_watch)) as viewer:
            result = stale_watch.exits.get(timeout=30)
            assert not pid_alive(viewer.pid)
        refusal = rf"remote-viewer:{viewer.pid}\).*main channel: auth failure"
        assert re.search(refusal, caplog.text[said:])
        assert result.reason is not None
        assert result.reason.message == REFUSED
        assert not stale_watch.connected.is_set()
        wait_for(
            lambda: SPICE_REFUSED in daemon.guest_log(name),
            10,
            "spice-server to log the refusal",
        )
        # The viewer that got in keeps its connection (connected="keep").
        assert len(spice_channels(daemon, name)) == before
        assert opened.client.running()
    result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)


# --- 4. recycle by revert ---------------------------------------------------------------


def disk_backend(daemon: Libvirtd, name: str) -> str:
    """The QOM path of the block backend of the guest's disk (qemu-io -d takes it)."""
    found = re.search(r"Attached to:\s+(\S+)", hmp(daemon, name, "info block"))
    assert found, f"no disk attached in {name}"
    return found.group(1)


def qemu_io(daemon: Libvirtd, name: str, command: str) -> str:
    """Run a qemu-io command on the running guest's disk (through its device, which
    holds the write permission); QEMU prints the outcome to the guest's log."""
    start = len(daemon.guest_log(name))
    device = disk_backend(daemon, name)
    hmp(daemon, name, f'qemu-io -d {device} "{command}"')
    outcome = re.compile(r"^(wrote|read) \d+/\d+ bytes|^Pattern verification failed", re.M)
    wait_for(
        lambda: outcome.search(daemon.guest_log(name)[start:]) is not None,
        10,
        f"qemu-io {command}",
    )
    return daemon.guest_log(name)[start:]


def holds(daemon: Libvirtd, name: str, pattern: int) -> bool:
    """Whether the disk's first 64 KiB are all ``pattern`` (read by QEMU itself)."""
    text = qemu_io(daemon, name, f"read -P {pattern:#x} 0 64k")
    return "Pattern verification failed" not in text


def test_recycle_by_revert_throws_away_what_the_user_wrote(
    make_site: Callable[[str], Site], libvirt_guests: Guests
) -> None:
    daemon = libvirt_guests.libvirtd
    fresh = libvirt_guests.define("fresh")
    kept = libvirt_guests.define("kept")
    for name in (fresh, kept):
        # Internal (qcow2) snapshots of the running guests, disk and memory.
        daemon.virsh("snapshot-create-as", name, "clean")
    site = make_site(
        libvirt_pool("fresh", daemon, [fresh], recycle="revert", backend_snapshot="clean")
        + libvirt_pool("kept", daemon, [kept])  # the control: recycle = "none"
    )
    user = site.sign_in()

    for pool, name in (("fresh", fresh), ("kept", kept)):
        launched, _ = site.launch_ready(pool, user)
        assert launched.status_code == 200, launched.text
        assert holds(daemon, name, 0)
        assert "wrote 65536/65536 bytes" in qemu_io(daemon, name, "write -P 0xab 0 64k")
        assert holds(daemon, name, 0xAB)
        session = launched.json()["session_id"]
        assert site.http.post(f"/api/v1/sessions/{session}/logoff", headers=user).status_code == 204
        # "none" makes the control ready at once; a revert runs on the upkeep's threads
        # and restarts QEMU (0.4 s here), so the machine is still releasing. Read from
        # the database: an admin request takes a good part of that time.
        with site.app.state.session_factory() as db:
            state = db.scalar(select(Machine.state).where(Machine.name == name))
        assert state == ("releasing" if pool == "fresh" else "ready")
        site.app.state.upkeep.wait()
        assert site.machine(pool, name)["state"] == "ready"

    assert power(daemon, fresh) == (
        libvirt.VIR_DOMAIN_RUNNING,
        libvirt.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT,
    )
    assert not holds(daemon, fresh, 0xAB)
    assert holds(daemon, fresh, 0)
    assert holds(daemon, kept, 0xAB)  # without the revert the user's bytes stay


def test_recycle_by_power_off_stops_a_guest_that_ignores_acpi(
    make_site: Callable[[str], Site], libvirt_guests: Guests
) -> None:
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("off")
    # No OS in the guest: nothing answers the ACPI shutdown, so after shutdown_timeout
    # the broker powers it off hard.
    site = make_site(
        libvirt_pool("off", daemon, [name], recycle="poweroff", backend_shutdown_timeout="2s")
    )
    user = site.sign_in()
    launched, _ = site.launch_ready("off", user)
    assert launched.status_code == 200, launched.text
    session = launched.json()["session_id"]

    started = time.monotonic()
    assert site.http.post(f"/api/v1/sessions/{session}/logoff", headers=user).status_code == 204
    site.app.state.upkeep.wait()
    waited = time.monotonic() - started

    assert power(daemon, name)[0] == libvirt.VIR_DOMAIN_SHUTOFF
    assert power(daemon, name)[1] == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED
    assert waited >= 2.0  # the orderly shutdown was given its time first
    assert site.machine("off", name)["state"] == "ready"
    # Off is not broken: the next launch starts it again.
    again, _ = site.launch_ready("off", user)
    assert again.status_code == 200, again.text
    assert power(daemon, name)[0] == libvirt.VIR_DOMAIN_RUNNING


# --- 5. libvirtd stops --------------------------------------------------------------------


def test_without_libvirtd_the_pool_degrades_and_recovers_and_a_static_pool_carries_on(
    make_site: Callable[[str], Site],
    libvirt_guests: Guests,
    vnc_desktop: XvncDesktop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("vm", start=False)
    fixed = {"name": "desk-1", "host": "127.0.0.1", "port": vnc_desktop.port}
    site = make_site(
        libvirt_pool("kvm", daemon, [name])
        + pool_toml("fixed", machines=[fixed | {"password": VNC_PASSWORD}])
    )
    user = site.sign_in()
    launch_and_log_off(site, "kvm", user)

    daemon.stop_libvirtd()
    try:
        pool = degrades(site, "kvm", user)
        assert "libvirt" in pool["degraded_reason"]
        assert degraded_gauge(site, "fixed") == 0
        [event] = audit(site, "pool.degraded")
        assert event["target"] == "pool:kvm"
        desktops = {
            d["id"]: d for d in site.http.get("/api/v1/desktops", headers=user).json()["desktops"]
        }
        assert desktops["fixed"]["state"] == "available"

        # The static pool does not depend on libvirt.
        static = site.launch("fixed", user)
        assert static.status_code == 200, static.text
        assert static.json()["connection"]["port"] == vnc_desktop.port
        site.tend()  # the degraded pool's upkeep finds libvirtd still away
        assert degraded_gauge(site, "kvm") == 1
    finally:
        daemon.start_libvirtd()

    again = recovers(site, "kvm", user)
    assert len(audit(site, "pool.degraded")) == 1
    assert again.json()["connection"]["port"] == live_port(daemon, name)

    said = [r.getMessage() for r in caplog.records if "degraded" in r.getMessage()]
    assert len(said) == 1, said


# --- 6. power-on timeout ---------------------------------------------------------------


def test_a_machine_whose_console_never_answers_fails_with_power_on_timeout(
    make_site: Callable[[str], Site], libvirt_guests: Guests, tmp_path: Path
) -> None:
    daemon = libvirt_guests.libvirtd
    name = libvirt_guests.define("vm", start=False)
    site = make_site(libvirt_pool("lab", daemon, [name], power_on_timeout="5s"))
    user = site.sign_in()
    key = new_idempotency_key()
    started = time.monotonic()  # before the broker starts the domain and its clock
    first = site.launch("lab", user, key)
    assert first.status_code == 202, first.text
    port = live_port(daemon, name)
    # QEMU's VNC server leaves the port libvirt reports for a UNIX socket: the domain
    # runs and its console never answers where the broker looks (QMP display-update).
    move = {
        "execute": "display-update",
        "arguments": {
            "type": "vnc",
            "addresses": [{"type": "unix", "path": str(tmp_path / "vnc")}],
        },
    }
    daemon.virsh("qemu-monitor-command", name, json.dumps(move))
    assert live_port(daemon, name) == port
    assert power(daemon, name)[0] == libvirt.VIR_DOMAIN_RUNNING
    assert not answers("127.0.0.1", port)

    replies = []
    while (reply := site.launch("lab", user, key)).status_code == 202:
        replies.append(reply)
        assert time.monotonic() - started < 20, "no power-on timeout"
        time.sleep(0.5)
    assert replies, "the console was never waited for"
    assert reply.status_code == 504, reply.text
    assert reply.json()["code"] == "power_on_timeout"
    assert time.monotonic() - started >= 5
    machine = site.machine("lab", name)
    assert machine["state"] == "error"
    assert "5s" in machine["problem"]
    # The session that waited for it ended, and the pool has no other machine.
    [session] = site.http.get(
        "/api/v1/admin/sessions", params={"user": USER}, headers=site.admin()
    ).json()["sessions"]
    assert session["id"] == first.json()["session_id"]
    assert session["state"] == "ended"
    assert site.launch("lab", user).json()["code"] == "no_machine_available"
