"""A broker site for the hypervisor backends' e2e tests: its pools file, served on
loopback, and what a test asks of it through the HTTP API.

``make_site(pools file text)`` (the fixture) starts ``create_app`` on a new
SQLite database with USER and the admin ADMIN, serves it with uvicorn, and
runs its scheduler once (``Site.tend``; the test runs it from then on), so
the upkeep's discovery has added the pool's machines.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from broker_stub.app import create_app
from broker_stub.auth import accounts
from broker_stub.auth.users import set_user
from broker_stub.db.models import Role
from broker_stub.domain.admin import Admin
from broker_stub.settings import BrokerSettings
from launcher.core.broker import new_idempotency_key
from tests.helpers.live_broker import serve

USER, SIGN_IN = "ann", "ann-sign-in-pw"
ADMIN, ADMIN_PASSWORD = "root", "root-Secret-0"
# The launcher asks again after Retry-After (1 s); a test need not wait that long.
POLL_S = 0.2
LAUNCH_TIMEOUT_S = 30.0


def toml(value: Any) -> str:
    """A TOML value: inline tables for dicts, JSON for the rest (JSON scalars are TOML)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def pool_toml(
    pool_id: str,
    *,
    protocol: str = "vnc",
    backend: dict[str, Any] | None = None,
    machines: Sequence[dict[str, Any]] = (),
    **keys: Any,
) -> str:
    """One [[pools]] entry for USER, with its [pools.backend] table and machines."""
    lines = [
        "[[pools]]",
        f"id = {json.dumps(pool_id)}",
        f"name = {json.dumps(pool_id.title())}",
        f"protocol = {json.dumps(protocol)}",
        f"users = {json.dumps([USER])}",
        *(f"{key} = {toml(value)}" for key, value in keys.items()),
    ]
    if backend is not None:
        lines += ["[pools.backend]", *(f"{k} = {toml(v)}" for k, v in backend.items())]
    for machine in machines:
        lines += ["[[pools.machines]]", *(f"{k} = {toml(v)}" for k, v in machine.items())]
    return "\n".join(lines) + "\n"


@dataclass
class Site:
    """A broker served on loopback, an HTTP client for its API, and a way to run its
    scheduler."""

    app: FastAPI
    url: str
    http: httpx.Client
    _admin: dict[str, str] | None = None

    def sign_in(self, username: str = USER, password: str = SIGN_IN) -> dict[str, str]:
        reply = self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['token']}"}

    def admin(self) -> dict[str, str]:
        # Signed in once: each sign-in costs an argon2id hash.
        if self._admin is None:
            self._admin = self.sign_in(ADMIN, ADMIN_PASSWORD)
        return self._admin

    def tend(self) -> None:
        """One scheduler run and the upkeep it handed work to (pools' discovery)."""
        self.app.state.scheduler.run_once()
        self.app.state.upkeep.wait()

    def launch(self, pool: str, headers: dict[str, str], key: str | None = None) -> httpx.Response:
        key = key or new_idempotency_key()
        return self.http.post(
            f"/api/v1/desktops/{pool}/launch",
            headers={**headers, "Idempotency-Key": key},
            json={},
        )

    def launch_ready(
        self, pool: str, headers: dict[str, str], key: str | None = None
    ) -> tuple[httpx.Response, list[httpx.Response]]:
        """Launch, asking again with the same key while the machine starts: the first
        answer that is not 202, and the 202s before it."""
        key = key or new_idempotency_key()
        starting: list[httpx.Response] = []
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        while (reply := self.launch(pool, headers, key)).status_code == 202:
            starting.append(reply)
            assert time.monotonic() < deadline, f"{pool} still starting: {reply.text}"
            time.sleep(POLL_S)
        return reply, starting

    def machine(self, pool: str, name: str) -> dict[str, Any]:
        reply = self.http.get(f"/api/v1/admin/pools/{pool}/machines/{name}", headers=self.admin())
        assert reply.status_code == 200, reply.text
        machine: dict[str, Any] = reply.json()
        return machine


def start_site(stack: ExitStack, folder: Path, pools: str) -> Site:
    """A broker on `pools` (the pools file's text) and a new SQLite database in `folder`,
    served until `stack` closes, its scheduler run once."""
    config = folder / "pools.toml"
    config.write_text(pools)
    config.chmod(0o600)
    settings = BrokerSettings(
        database_url=f"sqlite:///{folder / 'broker.sqlite3'}",
        config=config,
        scheduler=False,  # the test runs it (Site.tend)
        upkeep_interval=timedelta(milliseconds=10),  # each run tends every pool
    )
    app = create_app(settings)
    with app.state.session_factory() as db:
        set_user(db, USER, SIGN_IN, display_name="Ann")
        accounts.create_user(db, Admin.cli("tests"), ADMIN, ADMIN_PASSWORD, role=Role.ADMIN)
    url = stack.enter_context(serve(app))
    http = stack.enter_context(httpx.Client(base_url=url, timeout=60))
    site = Site(app=app, url=url, http=http)
    site.tend()
    return site


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[Callable[[str], Site]]:
    """make_site(pools file text): a broker on a new SQLite database, its pools' machines
    found; stopped when the test ends."""
    with ExitStack() as stack:
        yield lambda pools: start_site(stack, tmp_path, pools)


def logoff(site: Site, user: dict[str, str], session: str) -> None:
    """End `session` for `user` and wait for the recycle (it runs on the upkeep's threads)."""
    reply = site.http.post(f"/api/v1/sessions/{session}/logoff", headers=user)
    assert reply.status_code == 204, reply.text
    site.app.state.upkeep.wait()


def degraded_gauge(site: Site, pool: str) -> float:
    text = site.http.get("/metrics").text
    found = re.search(rf'^rubicon_pool_degraded\{{pool="{pool}"\}} (\S+)$', text, re.M)
    assert found, text
    return float(found.group(1))


def audit(site: Site, action: str) -> list[dict[str, Any]]:
    reply = site.http.get("/api/v1/admin/audit", params={"action": action}, headers=site.admin())
    assert reply.status_code == 200, reply.text
    events: list[dict[str, Any]] = reply.json()["events"]
    return events


def pool_row(site: Site, pool: str) -> dict[str, Any]:
    """The pool as the admin API shows it."""
    reply = site.http.get(f"/api/v1/admin/pools/{pool}", headers=site.admin())
    assert reply.status_code == 200, reply.text
    row: dict[str, Any] = reply.json()
    return row


def launch_and_log_off(site: Site, pool: str, user: dict[str, str]) -> None:
    """A launch that gets its machine, then a log-off: the pool works."""
    launched, _ = site.launch_ready(pool, user)
    assert launched.status_code == 200, launched.text
    logoff(site, user, launched.json()["session_id"])


def degrades(site: Site, pool: str, user: dict[str, str]) -> dict[str, Any]:
    """Four launches while the pool's hypervisor is away: each refused as
    hypervisor_unavailable with a Retry-After, the pool degraded from the third
    (three failures in a row, not fewer) and its gauge saying so. The pool then."""
    for attempt in range(4):
        reply = site.launch(pool, user)
        assert reply.status_code == 503, reply.text
        assert reply.json()["code"] == "hypervisor_unavailable"
        assert int(reply.headers["Retry-After"]) > 0
        row = pool_row(site, pool)
        assert (row["degraded_since"] is not None) == (attempt >= 2), (attempt, row)
    assert degraded_gauge(site, pool) == 1
    return row


def recovers(site: Site, pool: str, user: dict[str, str]) -> httpx.Response:
    """After the hypervisor is back, the next scheduler run clears the pool's
    degradation (its gauge, one pool.recovered event) and a launch gets a machine."""
    site.tend()  # the upkeep checks the hypervisor of a degraded pool first
    row = pool_row(site, pool)
    assert (row["degraded_since"], row["degraded_reason"]) == (None, None)
    assert degraded_gauge(site, pool) == 0
    [event] = audit(site, "pool.recovered")
    assert event["target"] == f"pool:{pool}"
    again, _ = site.launch_ready(pool, user)
    assert again.status_code == 200, again.text
    return again
