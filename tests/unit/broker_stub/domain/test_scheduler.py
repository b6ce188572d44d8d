"""The scheduler: each deadline fires once, with the right outcome, on any number of nodes.

Time is the test's: `run_once(now)` is called with a clock the test moves.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from broker_stub.clock import utcnow
from broker_stub.db.models import AuditEvent, DesktopSession, Machine, MachineState, User
from broker_stub.domain import allocation, lifecycle, sessions
from broker_stub.domain.scheduler import DEADLINES, Report, Scheduler
from tests.helpers.e2e import wait_for

from ..conftest import Broker, PoolSpec

T0 = utcnow().replace(microsecond=0)


def launch(broker: Broker, username: str, now: datetime = T0, pool: str = "engineering") -> str:
    with broker.session() as db:
        return allocation.launch(db, broker.user(username), pool, now=now).session.id


def beat(broker: Broker, username: str, session_id: str, now: datetime) -> None:
    with broker.session() as db:
        sessions.heartbeat(db, broker.user(username), session_id, now)


def leave(broker: Broker, username: str, session_id: str, now: datetime) -> None:
    with broker.session() as db:
        sessions.disconnect(db, broker.user(username), session_id, now, address=None)


def run(broker: Broker, now: datetime) -> Report:
    scheduler: Scheduler = broker.app.state.scheduler
    return scheduler.run_once(now)


def row(broker: Broker, session_id: str) -> tuple[str, str | None, str, int | None]:
    """(session state, end reason, machine state, machine's user id)."""
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
        machine = db.get_one(Machine, session.machine_id)
        return session.state, session.end_reason, machine.state, machine.assigned_user_id


def firings(broker: Broker) -> list[dict[str, Any]]:
    with broker.session() as db:
        events = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "session.deadline")
            .order_by(AuditEvent.id)
        ).all()
    return [{"target": e.target, "actor": e.actor, **e.detail} for e in events]


@pytest.fixture
def timed(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    pools[0].update(disconnect_timeout="30m", idle_timeout="20m", max_session="8h")
    return make_broker(pools=pools)


def test_nothing_is_due_before_its_time(timed: Broker) -> None:
    session_id = launch(timed, "alice")

    report = run(timed, T0 + timedelta(seconds=119))

    assert report.total == 0
    assert row(timed, session_id)[0] == "pending"


def test_a_launch_the_launcher_never_confirmed(timed: Broker) -> None:
    session_id = launch(timed, "alice")

    report = run(timed, T0 + timedelta(minutes=2))

    assert report.fired["pending_until"] == 1
    assert report.recycled == 1
    # Floating: the machine went through releasing and is ready again.
    assert row(timed, session_id) == ("ended", "prelaunch_timeout", "ready", None)
    (fired,) = firings(timed)
    assert fired == {
        "target": f"session:{session_id}",
        "actor": None,
        "deadline": "pending_until",
        "outcome": "ended",
        "reason": "prelaunch_timeout",
        "pool": "engineering",
        "due": (T0 + timedelta(minutes=2)).isoformat(),
    }
    # Fired once: a later run finds nothing.
    assert run(timed, T0 + timedelta(hours=1)).total == 0


def test_disconnect_timeout(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    beat(timed, "alice", session_id, T0 + timedelta(seconds=10))
    leave(timed, "alice", session_id, T0 + timedelta(minutes=1))

    assert run(timed, T0 + timedelta(minutes=30)).total == 0
    report = run(timed, T0 + timedelta(minutes=31))

    assert report.fired["disconnect_deadline"] == 1
    assert row(timed, session_id) == ("ended", "disconnect_timeout", "ready", None)


def test_idle_disconnects_by_default(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    beat(timed, "alice", session_id, T0)
    # A heartbeat moves the deadline: 20 minutes from the last one.
    beat(timed, "alice", session_id, T0 + timedelta(minutes=10))
    assert run(timed, T0 + timedelta(minutes=25)).total == 0

    report = run(timed, T0 + timedelta(minutes=30))

    assert report.fired["idle_deadline"] == 1
    assert row(timed, session_id) == ("disconnected", None, "disconnected", timed.user("alice").id)
    with timed.session() as db:
        session = db.get_one(DesktopSession, session_id)
    assert session.disconnect_deadline == T0 + timedelta(minutes=60)
    assert firings(timed)[0]["outcome"] == "disconnected"
    # Then the disconnect timeout takes over.
    run(timed, T0 + timedelta(minutes=60))
    assert row(timed, session_id)[:2] == ("ended", "disconnect_timeout")


def test_idle_logs_off_where_the_pool_says_so(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0].update(idle_timeout="20m", idle_action="logoff", kind="dedicated")
    broker = make_broker(pools=pools)
    session_id = launch(broker, "alice")
    beat(broker, "alice", session_id, T0)

    report = run(broker, T0 + timedelta(minutes=20))

    assert report.fired["idle_deadline"] == 1
    assert report.recycled == 0
    # Dedicated: the machine stays alice's.
    assert row(broker, session_id) == ("ended", "idle", "assigned", broker.user("alice").id)


def test_max_session_ends_even_an_active_session(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    for minutes in range(0, 8 * 60, 10):
        beat(timed, "alice", session_id, T0 + timedelta(minutes=minutes))
        assert run(timed, T0 + timedelta(minutes=minutes)).total == 0

    report = run(timed, T0 + timedelta(hours=8))

    assert report.fired["max_deadline"] == 1
    assert row(timed, session_id)[:2] == ("ended", "max_session")


def test_a_machine_woken_in_vain_is_set_aside(
    timed: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = launch(timed, "alice")
    with timed.session() as db:
        db.execute(update(Machine).where(Machine.name == "eng-1").values(woken_at=T0))
        db.commit()

    with caplog.at_level(logging.WARNING):
        run(timed, T0 + timedelta(minutes=2))

    assert row(timed, session_id) == ("ended", "prelaunch_timeout", "error", None)
    assert "eng-1 did not answer within 120s of a wake-up" in caplog.text
    # The next launch gets the other machine.
    assert row(timed, launch(timed, "bob"))[2] == "assigned"
    with timed.session() as db:
        assert db.scalar(select(Machine.assigned_user_id).where(Machine.name == "eng-2"))


def test_a_dead_nodes_recycle_is_taken_over(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    with timed.session() as db:
        # Logged off, but the node died before it recycled the machine.
        sessions.logoff(db, timed.user("alice"), session_id, T0, address=None)
    assert row(timed, session_id)[2] == "releasing"

    assert run(timed, T0 + lifecycle.RECYCLE_LEASE - timedelta(seconds=1)).recycled == 0
    assert row(timed, session_id)[2] == "releasing"
    assert run(timed, T0 + lifecycle.RECYCLE_LEASE).recycled == 1
    assert row(timed, session_id)[2:] == ("ready", None)


def test_spares_are_reported_once(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    pools[0]["spares"] = 2
    broker = make_broker(pools=pools)
    assert run(broker, T0).short_of_spares == {}
    launch(broker, "alice")

    with caplog.at_level(logging.WARNING):
        first = run(broker, T0)
        second = run(broker, T0)

    assert first.short_of_spares == second.short_of_spares == {"engineering": 1}
    warnings = [r.getMessage() for r in caplog.records if r.name == "rubicon.broker.scheduler"]
    assert warnings == [
        "pool engineering has 1 fewer ready machines than its spares; add machines or free some"
    ]


def test_heartbeat_after_the_deadline_fired(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    run(timed, T0 + timedelta(minutes=3))

    reply = timed.client.post(
        f"/api/v1/sessions/{session_id}/heartbeat", headers=timed.login("alice")
    )

    assert reply.status_code == 409
    assert reply.json()["code"] == "session_ended"
    assert "did not start in time" in reply.json()["detail"]


def test_the_app_runs_the_scheduler(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0]["prelaunch_timeout"] = "1s"
    broker = make_broker(pools=pools, scheduler=True, scheduler_interval=0.05)
    with broker.session() as db:
        # A real launch: the clock is the real one here.
        session_id = allocation.launch(db, broker.user("alice"), "engineering").session.id

    # Ended, then (a moment later, after the commit) its machine recycled.
    expected = ("ended", "prelaunch_timeout", "ready", None)
    wait_for(lambda: row(broker, session_id) == expected, timeout=30, what="the scheduler")


# Two nodes on one database


SESSIONS = 60


@pytest.fixture
def busy(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> list[Broker]:
    """Two nodes sharing one database with SESSIONS sessions in mixed states."""
    pools[0].update(disconnect_timeout="30m", idle_timeout="20m", max_session="8h")
    pools[0]["users"] = [f"u{i:03}" for i in range(SESSIONS)]
    pools[0]["machines"] = [
        {"name": f"eng-{i:03}", "host": "127.0.0.1", "port": 5900 + i} for i in range(SESSIONS)
    ]
    first = make_broker(pools=pools)
    with first.session() as db:
        db.add_all(
            User(username=f"u{i:03}", display_name=f"U{i}", password_hash="-")
            for i in range(SESSIONS)
        )
        db.commit()
        for i, user in enumerate(db.scalars(select(User).where(User.username.like("u%")))):
            # A quarter each: never confirmed, active, disconnected, active.
            session_id = allocation.launch(db, user, "engineering", now=T0).session.id
            if i % 4 >= 1:
                sessions.heartbeat(db, user, session_id, T0)
            if i % 4 == 2:
                sessions.disconnect(db, user, session_id, T0, address=None)
    second = make_broker(pools=pools)
    return [first, second]


def test_two_nodes_fire_each_deadline_exactly_once(busy: list[Broker]) -> None:
    nodes = [b.app.state.scheduler for b in busy]
    # Every run of both nodes starts at the same moment, at the same time of day.
    times = [T0 + timedelta(minutes=m) for m in (2, 20, 50, 60, 8 * 60, 9 * 60)]
    barrier = threading.Barrier(len(nodes))

    def node(scheduler: Scheduler) -> list[Report]:
        reports = []
        for now in times:
            barrier.wait(timeout=60)
            reports.append(scheduler.run_once(now))
        return reports

    with ThreadPoolExecutor(len(nodes)) as pool:
        reports = [r for done in pool.map(node, nodes) for r in done]

    fired = firings(busy[0])
    per_deadline = Counter((f["target"], f["deadline"]) for f in fired)
    assert set(per_deadline.values()) == {1}
    # What each node says it fired adds up to what the audit log holds.
    assert sum(r.total for r in reports) == len(fired)
    with busy[0].session() as db:
        live = db.scalars(select(DesktopSession).where(DesktopSession.state != "ended")).all()
        machines = db.scalars(select(Machine).where(Machine.pool_id == "engineering")).all()
    assert live == []
    assert {m.state for m in machines} == {MachineState.READY}
    kinds = Counter(f["deadline"] for f in fired)
    # 15 never confirmed, 15 disconnected (30 min), 30 active went idle then disconnected.
    assert kinds == {
        "pending_until": SESSIONS // 4,
        "idle_deadline": SESSIONS // 2,
        "disconnect_deadline": SESSIONS * 3 // 4,
    }


def test_a_deadline_moved_after_it_was_read_does_not_fire(timed: Broker) -> None:
    session_id = launch(timed, "alice")
    beat(timed, "alice", session_id, T0)
    scheduler: Scheduler = timed.app.state.scheduler
    (idle,) = [d for d in DEADLINES if d.column.key == "idle_deadline"]
    with timed.session() as db:
        # This node read the session while its idle deadline was due ...
        (stale,) = scheduler._due(db, idle, T0 + timedelta(minutes=20))
        db.expunge(stale)  # keeps what it read
        db.rollback()  # PostgreSQL: lets go of the row lock, as a commit elsewhere would
        # ... and a heartbeat (on another node) moved the deadline meanwhile.
        beat(timed, "alice", session_id, T0 + timedelta(minutes=19))

        assert scheduler._fire(db, stale, idle, T0 + timedelta(minutes=20)) == (False, None)
        db.commit()

    assert row(timed, session_id)[0] == "active"
    assert firings(timed) == []
