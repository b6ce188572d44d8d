"""A launcher that stops beating: its session reads "disconnected", over real HTTP.

The launcher beats every minute while its client runs. Closed with its desktop
left open, killed, or cut off the network, it stops; the broker must then stop
saying "connected" (issue 10 #5). A pool with ``idle_timeout`` decides by its
``idle_action``; a pool without one disconnects the session after
``SILENT_LAUNCHER_TIMEOUT``, so its disconnect timeout runs and the next
sign-in shows the truth. Served by uvicorn on a loopback port, on SQLite and
on PostgreSQL (``database_url``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from broker_stub.app import create_app
from broker_stub.auth.users import set_user
from broker_stub.db.models import DesktopSession
from broker_stub.domain.lifecycle import SILENT_LAUNCHER_TIMEOUT
from broker_stub.domain.scheduler import Scheduler
from broker_stub.settings import BrokerSettings
from tests.helpers.live_broker import serve

from ..conftest import USERS, PoolSpec


@dataclass
class Served:
    app: FastAPI
    http: httpx.Client

    def sign_in(self, username: str) -> None:
        reply = self.http.post(
            "/api/v1/auth/login",
            json={"username": username, "password": USERS[username].password},
        )
        assert reply.status_code == 200, reply.text
        self.http.headers["Authorization"] = f"Bearer {reply.json()['token']}"

    def launch(self, pool: str) -> str:
        reply = self.http.post(f"/api/v1/desktops/{pool}/launch", json={})
        assert reply.status_code == 200, reply.text
        session_id: str = reply.json()["session_id"]
        return session_id

    def beat(self, session_id: str) -> datetime:
        """A heartbeat; when the broker took it."""
        reply = self.http.post(f"/api/v1/sessions/{session_id}/heartbeat")
        assert reply.status_code in (200, 204), reply.text
        with self.app.state.session_factory() as db:
            beat_at = db.get_one(DesktopSession, session_id).last_heartbeat_at
        assert beat_at is not None
        return beat_at

    def state(self, pool: str) -> tuple[str, str | None]:
        """The pool's state in the user's list, and the state of their session in it."""
        reply = self.http.get("/api/v1/desktops")
        assert reply.status_code == 200, reply.text
        (item,) = [d for d in reply.json()["desktops"] if d["id"] == pool]
        session = item.get("session")
        return item["state"], session["state"] if session else None

    def run_scheduler(self, now: datetime) -> dict[str, int]:
        scheduler: Scheduler = self.app.state.scheduler
        return scheduler.run_once(now).fired


@pytest.fixture
def serve_broker(
    database_url: str, write_config: Callable[..., Path]
) -> Iterator[Callable[[list[PoolSpec]], Served]]:
    """A broker on ``database_url`` served over HTTP; deadlines fired by the test."""
    stack: list[Any] = []

    def make(pools: list[PoolSpec]) -> Served:
        settings = BrokerSettings(
            database_url=database_url, config=write_config(pools), scheduler=False
        )
        app = create_app(settings)
        with app.state.session_factory() as db:
            for name, spec in USERS.items():
                set_user(db, name, spec.password, spec.display_name, spec.groups)
        served = serve(app)
        url = served.__enter__()
        http = httpx.Client(base_url=url, timeout=10)
        stack.append((served, http))
        return Served(app, http)

    yield make
    for served, http in reversed(stack):
        http.close()
        served.__exit__(None, None, None)


def test_a_session_whose_launcher_stopped_beating_reads_disconnected(
    serve_broker: Callable[[list[PoolSpec]], Served], pools: list[PoolSpec]
) -> None:
    pools[0].update(disconnect_timeout="30m")  # no idle_timeout: the default site's pools
    broker = serve_broker(pools)
    broker.sign_in("alice")
    session_id = broker.launch("engineering")
    last = broker.beat(session_id)
    assert broker.state("engineering") == ("connected", "active")

    # Nothing yet while beats could still come.
    assert broker.run_scheduler(last + SILENT_LAUNCHER_TIMEOUT - timedelta(seconds=1)) == {
        "pending_until": 0,
        "max_deadline": 0,
        "disconnect_deadline": 0,
        "idle_deadline": 0,
    }
    assert broker.state("engineering") == ("connected", "active")

    fired = broker.run_scheduler(last + SILENT_LAUNCHER_TIMEOUT)

    assert fired["idle_deadline"] == 1
    assert broker.state("engineering") == ("disconnected", "disconnected")
    with broker.app.state.session_factory() as db:
        session = db.get_one(DesktopSession, session_id)
    # Disconnected, never ended: the disconnect timeout now runs, as after a disconnect.
    assert session.end_reason is None
    assert session.disconnect_deadline == last + SILENT_LAUNCHER_TIMEOUT + timedelta(minutes=30)

    # A launcher that comes back (the network returned) makes it active again.
    broker.beat(session_id)
    assert broker.state("engineering") == ("connected", "active")


def test_a_pool_with_an_idle_timeout_keeps_its_own_idle_action(
    serve_broker: Callable[[list[PoolSpec]], Served], pools: list[PoolSpec]
) -> None:
    pools[0].update(idle_timeout="20m", idle_action="logoff")
    broker = serve_broker(pools)
    broker.sign_in("alice")
    session_id = broker.launch("engineering")
    last = broker.beat(session_id)

    assert broker.run_scheduler(last + SILENT_LAUNCHER_TIMEOUT)["idle_deadline"] == 0
    assert broker.state("engineering") == ("connected", "active")
    assert broker.run_scheduler(last + timedelta(minutes=20))["idle_deadline"] == 1
    assert broker.state("engineering") == ("available", None)
