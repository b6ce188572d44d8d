"""The Hyper-V backend through the broker's HTTP API, with a replaying runner.

API-level, not end to end: no Hyper-V host exists here, so the broker's
PowerShell runner is replaced by tests/helpers/hyperv.py's Replay, which
answers from recorded exchanges (tests/data/hyperv/exchanges.xml, shaped from
Microsoft's documentation, not captured from a live host) and refuses any
statement it has no recording for. Everything else is real: create_app on a
SQLite database, the pools file, the scheduler and upkeep (run by the test
on a fake clock), the backend's calls on their threads, and the HTTP API
through FastAPI's TestClient. The test moves the recorded host's state on
between steps (`Replay.now`), as a host's answers would change.

No external program runs, so these tests carry no `e2e` marker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from broker_stub.app import create_app
from broker_stub.auth.users import set_user
from broker_stub.backends.hyperv import runner as runner_module
from broker_stub.db.models import Machine
from broker_stub.settings import BrokerSettings
from tests.helpers.clock import FakeClock
from tests.helpers.hyperv import Replay
from tests.helpers.pools_file import write_pools

USER, PASSWORD = "ann", "ann-sign-in-pw"
LAB1_ID = "6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51"
STEP = timedelta(seconds=16)  # longer than the upkeep interval: each run tends every pool
HOST = {"host": "hv1.example.com", "auth": "kerberos"}


def hyperv_pool(pool_id: str, backend: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {
        "id": pool_id,
        "name": pool_id.title(),
        "protocol": "rdp",
        "users": [USER],
        # The recorded guests' addresses (192.0.2.0/24) are documentation addresses:
        # nothing answers there, so the broker is told not to knock.
        "health_check": False,
        **keys,
        "backend": {"type": "hyperv", **HOST, **backend},
    }


@dataclass
class Site:
    app: FastAPI
    client: TestClient
    clock: FakeClock
    replay: Replay
    _token: str | None = None

    def headers(self) -> dict[str, str]:
        if self._token is None:
            reply = self.client.post(
                "/api/v1/auth/login", json={"username": USER, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            self._token = reply.json()["token"]
        return {"Authorization": f"Bearer {self._token}"}

    def tend(self) -> None:
        self.app.state.scheduler.run_once(self.clock.advance(STEP))
        self.app.state.upkeep.wait(timeout=60)

    def launch(self, pool: str, key: str | None = None) -> Response:
        headers = {**self.headers(), "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(f"/api/v1/desktops/{pool}/launch", headers=headers)

    def logoff(self, session_id: str) -> None:
        reply = self.client.post(f"/api/v1/sessions/{session_id}/logoff", headers=self.headers())
        assert reply.status_code == 204, reply.text
        self.app.state.upkeep.wait(timeout=60)

    def machines(self, pool: str) -> dict[str, str]:
        with self.app.state.session_factory() as db:
            rows = db.scalars(select(Machine).where(Machine.pool_id == pool)).all()
            return {m.name: m.state for m in rows}

    def pool(self, pool: str) -> dict[str, Any]:
        with self.app.state.session_factory() as db:
            from broker_stub.db.models import Pool

            row = db.get(Pool, pool)
            assert row is not None
            return {"degraded_since": row.degraded_since, "degraded_reason": row.degraded_reason}

    def sent(self, cmdlet: str) -> list[str]:
        return [text for text in self.replay.sent if cmdlet in text]


@pytest.fixture
def make_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Site]]:
    with ExitStack() as stack:
        made: list[Site] = []

        def make(pools: list[dict[str, Any]], *ids: str) -> Site:
            replay = Replay(ids, ordered=False)
            # The node's runner for the host is the replay (the broker makes one per host).
            monkeypatch.setattr(runner_module, "PsrpRunner", lambda _options: replay)
            settings = BrokerSettings(
                database_url=f"sqlite:///{tmp_path / 'broker.sqlite3'}",
                config=write_pools(tmp_path / "pools.toml", pools),
                scheduler=False,
            )
            clock = FakeClock()
            app = create_app(settings, clock=clock)
            with app.state.session_factory() as db:
                set_user(db, USER, PASSWORD, display_name="Ann")
            site = Site(app, stack.enter_context(TestClient(app)), clock, replay)
            made.append(site)
            site.tend()
            return site

        yield make
        for site in made:
            assert site.replay.unexpected == [], "statements without a recording"


def launched(site: Site, pool: str) -> tuple[list[Response], Response]:
    """Launch with one key until the answer is not 202: the 202s, and that answer."""
    key = str(uuid.uuid4())
    starting = []
    for _ in range(10):
        reply = site.launch(pool, key)
        if reply.status_code != 202:
            return starting, reply
        starting.append(reply)
        site.clock.advance(timedelta(seconds=reply.json()["retry_after"]))
    pytest.fail(f"{pool} kept answering 202")


def test_launch_powers_on_reconnects_and_logoff_restores_the_checkpoint(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(
        [hyperv_pool("lab", {"name_pattern": "lab-1"}, recycle="revert")],
        "list",
        "find-lab-1-off",
        "start-lab-1",
    )
    assert site.machines("lab") == {"lab-1": "ready"}  # found by the upkeep's Get-VM
    key = str(uuid.uuid4())
    first = site.launch("lab", key)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "starting"
    assert site.sent("Start-VM") == [f"Get-VM -Id '{LAB1_ID}' | Start-VM"]

    # Up, but the guest has not reported its address yet: still starting.
    site.replay.now("find-lab-1-running", "addresses-lab-1-none")
    waiting = site.launch("lab", key)
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["session_id"] == first.json()["session_id"]

    site.replay.now("addresses-lab-1")
    ready = site.launch("lab", key)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["session_id"] == first.json()["session_id"]
    connection = body["connection"]
    assert (connection["protocol"], connection["host"], connection["port"]) == (
        "rdp",
        "192.0.2.21",  # the guest's IPv4 address, not its link-local IPv6 one
        3389,
    )
    assert connection["vmconnect"] is None
    assert connection["password"] is None
    assert len(site.sent("Start-VM")) == 1

    # Reconnect: the same session and machine, nothing started again.
    again = site.launch("lab")
    assert again.status_code == 200, again.text
    assert again.json()["session_id"] == body["session_id"]
    assert again.json()["connection"]["host"] == "192.0.2.21"
    assert len(site.sent("Start-VM")) == 1

    site.replay.then("checkpoints-lab-1", "restore-lab-1-updated")
    site.logoff(body["session_id"])
    assert site.sent("Restore-VMCheckpoint") == [
        f"Get-VM -Id '{LAB1_ID}' | Get-VMCheckpoint -Name 'updated' | "
        "Restore-VMCheckpoint -Confirm:$false"
    ]
    assert site.machines("lab") == {"lab-1": "ready"}


def test_a_vmconnect_pool_hands_out_the_vms_console_on_the_host(
    make_site: Callable[..., Site],
) -> None:
    site = make_site(
        [hyperv_pool("lab", {"name_pattern": "lab-1", "console": "vmconnect"})],
        "list",
        "find-lab-1-running",
    )
    starting, reply = launched(site, "lab")
    assert starting == []
    assert reply.status_code == 200, reply.text
    connection = reply.json()["connection"]
    assert (connection["protocol"], connection["host"], connection["port"]) == (
        "rdp",
        "hv1.example.com",
        2179,
    )
    assert connection["vmconnect"] == LAB1_ID
    assert site.sent("Get-VMNetworkAdapter") == []  # the guest's address plays no part


def test_a_clone_pool_fills_and_rebuilds_after_a_logoff(make_site: Callable[..., Site]) -> None:
    clones = {"template": "win11-golden", "folder": "D:\\Rubicon\\vdi", "max": 1}
    site = make_site(
        [hyperv_pool("vdi", {"clones": clones}, spares=1, recycle="rebuild")],
        "list",  # no clone of the pool's yet (vdi-002 is another pool's)
        "template",
        "disks-template",
        "addresses-template",
        "find-vdi-001-missing",
        "disk-vdi-001-absent",
        "new-disk-vdi-001",
        "new-vm-vdi-001",
    )
    assert site.machines("vdi") == {"vdi-001": "ready"}
    assert site.sent("New-VHD") == [
        "New-VHD -Path 'D:\\Rubicon\\vdi\\vdi-001.vhdx' -ParentPath 'D:\\Golden\\win11.vhdx' "
        "-Differencing | Select-Object -Property 'Path'"
    ]
    [new_vm] = site.sent("New-VM")
    assert new_vm.startswith(
        "New-VM -Name 'vdi-001' -Generation 2 -MemoryStartupBytes 4294967296 "
        "-VHDPath 'D:\\Rubicon\\vdi\\vdi-001.vhdx' -SwitchName 'LAN' | "
        "Set-VM -ProcessorCount 2 -Notes 'rubicon-pool:vdi' -Passthru"
    )

    # The next upkeep sees the clone and starts it as the pool's spare.
    site.replay.now("list-clones", "find-vdi-001-off", "find-vdi-001-running")
    site.replay.then("start-vdi-001", "addresses-vdi-001")
    site.tend()
    assert site.sent("Start-VM") == ["Get-VM -Id '3b4c5d6e-7f80-4912-a3b4-c5d6e7f80911' | Start-VM"]

    _, reply = launched(site, "vdi")
    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"]["host"] == "192.0.2.31"

    # Log off: the clone is removed with its own disk and made afresh.
    site.replay.now("find-vdi-001-running", "find-vdi-001-missing", "find-vdi-001-off")
    site.replay.then(
        "disks-vdi-001", "turn-off-vdi-001", "remove-vdi-001", "remove-disk-vdi-001-as-reported"
    )
    site.logoff(reply.json()["session_id"])
    assert site.sent("Remove-VM") == [
        "Get-VM -Id '3b4c5d6e-7f80-4912-a3b4-c5d6e7f80911' | Remove-VM -Force"
    ]
    assert site.sent("Remove-Item") == [
        "Remove-Item -LiteralPath 'd:\\rubicon\\VDI\\vdi-001.vhdx' -Force"
    ]
    assert len(site.sent("New-VHD")) == 2
    assert len(site.sent("New-VM")) == 2
    assert "Golden" not in " ".join(site.sent("Remove-"))  # never the parent
    assert site.machines("vdi") == {"vdi-001": "ready"}


def test_an_unreachable_host_degrades_its_pool_and_a_static_pool_carries_on(
    make_site: Callable[..., Site],
) -> None:
    fixed = {
        "id": "fixed",
        "name": "Fixed",
        "protocol": "rdp",
        "users": [USER],
        "health_check": False,
        "machines": [{"name": "desk-1", "host": "192.0.2.50", "rdp_port": 3389}],
    }
    site = make_site(
        [hyperv_pool("lab", {"name_pattern": "lab-1"}), fixed],
        "host",
        "list",
        "find-lab-1-running",
        "addresses-lab-1",
    )
    site.replay.away = True
    for attempt in range(4):
        reply = site.launch("lab")
        assert reply.status_code == 503, reply.text
        assert reply.json()["code"] == "hypervisor_unavailable"
        # Three failures in a row make the pool degraded, not fewer.
        assert (site.pool("lab")["degraded_since"] is not None) == (attempt >= 2), attempt
    assert "hv1.example.com:5986" in site.pool("lab")["degraded_reason"]

    static = site.launch("fixed")
    assert static.status_code == 200, static.text
    assert static.json()["connection"]["host"] == "192.0.2.50"

    site.tend()  # still away
    assert site.pool("lab")["degraded_since"] is not None
    site.replay.away = False
    site.tend()  # the upkeep checks a degraded pool's host first (Get-VMHost)
    assert site.pool("lab") == {"degraded_since": None, "degraded_reason": None}
    assert site.sent("Get-VMHost")
    _, reply = launched(site, "lab")
    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"]["host"] == "192.0.2.21"
