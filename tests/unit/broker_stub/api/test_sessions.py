"""POST /api/v1/sessions/{id}/{heartbeat,disconnect,logoff,reset,restart}."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from broker_stub.db.models import AuditEvent, DesktopSession, Machine

from ..conftest import Broker, PoolSpec, UserSpec, assert_problem, sqlite_only

ROUTES = ["heartbeat", "disconnect", "logoff", "reset", "restart"]


def launch(broker: Broker, headers: dict[str, str], pool: str = "engineering") -> dict[str, Any]:
    reply = broker.client.post(f"/api/v1/desktops/{pool}/launch", headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def url(session_id: object, action: str) -> str:
    return f"/api/v1/sessions/{session_id}/{action}"


def states(broker: Broker, session_id: str) -> tuple[str, str, str | None]:
    """(session state, machine state, end reason)."""
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
        machine = db.get_one(Machine, session.machine_id)
        return session.state, machine.state, session.end_reason


def desktop_entry(broker: Broker, headers: dict[str, str]) -> dict[str, Any]:
    entries = broker.client.get("/api/v1/desktops", headers=headers).json()["desktops"]
    entry: dict[str, Any] = next(e for e in entries if e["id"] == "engineering")
    return entry


# Nobody acts on another user's session, through any route.


@pytest.fixture
def permissive(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    """The default site, with reset and restart allowed and wired to `true`."""
    pools[0].update(allow_reset=True, allow_restart=True)
    pools[0]["backend"] = {"reset_command": ["true"], "restart_command": ["true"]}
    return make_broker(pools=pools)


@pytest.mark.parametrize("action", ROUTES)
def test_another_users_session_is_not_found(permissive: Broker, action: str) -> None:
    alice = permissive.login("alice")
    bob = permissive.login("bob")
    session_id = launch(permissive, alice)["session_id"]
    before = states(permissive, session_id)

    reply = permissive.client.post(url(session_id, action), headers=bob)

    problem = assert_problem(reply, 404, "session_not_found")
    # Worded exactly like a session that does not exist.
    unknown = permissive.client.post(url("no-such-id", action), headers=bob).json()
    assert problem == unknown
    assert states(permissive, session_id) == before
    assert desktop_entry(permissive, alice)["session"]["id"] == session_id
    with permissive.session() as db:
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.actor == "bob")).all()
    assert [a for a in actions if a.startswith("session.")] == []


@sqlite_only
@pytest.mark.parametrize("action", ROUTES)
def test_every_route_needs_a_token(broker: Broker, action: str) -> None:
    assert_problem(broker.client.post(url("x", action)), 401, "invalid_token")


@sqlite_only
@pytest.mark.parametrize("action", ROUTES)
def test_overlong_session_id(broker: Broker, action: str) -> None:
    reply = broker.client.post(url("x" * 65, action), headers=broker.login("alice"))

    assert_problem(reply, 422, "invalid_request")


@pytest.mark.parametrize("action", ["heartbeat", "disconnect", "reset", "restart"])
def test_ended_session_says_so(permissive: Broker, action: str) -> None:
    alice = permissive.login("alice")
    session_id = launch(permissive, alice)["session_id"]
    assert permissive.client.post(url(session_id, "logoff"), headers=alice).status_code == 204

    reply = permissive.client.post(url(session_id, action), headers=alice)

    problem = assert_problem(reply, 409, "session_ended")
    assert "because you logged off" in problem["detail"]


# Heartbeat and disconnect


def test_first_heartbeat_makes_the_session_active(broker: Broker) -> None:
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]
    assert states(broker, session_id) == ("pending", "assigned", None)

    reply = broker.client.post(url(session_id, "heartbeat"), headers=alice)

    assert reply.status_code == 204
    assert reply.content == b""
    assert states(broker, session_id) == ("active", "in_use", None)
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
    assert session.pending_until is None
    assert session.last_heartbeat_at is not None
    assert desktop_entry(broker, alice)["session"]["state"] == "active"


def test_heartbeat_moves_the_idle_deadline(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0]["idle_timeout"] = "20m"
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]
    deadlines = []
    for _beat in range(2):
        assert broker.client.post(url(session_id, "heartbeat"), headers=alice).status_code == 204
        with broker.session() as db:
            session = db.get_one(DesktopSession, session_id)
            assert session.last_heartbeat_at is not None
            assert session.idle_deadline is not None
            assert (session.idle_deadline - session.last_heartbeat_at).total_seconds() == 1200
            deadlines.append(session.idle_deadline)

    assert deadlines[1] >= deadlines[0]


def test_disconnect_and_come_back(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0].update(disconnect_timeout="1h", idle_timeout="20m")
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    first = launch(broker, alice)
    session_id = first["session_id"]
    broker.client.post(url(session_id, "heartbeat"), headers=alice)

    reply = broker.client.post(url(session_id, "disconnect"), headers=alice)

    assert reply.status_code == 204
    assert states(broker, session_id) == ("disconnected", "disconnected", None)
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
    assert session.idle_deadline is None
    assert session.disconnect_deadline is not None
    entry = desktop_entry(broker, alice)
    assert entry["state"] == "disconnected"
    assert entry["session"]["state"] == "disconnected"
    # Disconnecting twice changes nothing.
    assert broker.client.post(url(session_id, "disconnect"), headers=alice).status_code == 204

    # Reconnect: the same session and machine; the heartbeat makes it active again.
    again = launch(broker, broker.login("alice"))
    assert again == first
    assert broker.client.post(url(session_id, "heartbeat"), headers=alice).status_code == 204
    assert states(broker, session_id) == ("active", "in_use", None)
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
    assert session.disconnect_deadline is None
    assert session.idle_deadline is not None


# Log off


def test_logoff_frees_the_machine_for_the_next_user(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2, 3)})
    u1, u2, u3 = (broker.login(n) for n in ("u1", "u2", "u3"))
    first = launch(broker, u1)
    launch(broker, u2)
    assert broker.client.post("/api/v1/desktops/engineering/launch", headers=u3).status_code == 409

    reply = broker.client.post(url(first["session_id"], "logoff"), headers=u1)

    assert reply.status_code == 204
    assert reply.content == b""
    # Recycled (a no-op for fixed hosts) and ready again.
    assert states(broker, first["session_id"]) == ("ended", "ready", "logoff")
    third = launch(broker, u3)
    assert third["connection"] == first["connection"]
    assert third["session_id"] != first["session_id"]
    (entry,) = broker.client.get("/api/v1/desktops", headers=u1).json()["desktops"]
    assert entry["state"] == "unavailable"
    assert entry["session"] is None


def test_logoff_in_a_dedicated_pool_keeps_the_machine(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0]["kind"] = "dedicated"
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    first = launch(broker, alice)

    assert broker.client.post(url(first["session_id"], "logoff"), headers=alice).status_code == 204

    assert states(broker, first["session_id"]) == ("ended", "assigned", "logoff")
    assert desktop_entry(broker, alice)["state"] == "available"
    again = launch(broker, alice)
    assert again["connection"] == first["connection"]


def test_logoff_twice_is_harmless(broker: Broker) -> None:
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    assert broker.client.post(url(session_id, "logoff"), headers=alice).status_code == 204
    assert broker.client.post(url(session_id, "logoff"), headers=alice).status_code == 204


# Reset and restart


@pytest.mark.parametrize("action", ["reset", "restart"])
def test_not_allowed_by_the_pool(broker: Broker, action: str) -> None:
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    problem = assert_problem(
        broker.client.post(url(session_id, action), headers=alice), 403, "action_not_allowed"
    )

    assert '"Engineering desktop"' in problem["detail"]


@pytest.mark.parametrize("action", ["reset", "restart"])
def test_static_machines_without_a_command(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], action: str
) -> None:
    pools[0].update(allow_reset=True, allow_restart=True)
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    reply = broker.client.post(url(session_id, action), headers=alice)

    problem = assert_problem(reply, 409, "action_not_supported")
    assert f"no way to {action} desktops" in problem["detail"]


@pytest.mark.parametrize("action", ["reset", "restart"])
def test_the_admins_command_runs(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], tmp_path: Path, action: str
) -> None:
    out = tmp_path / "argv.json"
    record = "import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], 'w'))"
    pools[0].update(**{f"allow_{action}": True})
    pools[0]["backend"] = {
        f"{action}_command": [sys.executable, "-c", record, str(out), "{name}", "{host}"]
    }
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    reply = broker.client.post(url(session_id, action), headers=alice)

    assert reply.status_code == 204, reply.text
    assert json.loads(out.read_text()) == [str(out), "eng-1", "127.0.0.1"]
    # The session goes on; the audit log knows.
    assert states(broker, session_id)[0] == "pending"
    with broker.session() as db:
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == f"session.{action}"))
    assert event is not None
    assert (event.actor, event.target) == ("alice", f"session:{session_id}")


def test_a_failing_command(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    pools[0].update(allow_reset=True)
    pools[0]["backend"] = {
        "reset_command": [sys.executable, "-c", "import sys; sys.exit('BMC unreachable')"]
    }
    broker = make_broker(pools=pools)
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    reply = broker.client.post(url(session_id, "reset"), headers=alice)

    problem = assert_problem(reply, 502, "machine_action_failed")
    assert "BMC" not in problem["detail"]  # the admin's log has the details
    assert "exit status 1: BMC unreachable" in caplog.text
