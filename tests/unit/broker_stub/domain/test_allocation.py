"""Handing out machines: reconnect, claim, bind, pool full, log off, and races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, update

from broker_stub.auth.users import set_user
from broker_stub.clock import utcnow
from broker_stub.db.models import (
    DesktopSession,
    Machine,
    MachineState,
    SessionState,
    User,
)
from broker_stub.domain import allocation, lifecycle, sessions
from broker_stub.domain.errors import (
    MachineUnavailable,
    NoMachineAvailable,
    NotEntitled,
    PoolNotFound,
    ProtocolNotOffered,
    SessionNotFound,
)

from ..conftest import Broker, PoolSpec, UserSpec


def launch(
    broker: Broker, username: str, pool: str = "engineering", **kwargs: Any
) -> allocation.Launch:
    with broker.session() as db:
        return allocation.launch(db, broker.user(username), pool, **kwargs)


def logoff(broker: Broker, username: str, session_id: str, *, recycle: bool = True) -> None:
    with broker.session() as db:
        machine_id = sessions.logoff(db, broker.user(username), session_id, utcnow(), address=None)
        if machine_id is not None and recycle:
            lifecycle.recycle(db, broker.app.state.backends, machine_id)


def machine_row(broker: Broker, name: str) -> Machine:
    with broker.session() as db:
        machine = db.scalar(select(Machine).where(Machine.name == name))
    assert machine is not None
    return machine


def session_row(broker: Broker, session_id: str) -> DesktopSession:
    with broker.session() as db:
        return db.get_one(DesktopSession, session_id)


def test_launch_claims_a_machine_and_starts_a_pending_session(broker: Broker) -> None:
    now = utcnow()
    result = launch(broker, "alice", now=now)

    assert not result.reconnected
    assert result.machine.name == "eng-1"
    row = session_row(broker, result.session.id)
    assert row.state == SessionState.PENDING
    assert row.protocol == "vnc"
    assert row.started_at == now
    # The default pre-launch timeout; no limits the pool does not set.
    assert row.pending_until == now + timedelta(minutes=2)
    assert (row.idle_deadline, row.disconnect_deadline, row.max_deadline) == (None, None, None)
    machine = machine_row(broker, "eng-1")
    assert machine.state == MachineState.ASSIGNED
    assert machine.assigned_user_id == broker.user("alice").id


def test_session_ids_are_unique_and_never_read_as_a_command_line_option() -> None:
    ids = [allocation.new_session_id() for _ in range(2000)]

    assert len(set(ids)) == len(ids)
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) >= 24 for i in ids)


def test_max_session_sets_its_deadline(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0].update(max_session="8h", prelaunch_timeout="45s")
    broker = make_broker(pools=pools)
    now = utcnow()

    row = session_row(broker, launch(broker, "alice", now=now).session.id)

    assert row.max_deadline == now + timedelta(hours=8)
    assert row.pending_until == now + timedelta(seconds=45)


def test_second_launch_reconnects_and_renews_the_prelaunch_window(broker: Broker) -> None:
    start = utcnow()
    first = launch(broker, "alice", now=start)
    later = start + timedelta(seconds=90)

    second = launch(broker, "alice", now=later)

    assert second.reconnected
    assert second.session.id == first.session.id
    assert second.machine.id == first.machine.id
    assert session_row(broker, first.session.id).pending_until == later + timedelta(minutes=2)
    assert machine_row(broker, "eng-2").state == MachineState.READY


def test_reconnect_to_a_disconnected_session_keeps_it_from_timing_out_meanwhile(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0]["disconnect_timeout"] = "30s"
    broker = make_broker(pools=pools)
    start = utcnow()
    first = launch(broker, "alice", now=start)
    with broker.session() as db:
        sessions.disconnect(db, broker.user("alice"), first.session.id, start, address=None)
    assert session_row(broker, first.session.id).disconnect_deadline == start + timedelta(
        seconds=30
    )

    again = launch(broker, "alice", now=start + timedelta(seconds=20))

    assert again.reconnected
    row = session_row(broker, first.session.id)
    assert row.state == SessionState.DISCONNECTED  # until the launcher's heartbeat
    assert row.disconnect_deadline == start + timedelta(seconds=20 + 120)


def test_two_users_get_different_machines(broker: Broker) -> None:
    alice = launch(broker, "alice")
    bob = launch(broker, "bob")

    assert {alice.machine.name, bob.machine.name} == {"eng-1", "eng-2"}
    assert alice.session.id != bob.session.id


def test_full_pool(broker: Broker) -> None:
    launch(broker, "alice")
    launch(broker, "bob")
    with broker.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])

    with pytest.raises(NoMachineAvailable) as caught:
        launch(broker, "erin")

    assert caught.value.status == 409
    assert '"Engineering desktop"' in caught.value.detail


def test_not_entitled_and_unknown_pool(broker: Broker) -> None:
    with pytest.raises(NotEntitled):
        launch(broker, "dave")
    with pytest.raises(NotEntitled):
        launch(broker, "alice", "finance")
    with pytest.raises(PoolNotFound):
        launch(broker, "alice", "nope")
    assert machine_row(broker, "fin-1").assigned_user_id is None


def test_protocol_not_offered(broker: Broker) -> None:
    with pytest.raises(ProtocolNotOffered) as caught:
        launch(broker, "alice", protocol="rdp")
    assert "vnc" in caught.value.detail


def test_group_entitlement(broker: Broker) -> None:
    # bob is in neither pool's user list, only in their groups.
    assert launch(broker, "bob", "art").machine.name == "art-1"
    assert launch(broker, "bob", "engineering").machine.name == "eng-1"


def test_logoff_recycles_a_floating_machine_for_the_next_user(broker: Broker) -> None:
    first = launch(broker, "alice")
    launch(broker, "bob")

    logoff(broker, "alice", first.session.id)

    row = machine_row(broker, first.machine.name)
    assert row.state == MachineState.READY
    assert row.assigned_user_id is None
    assert row.recycle_after is None
    ended = session_row(broker, first.session.id)
    assert ended.state == SessionState.ENDED
    assert ended.end_reason == "logoff"
    assert ended.ended_at is not None
    assert ended.ended_at >= ended.started_at
    assert ended.pending_until is None
    with broker.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])
    assert launch(broker, "erin").machine.name == first.machine.name


def test_a_releasing_machine_is_not_handed_out(broker: Broker) -> None:
    first = launch(broker, "alice")
    launch(broker, "bob")
    logoff(broker, "alice", first.session.id, recycle=False)
    assert machine_row(broker, first.machine.name).state == MachineState.RELEASING
    with broker.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])

    with pytest.raises(NoMachineAvailable):
        launch(broker, "erin")


def test_new_launch_after_logoff_is_a_new_session(broker: Broker) -> None:
    first = launch(broker, "alice")
    logoff(broker, "alice", first.session.id)

    second = launch(broker, "alice")

    assert not second.reconnected
    assert second.session.id != first.session.id


def test_logoff_of_someone_elses_session(broker: Broker) -> None:
    alice = launch(broker, "alice")

    with pytest.raises(SessionNotFound):
        logoff(broker, "bob", alice.session.id)
    with pytest.raises(SessionNotFound):
        logoff(broker, "bob", "no-such-session")

    assert machine_row(broker, alice.machine.name).assigned_user_id == broker.user("alice").id
    assert session_row(broker, alice.session.id).state == SessionState.PENDING


def test_second_logoff_leaves_the_next_user_alone(broker: Broker) -> None:
    first = launch(broker, "alice")
    logoff(broker, "alice", first.session.id)
    bob = launch(broker, "bob")
    assert bob.machine.id == first.machine.id

    logoff(broker, "alice", first.session.id)  # stale retry: a no-op

    assert machine_row(broker, bob.machine.name).assigned_user_id == broker.user("bob").id


# Dedicated pools


@pytest.fixture
def dedicated(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    pools[0]["kind"] = "dedicated"
    return make_broker(pools=pools)


def test_dedicated_first_launch_binds_and_logoff_keeps_the_binding(dedicated: Broker) -> None:
    first = launch(dedicated, "alice")
    logoff(dedicated, "alice", first.session.id)

    row = machine_row(dedicated, first.machine.name)
    assert row.state == MachineState.ASSIGNED
    assert row.assigned_user_id == dedicated.user("alice").id

    # bob gets the other machine, never alice's, even while she has no session.
    assert launch(dedicated, "bob").machine.name != first.machine.name
    second = launch(dedicated, "alice")
    assert not second.reconnected
    assert second.session.id != first.session.id
    assert second.machine.id == first.machine.id


def test_dedicated_pool_is_full_when_every_machine_is_bound(dedicated: Broker) -> None:
    for name in ("alice", "bob"):
        logoff(dedicated, name, launch(dedicated, name).session.id)
    with dedicated.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])

    with pytest.raises(NoMachineAvailable):
        launch(dedicated, "erin")


def test_dedicated_machine_in_maintenance(dedicated: Broker) -> None:
    first = launch(dedicated, "alice")
    logoff(dedicated, "alice", first.session.id)
    with dedicated.session() as db:
        db.execute(
            update(Machine)
            .where(Machine.id == first.machine.id)
            .values(state=MachineState.MAINTENANCE)
        )
        db.commit()

    with pytest.raises(MachineUnavailable) as caught:
        launch(dedicated, "alice")

    assert "under maintenance" in caught.value.detail
    # Not handed another machine behind the admin's back either.
    assert machine_row(dedicated, "eng-2").state == MachineState.READY


# The desktop list


def view_states(broker: Broker, username: str) -> dict[str, str]:
    with broker.session() as db:
        return {v.pool.id: v.state for v in allocation.desktops(db, broker.user(username))}


def test_desktops_view(broker: Broker) -> None:
    launch(broker, "bob", "art")

    assert view_states(broker, "bob") == {"art": "connected", "engineering": "available"}
    assert view_states(broker, "alice") == {"engineering": "available"}
    assert view_states(broker, "dave") == {}


def test_desktops_view_states(broker: Broker) -> None:
    bob = launch(broker, "bob", "art")
    alice = launch(broker, "alice")
    with broker.session() as db:
        sessions.disconnect(db, broker.user("bob"), bob.session.id, utcnow(), address=None)
        # alice's machine was asleep and is being woken.
        db.execute(update(Machine).where(Machine.id == alice.machine.id).values(woken_at=utcnow()))
        db.execute(
            update(Machine).where(Machine.name == "eng-2").values(state=MachineState.MAINTENANCE)
        )
        db.commit()
        set_user(db, "erin", "pw", groups=["staff"])

    assert view_states(broker, "bob") == {"art": "disconnected", "engineering": "unavailable"}
    assert view_states(broker, "alice") == {"engineering": "starting"}
    with broker.session() as db:
        db.execute(
            update(Machine).where(Machine.name == "art-1").values(state=MachineState.MAINTENANCE)
        )
        db.commit()
    logoff(broker, "bob", bob.session.id)
    with broker.session() as db:
        set_user(db, "frank", "pw", groups=["artists"])
    assert view_states(broker, "frank") == {"art": "maintenance"}


def test_maintenance_only_when_every_machine_is_in_it(broker: Broker) -> None:
    with broker.session() as db:
        set_user(db, "frank", "pw", groups=["artists"])
        db.execute(
            update(Machine).where(Machine.name == "art-1").values(state=MachineState.MAINTENANCE)
        )
        db.commit()
    assert view_states(broker, "frank") == {"art": "maintenance"}

    with broker.session() as db:
        # A machine being cleaned up is not free, but the pool is not all in maintenance.
        db.add(Machine(pool_id="art", name="art-2", host="art-2", port=5900, state="releasing"))
        db.commit()
    assert view_states(broker, "frank") == {"art": "unavailable"}

    with broker.session() as db:
        db.execute(delete(Machine).where(Machine.pool_id == "art"))
        db.commit()
    assert view_states(broker, "frank") == {"art": "unavailable"}


def test_dedicated_view_follows_the_bound_machine(dedicated: Broker) -> None:
    logoff(dedicated, "alice", launch(dedicated, "alice").session.id)
    logoff(dedicated, "bob", launch(dedicated, "bob").session.id)
    with dedicated.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])

    # Every machine is bound: alice still has hers, erin has none.
    assert view_states(dedicated, "alice") == {"engineering": "available"}
    assert view_states(dedicated, "erin") == {"engineering": "unavailable"}
    with dedicated.session() as db:
        db.execute(
            update(Machine).where(Machine.name == "eng-1").values(state=MachineState.MAINTENANCE)
        )
        db.commit()
    assert view_states(dedicated, "alice") == {"engineering": "maintenance"}


# Races. Each thread has its own Session (and so its own connection), as
# concurrent requests do.

MACHINES = 5
USERS = 16


@pytest.fixture
def crowded(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    pools[0]["machines"] = [
        {"name": f"eng-{i}", "host": "127.0.0.1", "port": 5900 + i} for i in range(MACHINES)
    ]
    users = {f"user{i}": UserSpec("pw", groups=["staff"]) for i in range(USERS)}
    return make_broker(pools=pools, users=users)


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)

    def start(i: int) -> object:
        barrier.wait()
        try:
            return work(i)
        except NoMachineAvailable as exc:
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def test_concurrent_launches_never_share_a_machine(crowded: Broker) -> None:
    factory = crowded.app.state.session_factory
    with factory() as db:
        user_ids = {u.username: u.id for u in db.scalars(select(User))}

    def work(i: int) -> object:
        with factory() as db:
            user = db.get_one(User, user_ids[f"user{i}"])
            result = allocation.launch(db, user, "engineering")
            return (user.id, result.machine.id)

    results = run_together(USERS, work)

    claims = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, NoMachineAvailable)]
    assert len(claims) == MACHINES
    assert len(refused) == USERS - MACHINES
    assert len({machine for _, machine in claims}) == MACHINES
    with factory() as db:
        rows = db.scalars(select(Machine).where(Machine.pool_id == "engineering")).all()
        assert {(m.assigned_user_id, m.id) for m in rows} == set(claims)
        live = db.scalar(
            select(func.count())
            .select_from(DesktopSession)
            .where(DesktopSession.state == SessionState.PENDING)
        )
        assert live == MACHINES


@pytest.mark.parametrize("kind", ["floating", "dedicated"])
def test_concurrent_launches_by_one_user_make_one_session(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], kind: str
) -> None:
    pools[0]["kind"] = kind
    pools[0]["machines"] = [
        {"name": f"eng-{i}", "host": "127.0.0.1", "port": 5900 + i} for i in range(MACHINES)
    ]
    broker = make_broker(pools=pools)
    factory = broker.app.state.session_factory
    user_id = broker.user("alice").id

    def work(_i: int) -> object:
        with factory() as db:
            return allocation.launch(db, db.get_one(User, user_id), "engineering").session.id

    results = run_together(8, work)

    assert len(set(results)) == 1
    with factory() as db:
        held = db.scalars(select(Machine).where(Machine.assigned_user_id.is_not(None))).all()
    assert [m.assigned_user_id for m in held] == [user_id]


def test_postgresql_claims_skip_locked_rows(broker: Broker) -> None:
    engine = broker.app.state.engine
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        launch(broker, "alice")
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    locking = [s for s in statements if "FOR UPDATE" in s]
    if engine.dialect.name == "postgresql":
        assert len(locking) == 1
        assert "SKIP LOCKED" in locking[0]
    else:
        assert locking == []
    # Either way the claim itself is one conditional UPDATE of the machine.
    claims = [s for s in statements if s.startswith("UPDATE machines")]
    assert len(claims) == 1
    assert "assigned_user_id IS NULL" in claims[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_reads_a_users_live_session_through_its_index(broker: Broker) -> None:
    """Not a scan of every session ever made, which grows all day long."""
    engine = broker.app.state.engine
    reads: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        if statement.startswith("SELECT") and "FROM sessions" in statement:
            reads.append((statement, params))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        launch(broker, "alice")
        with broker.session() as db:
            allocation.desktops(db, broker.user("alice"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert len(reads) >= 2
    with engine.connect() as conn:
        for statement, params in reads:
            plan = [
                row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
            assert any("USING INDEX uq_sessions_live_user_pool" in step for step in plan), plan


def test_unassigning_a_dedicated_machine(dedicated: Broker) -> None:
    first = launch(dedicated, "alice")
    with dedicated.session() as db:
        # Not while alice's session is live on it.
        assert not lifecycle.unassign(db, first.machine.id)
        db.commit()
    logoff(dedicated, "alice", first.session.id)

    with dedicated.session() as db:
        assert lifecycle.unassign(db, first.machine.id)
        db.commit()
        assert not lifecycle.unassign(db, first.machine.id)  # nobody's any more

    row = machine_row(dedicated, first.machine.name)
    assert (row.state, row.assigned_user_id) == (MachineState.READY, None)
    assert launch(dedicated, "bob").machine.id == first.machine.id
