"""Fixed hosts whose display server dies: the broker stops handing the machine out,
says so everywhere an admin looks, and takes it back once it answers again.

Two real Xvnc desktops are the machines of a static pool with the health check
on (the default). One Xvnc is killed by its PID, as a crash would end it; later
a new Xvnc takes the same display number and port, as a restarted service
would. The broker runs on a clock the test moves, with no scheduler thread:
the test runs the scheduler at the times it picks and waits for the probes it
hands over. About 3 s here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from broker_stub.app import create_app
from broker_stub.auth import accounts
from broker_stub.auth.users import set_user
from broker_stub.db.models import AuditEvent, Role
from broker_stub.demo.xdisplay import XvncDesktop
from broker_stub.domain import lifecycle
from broker_stub.domain.admin import Admin
from broker_stub.settings import BrokerSettings
from tests.helpers.clock import FakeClock
from tests.helpers.e2e import VNC_PASSWORD, require_binaries, wait_for
from tests.helpers.libvirtd import vnc_password_accepted

pytestmark = pytest.mark.e2e

POOL = "lab"
USERS = ("ann", "ben", "cat")
PASSWORD = "pw-Health-1"
ADMIN, ADMIN_PASSWORD = "root", "root-Health-0"
CLI_TIMEOUT = 60.0


@dataclass
class Site:
    app: FastAPI
    client: TestClient
    clock: FakeClock
    database_url: str
    desktops: dict[str, XvncDesktop]  # machine name → its Xvnc
    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            secret = ADMIN_PASSWORD if username == ADMIN else PASSWORD
            reply = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": secret}
            )
            assert reply.status_code == 200, reply.text
            self.tokens[username] = reply.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def launch(self, username: str) -> Response:
        headers = {**self.headers(username), "Idempotency-Key": str(uuid.uuid4())}
        return self.client.post(f"/api/v1/desktops/{POOL}/launch", headers=headers)

    def machine(self, name: str) -> dict[str, Any]:
        """The machine as the admin API lists it."""
        reply = self.client.get(f"/api/v1/admin/pools/{POOL}/machines", headers=self.headers(ADMIN))
        assert reply.status_code == 200, reply.text
        (found,) = [m for m in reply.json()["machines"] if m["name"] == name]
        return dict(found)

    def probe_due(self, seconds: float) -> int:
        """Move time on, run the scheduler, wait for the probes it handed over."""
        report = self.app.state.scheduler.run_once(self.clock.advance(seconds=seconds))
        self.app.state.upkeep.wait(timeout=60)
        return int(report.probes)

    def events(self, action: str) -> list[AuditEvent]:
        with self.app.state.session_factory() as db:
            found = list(
                db.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            db.expunge_all()
        return found


def machine_on(site: Site, connection: dict[str, Any]) -> str:
    """The machine whose Xvnc the connection points at."""
    (name,) = [
        n
        for n, d in site.desktops.items()
        if (d.host, d.port) == (connection["host"], connection["port"])
    ]
    return name


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    require_binaries("Xvnc")
    with ExitStack() as stack:
        desktops = {
            name: stack.enter_context(XvncDesktop(VNC_PASSWORD, colour=None))
            for name in (f"{POOL}-1", f"{POOL}-2")
        }
        lines = [
            "[[pools]]",
            f'id = "{POOL}"',
            'name = "Lab"',
            'protocol = "vnc"',
            f"users = {json.dumps(list(USERS))}",
            # No health_check line: it is on unless a pool turns it off.
        ]
        for name, desktop in desktops.items():
            lines += [
                "[[pools.machines]]",
                f'name = "{name}"',
                f'host = "{desktop.host}"',
                f"port = {desktop.port}",
                f'password = "{VNC_PASSWORD}"',
            ]
        config = tmp_path / "pools.toml"
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        url = f"sqlite:///{tmp_path / 'broker.sqlite3'}"
        clock = FakeClock()
        app = create_app(
            BrokerSettings(database_url=url, config=config, scheduler=False), clock=clock
        )
        with app.state.session_factory() as db:
            for name in USERS:
                set_user(db, name, PASSWORD)
            accounts.create_user(db, Admin.cli("tests"), ADMIN, ADMIN_PASSWORD, role=Role.ADMIN)
        client = stack.enter_context(TestClient(app))
        yield Site(app, client, clock, url, desktops, {})


def cli_machines(site: Site) -> list[dict[str, Any]]:
    """`rubicon-broker machines list lab --json` on the broker's database, as an admin runs it."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "broker_stub.cli", "machines", "list", POOL, "--json"),
            *("--database-url", site.database_url),
        ],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    machines: list[dict[str, Any]] = json.loads(result.stdout)
    return machines


def machines_gauge(site: Site, state: str) -> float:
    reply = site.client.get("/metrics")
    assert reply.status_code == 200, reply.text
    wanted = f'rubicon_machines{{pool="{POOL}",state="{state}"}} '
    (line,) = [x for x in reply.text.splitlines() if x.startswith(wanted)]
    return float(line.split()[-1])


def test_a_dead_desktop_is_skipped_reported_and_taken_back_once_it_answers(site: Site) -> None:
    first = site.launch("ann")
    assert first.status_code == 200, first.text
    dead = machine_on(site, first.json()["connection"])
    assert dead == f"{POOL}-1"  # launches take the first free machine by name
    (alive,) = set(site.desktops) - {dead}
    desktop = site.desktops[dead]
    display, port, pid = desktop.display, desktop.port, desktop.pid

    os.kill(pid, signal.SIGKILL)  # as a crash ends it: no goodbye, files left behind
    wait_for(lambda: not desktop.running(), 10, f"Xvnc {pid} to die")
    logoff = site.client.post(
        f"/api/v1/sessions/{first.json()['session_id']}/logoff", headers=site.headers("ann")
    )
    assert logoff.status_code == 204, logoff.text
    assert site.machine(dead)["state"] == "ready"  # nobody knows it died yet

    again = site.launch("ann")

    assert again.status_code == 200, again.text
    connection = again.json()["connection"]
    assert machine_on(site, connection) == alive
    assert vnc_password_accepted(connection["port"], connection["password"])
    problem = f"its console 127.0.0.1:{port} did not answer"
    shown = site.machine(dead)
    assert (shown["state"], shown["problem"], shown["user"], shown["session"]) == (
        "unreachable",
        problem,
        None,
        None,
    )
    (failed,) = site.events("machine.failed")
    assert failed.target == f"machine:{POOL}/{dead}"
    assert failed.detail["state"] == "unreachable"
    listed = {m["name"]: m for m in cli_machines(site)}
    assert (listed[dead]["state"], listed[dead]["problem"]) == ("unreachable", problem)
    assert (listed[alive]["state"], listed[alive]["user"]) == ("assigned", "ann")
    assert machines_gauge(site, "unreachable") == 1
    # The only machine left is the dead one: nobody gets it.
    busy = site.launch("ben")
    assert busy.status_code == 409, busy.text
    assert busy.json()["code"] == "no_machine_available"

    # Probed when due, still dead: probed again later, after twice as long.
    delay = lifecycle.PROBE_FIRST_DELAY.total_seconds()
    assert site.probe_due(delay - 1) == 0
    assert site.probe_due(1) == 1
    assert site.machine(dead)["state"] == "unreachable"
    assert site.events("machine.recovered") == []

    # The display server is started again, on the same display and port.
    again_desktop = XvncDesktop(VNC_PASSWORD, colour=None, display=display, port=port)
    with again_desktop:
        site.desktops[dead] = again_desktop
        assert site.probe_due(2 * delay - 1) == 0
        assert site.probe_due(1) == 1

        back = site.machine(dead)
        assert (back["state"], back["problem"]) == ("ready", None)
        (recovered,) = site.events("machine.recovered")
        assert recovered.target == f"machine:{POOL}/{dead}"
        assert recovered.detail == {"failed_probes": 2}
        assert machines_gauge(site, "unreachable") == 0
        assert machines_gauge(site, "ready") == 1
        assert {m["name"]: m["state"] for m in cli_machines(site)}[dead] == "ready"
        reply = site.launch("ben")
        assert reply.status_code == 200, reply.text
        connection = reply.json()["connection"]
        assert machine_on(site, connection) == dead
        assert vnc_password_accepted(connection["port"], connection["password"])
