"""Handing out machines: reconnect, claim, pool full, log off, and races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from broker_stub.auth.users import set_user
from broker_stub.db.models import DesktopSession, Machine, MachineState, SessionState, User
from broker_stub.domain import allocation
from broker_stub.domain.errors import (
    NoMachineAvailable,
    NotEntitled,
    PoolNotFound,
    ProtocolNotOffered,
    SessionNotFound,
)

from .conftest import Broker, PoolSpec, UserSpec


def launch(broker: Broker, username: str, pool: str = "engineering") -> allocation.Launch:
    with broker.session() as db:
        return allocation.launch(db, broker.user(username), pool)


def logoff(broker: Broker, username: str, session_id: str) -> None:
    with broker.session() as db:
        allocation.logoff(db, broker.user(username), session_id)


def machine_row(broker: Broker, name: str) -> Machine:
    with broker.session() as db:
        machine = db.scalar(select(Machine).where(Machine.name == name))
    assert machine is not None
    return machine


def test_launch_claims_a_machine(broker: Broker) -> None:
    result = launch(broker, "alice")

    assert not result.reconnected
    assert result.machine.name == "eng-1"
    assert result.session.state == SessionState.ACTIVE
    assert result.session.protocol == "vnc"
    row = machine_row(broker, "eng-1")
    assert row.state == MachineState.IN_USE
    assert row.assigned_user_id == broker.user("alice").id


def test_second_launch_reconnects_to_the_same_session(broker: Broker) -> None:
    first = launch(broker, "alice")
    second = launch(broker, "alice")

    assert second.reconnected
    assert second.session.id == first.session.id
    assert second.machine.id == first.machine.id
    assert machine_row(broker, "eng-2").state == MachineState.READY


def test_two_users_get_different_machines(broker: Broker) -> None:
    alice = launch(broker, "alice")
    bob = launch(broker, "bob")

    assert {alice.machine.name, bob.machine.name} == {"eng-1", "eng-2"}
    assert alice.session.id != bob.session.id


def test_full_pool(broker: Broker, make_broker: Callable[..., Broker]) -> None:
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
    with broker.session() as db, pytest.raises(ProtocolNotOffered) as caught:
        allocation.launch(db, broker.user("alice"), "engineering", "rdp")
    assert "vnc" in caught.value.detail


def test_group_entitlement(broker: Broker) -> None:
    # bob is in neither pool's user list, only in their groups.
    assert launch(broker, "bob", "art").machine.name == "art-1"
    assert launch(broker, "bob", "engineering").machine.name == "eng-1"


def test_logoff_frees_the_machine_for_the_next_user(broker: Broker) -> None:
    first = launch(broker, "alice")
    launch(broker, "bob")

    logoff(broker, "alice", first.session.id)

    row = machine_row(broker, first.machine.name)
    assert row.state == MachineState.READY
    assert row.assigned_user_id is None
    with broker.session() as db:
        ended = db.get_one(DesktopSession, first.session.id)
    assert ended.state == SessionState.ENDED
    assert ended.ended_at is not None
    assert ended.ended_at >= ended.started_at
    with broker.session() as db:
        set_user(db, "erin", "pw", groups=["staff"])
    assert launch(broker, "erin").machine.name == first.machine.name


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


def test_second_logoff_leaves_the_next_user_alone(broker: Broker) -> None:
    first = launch(broker, "alice")
    logoff(broker, "alice", first.session.id)
    bob = launch(broker, "bob")
    assert bob.machine.id == first.machine.id

    logoff(broker, "alice", first.session.id)  # stale retry: a no-op

    assert machine_row(broker, bob.machine.name).assigned_user_id == broker.user("bob").id


def test_desktops_view(broker: Broker) -> None:
    launch(broker, "bob", "art")
    with broker.session() as db:
        views = allocation.desktops(db, broker.user("bob"))
        alice_views = allocation.desktops(db, broker.user("alice"))
        dave_views = allocation.desktops(db, broker.user("dave"))

    assert [(v.pool.id, v.free, v.session is not None) for v in views] == [
        ("art", False, True),
        ("engineering", True, False),
    ]
    assert [v.pool.id for v in alice_views] == ["engineering"]
    assert dave_views == []


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
        active = db.scalar(
            select(func.count())
            .select_from(DesktopSession)
            .where(DesktopSession.state == SessionState.ACTIVE)
        )
        assert active == MACHINES


def test_concurrent_launches_by_one_user_make_one_session(crowded: Broker) -> None:
    factory = crowded.app.state.session_factory
    user_id = crowded.user("user0").id

    def work(_i: int) -> object:
        with factory() as db:
            return allocation.launch(db, db.get_one(User, user_id), "engineering").session.id

    results = run_together(8, work)

    assert len(set(results)) == 1
    with factory() as db:
        in_use = db.scalars(select(Machine).where(Machine.state == MachineState.IN_USE)).all()
    assert [m.assigned_user_id for m in in_use] == [user_id]
