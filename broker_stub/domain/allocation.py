"""Hand desktops to users: launch (reconnect or claim a machine) and the desktop list.

A launch looks, in order, for
1. the user's live session in the pool (pending, active or disconnected): reconnect;
2. in a dedicated pool, the machine bound to the user by an earlier launch;
3. a ready machine nobody holds, claimed with one conditional UPDATE that
   picks the first free machine in a subquery and returns the row it
   changed, if any. On PostgreSQL the subquery locks its row with
   `FOR UPDATE SKIP LOCKED`, so concurrent launches on several nodes take
   different machines instead of queueing for the same row;
4. in a clone pool below its limit, a new machine, reserved for the user
   (`provisioning`; domain/connect.py has the backend make it).

Launches of one user run one after the other (a row lock on the user on
PostgreSQL, the single writer on SQLite), so they end in one session.

The claim, the new session and the audit event commit in one transaction:
a broker that dies half-way leaves either all of them or none. The database
backs this up with unique indexes (one live session per user and pool, one
per machine, one machine per user and pool), so a race that slips past the
code still cannot hand a machine to two users.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Update,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.clock import utcnow
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Machine,
    MachineState,
    Pool,
    SessionState,
    User,
)
from broker_stub.db.rows import entity, labelled, made, table_of
from broker_stub.domain import audit, clones, lifecycle
from broker_stub.domain.entitlements import entitled_pools, grants
from broker_stub.domain.errors import (
    MachineUnavailable,
    NoMachineAvailable,
    NotEntitled,
    PoolFull,
    PoolNotFound,
    ProtocolNotOffered,
)

_UNUSABLE = {
    MachineState.MAINTENANCE: "under maintenance",
    MachineState.ERROR: "out of order",
    MachineState.PROVISIONING: "being prepared",
    MachineState.RELEASING: "being cleaned up",
    MachineState.READY: "being prepared",
}


@dataclass(frozen=True)
class Launch:
    """What a launcher needs to open a desktop."""

    session: DesktopSession
    machine: Machine
    pool: Pool
    reconnected: bool


@dataclass(frozen=True)
class PoolForUser:
    """A pool as one user may launch it: the pool, and whether the user is entitled."""

    pool: Pool
    entitled: bool


@dataclass(frozen=True)
class DesktopView:
    """One entitled pool as this user sees it.

    `state`: available, connected, disconnected, starting, unavailable or maintenance.
    """

    pool: Pool
    state: str
    session: DesktopSession | None
    machine: Machine | None


def launch(
    db: Session,
    user: User,
    pool_id: str,
    protocol: str | None = None,
    *,
    address: str | None = None,
    now: datetime | None = None,
    target: PoolForUser | None = None,
) -> Launch:
    """The user's live session in the pool, or a new pending one on a claimed machine.

    Either way the launch goes to the audit log with the client's `address`,
    in the same transaction as the claim. `target` is `pool_for(db, user,
    pool_id)` if the caller has read it already.
    """
    now = now or utcnow()
    result = _launch(db, user, target or pool_for(db, user, pool_id), pool_id, protocol, now)
    audit.record(
        db,
        actor=user.username,
        action=audit.LAUNCH,
        target=f"pool:{result.session.pool_id}",
        detail={
            "session": result.session.id,
            "machine": result.machine.name,
            "protocol": result.session.protocol,
            "reconnected": result.reconnected,
        },
        address=address,
        at=now,
    )
    db.commit()
    return result


# The launch's statements, built once: building a statement costs more than
# running it. They read into model objects that no Session tracks
# (db/rows.py); whatever a launch changes, it changes with an UPDATE.
_pools, _machines, _sessions = table_of(Pool), table_of(Machine), table_of(DesktopSession)

POOL_FOR_USER = select(
    *_pools.columns,
    grants(_pools.c.id, user_id=bindparam("user_id"), username=bindparam("username")).label(
        "entitled"
    ),
).where(_pools.c.id == bindparam("pool_id"))


def pool_for(db: Session, user: User, pool_id: str) -> PoolForUser | None:
    """The pool and whether `user` may use it, in one read; None if there is no such pool."""
    row = (
        db.connection()
        .execute(POOL_FOR_USER, {"pool_id": pool_id, "user_id": user.id, "username": user.username})
        .one_or_none()
    )
    if row is None:
        return None
    return PoolForUser(pool=entity(Pool, row), entitled=bool(row.entitled))


def _launch(
    db: Session,
    user: User,
    target: PoolForUser | None,
    pool_id: str,
    wanted: str | None,
    now: datetime,
) -> Launch:
    if target is None:
        raise PoolNotFound(pool_id)
    pool = target.pool
    if not target.entitled:
        raise NotEntitled(pool.name)
    protocol = wanted or pool.default_protocol
    if protocol not in pool.protocols:
        raise ProtocolNotOffered(pool.name, protocol, pool.protocols)
    _one_launch_per_user(db, user)

    for _attempt in range(2):
        existing = _reconnect(db, user, pool, wanted, now)
        if existing is not None:
            return existing
        try:
            machine = _bound_machine(db, user, pool) if pool.dedicated else None
            if machine is None:
                machine = _claim_free(db, user, pool)
            if machine is None:
                machine = _reserve_clone(db, user, pool, now)
            if machine is None:
                break
            return _start_session(db, user, pool, machine, protocol, now)
        except IntegrityError:
            # The same user launched this pool twice at once and the other
            # request won: our claim is rolled back; theirs is the session.
            db.rollback()
    db.rollback()
    # A launch of the same user running beside this one may have taken the
    # last machine for them; that session is theirs to reconnect to.
    existing = _reconnect(db, user, pool, wanted, now)
    if existing is not None:
        return existing
    log.domain.info("pool %s: no machine free for %r", pool.id, user.username)
    limit = clones.clone_limit(pool)
    if limit is not None:
        raise PoolFull(pool.name, limit)
    raise NoMachineAvailable(pool.name)


# The live sessions, in the very words of the partial unique index on them
# (models.DesktopSession), so that SQLite reads them through it instead of
# scanning every session ever made.
_LIVE: ColumnElement[bool] = DesktopSession.state != literal_column("'ended'")


def _one_launch_per_user(db: Session, user: User) -> None:
    """On PostgreSQL, wait for this user's other launches to commit first.

    Without it, eight launches of one user could lock eight machines under
    SKIP LOCKED, and those that found every free row locked by their own
    siblings would answer "no machine free" before the winner commits.
    FOR NO KEY UPDATE still lets sessions of the user be inserted (their
    foreign key takes only a key-share lock). SQLite writes one at a time
    anyway, so it is spared the query.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    db.connection().execute(LOCK_USER, {"user_id": user.id})


LOCK_USER = (
    select(table_of(User).c.id)
    .where(table_of(User).c.id == bindparam("user_id"))
    .with_for_update(key_share=True)
)

LIVE_SESSION = (
    select(*labelled(DesktopSession, "s_"), *labelled(Machine, "m_"))
    .select_from(_sessions.join(_machines, _machines.c.id == _sessions.c.machine_id))
    .where(
        _sessions.c.user_id == bindparam("user_id"),
        _sessions.c.pool_id == bindparam("pool_id"),
        _LIVE,
    )
)


def _live_session(db: Session, user: User, pool: Pool) -> tuple[DesktopSession, Machine] | None:
    row = (
        db.connection()
        .execute(LIVE_SESSION, {"user_id": user.id, "pool_id": pool.id})
        .one_or_none()
    )
    if row is None:
        return None
    return entity(DesktopSession, row, "s_"), entity(Machine, row, "m_")


def _reconnect(
    db: Session, user: User, pool: Pool, wanted: str | None, now: datetime
) -> Launch | None:
    """The user's live session, given a fresh pre-launch window, or None."""
    found = _live_session(db, user, pool)
    if found is None:
        return None
    session, machine = found
    window = now + timedelta(seconds=pool.prelaunch_timeout_s)
    # The launcher starts a client again: give it as long as a first launch
    # before the pending or disconnect deadline fires.
    if session.state == SessionState.PENDING:
        lifecycle.change_session(db, session.id, (SessionState.PENDING,), {"pending_until": window})
    elif session.state == SessionState.DISCONNECTED and (
        session.disconnect_deadline is not None and session.disconnect_deadline < window
    ):
        lifecycle.change_session(
            db, session.id, (SessionState.DISCONNECTED,), {"disconnect_deadline": window}
        )
    if wanted is not None and wanted != session.protocol:
        lifecycle.change_session(db, session.id, LIVE_SESSION_STATES, {"protocol": wanted})
        session.protocol = wanted
    return Launch(session=session, machine=machine, pool=pool, reconnected=True)


def _bound_machine(db: Session, user: User, pool: Pool) -> Machine | None:
    """A dedicated pool's machine bound to the user, made ready for a session."""
    machine = db.scalar(
        select(Machine).where(Machine.pool_id == pool.id, Machine.assigned_user_id == user.id)
    )
    if machine is None:
        return None
    if machine.state not in lifecycle.HELD:
        raise MachineUnavailable(pool.name, _UNUSABLE.get(MachineState(machine.state), "busy"))
    # Also locks the row until commit, so one launch at a time starts on it.
    held = db.scalars(
        update(Machine)
        .where(
            Machine.id == machine.id,
            Machine.assigned_user_id == user.id,
            Machine.state.in_(lifecycle.HELD),
        )
        .values(state=MachineState.ASSIGNED)
        .returning(Machine)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one_or_none()
    if held is None:
        raise MachineUnavailable(pool.name, "busy")
    return held


# Written into the SQL, not bound: only then may the database use the partial
# index of free machines (models.FREE_MACHINE) in a prepared statement's plan.
_READY: ColumnElement[str] = literal_column(f"'{MachineState.READY.value}'")

# SQLite's planner knows nothing of the data until ANALYZE runs, which a new
# database never had (and ANALYZE at migrate time sees empty tables). Left to
# itself it reads a pool's free machines through the unique index on
# (pool_id, assigned_user_id) and sorts them all: 5-7 ms at 30,000 free
# machines, inside the write lock, against 0.03 ms through the partial index.
# INDEXED BY makes SQLite use the partial index whatever the statistics say,
# and fail the statement ("no query solution") if it ever could not.
_BY_FREE_INDEX = "INDEXED BY ix_machines_free"


def _first_free(pool_id: str | SQLColumnExpression[str]) -> Select[int]:
    """The id of the pool's first free machine by name.

    Put so that the partial index of free machines answers it from its first
    entry for the pool, whatever the statistics: it wants the index's order
    and one row. PostgreSQL, before its first ANALYZE, takes a partial
    index for nearly empty, and reads all of it where a query does not ask
    for its order (the desktop list's free check did, 6 ms at 30,000 free
    machines). The plan tests (tests/unit/broker_stub/domain/
    test_allocation_plans.py) check both databases, with statistics and without.
    """
    return (
        select(Machine.id)
        .where(
            Machine.pool_id == pool_id,
            Machine.state == _READY,
            Machine.assigned_user_id.is_(None),
        )
        .order_by(Machine.name, Machine.id)
        # Written in, not bound: a prepared statement's plan then knows it is one row.
        .limit(literal_column("1"))
        .with_hint(Machine, _BY_FREE_INDEX, "sqlite")
    )


def _claim_free(db: Session, user: User, pool: Pool) -> Machine | None:
    """Claim a ready machine nobody holds, in one conditional UPDATE; None if none is free.

    The UPDATE changes the first free machine by name, which its subquery
    picks, so one row or none. On SQLite the one writer runs it whole; on
    PostgreSQL the subquery locks the row it picks, skipping rows that other
    launches have locked instead of waiting for them. Either way nothing can
    change the row between the pick and the change, so the UPDATE finds it by
    its key alone: checking again that it is free would let PostgreSQL,
    without statistics, look for it through the free index instead.
    """
    claim = CLAIM_FREE_LOCKING if db.get_bind().dialect.name == "postgresql" else CLAIM_FREE
    row = db.connection().execute(claim, {"in_pool": pool.id, "for_user": user.id}).one_or_none()
    return None if row is None else entity(Machine, row)


def _claim(first_free: Select[int]) -> Update:
    return (
        update(_machines)
        .where(_machines.c.id == first_free.scalar_subquery())
        .values(
            assigned_user_id=bindparam("for_user"),
            state=MachineState.ASSIGNED.value,
            woken_at=None,
            idle_since=None,
        )
        .returning(*_machines.columns)
    )


CLAIM_FREE = _claim(_first_free(bindparam("in_pool")))
CLAIM_FREE_LOCKING = _claim(_first_free(bindparam("in_pool")).with_for_update(skip_locked=True))


def _reserve_clone(db: Session, user: User, pool: Pool, now: datetime) -> Machine | None:
    """In a clone pool below its limit: a new machine's row, the user's, to be made."""
    limit = clones.clone_limit(pool)
    if limit is None:
        return None
    return clones.reserve(db, pool, limit, now, user_id=user.id)


def new_session_id() -> str:
    """An unguessable session id that is safe as a command-line argument.

    Plain URL-safe base64 starts with "-" once in 64, and `rubicon-broker
    sessions logoff -xyz` would read that as an option.
    """
    return f"ses_{secrets.token_urlsafe(18)}"


INSERT_SESSION = insert(_sessions)


def _start_session(
    db: Session, user: User, pool: Pool, machine: Machine, protocol: str, now: datetime
) -> Launch:
    max_session = lifecycle.seconds(pool.max_session_s)
    values = {
        "id": new_session_id(),
        "user_id": user.id,
        "pool_id": pool.id,
        "machine_id": machine.id,
        "protocol": protocol,
        "state": SessionState.PENDING.value,
        "started_at": now,
        "pending_until": now + timedelta(seconds=pool.prelaunch_timeout_s),
        "max_deadline": now + max_session if max_session is not None else None,
    }
    db.connection().execute(INSERT_SESSION, values)  # IntegrityError: the user's other launch won
    session = made(DesktopSession, values)
    log.domain.info(
        "session %s: %r got machine %s in pool %s", session.id, user.username, machine.name, pool.id
    )
    return Launch(session=session, machine=machine, pool=pool, reconnected=False)


def desktops(db: Session, user: User) -> list[DesktopView]:
    """The user's entitled pools, sorted by name, each with its state for this user."""
    pools = entitled_pools(db, user)
    ids = [p.id for p in pools]
    sessions = {
        s.pool_id: (s, m)
        for s, m in db.execute(
            select(DesktopSession, Machine)
            .join(Machine, Machine.id == DesktopSession.machine_id)
            .where(
                DesktopSession.user_id == user.id,
                _LIVE,
                DesktopSession.pool_id.in_(ids),
            )
        )
    }
    bound = {
        m.pool_id: m
        for m in db.scalars(
            select(Machine).where(Machine.pool_id.in_(ids), Machine.assigned_user_id == user.id)
        )
    }
    free = _with_free_machines(db, ids)
    free |= _room_for_clones(db, [p for p in pools if p.id not in free])
    # Only a pool the user has nothing in and no free machine can be "maintenance".
    unexplained = [
        p.id
        for p in pools
        if p.id not in free and p.id not in sessions and not (p.dedicated and p.id in bound)
    ]
    in_maintenance = _all_in_maintenance(db, unexplained) if unexplained else set()
    views = []
    for pool in pools:
        session, machine = sessions.get(pool.id, (None, None))
        own = bound.get(pool.id) if pool.dedicated else None
        state = _state(pool, session, machine, own, pool.id in free, pool.id in in_maintenance)
        views.append(DesktopView(pool=pool, state=state, session=session, machine=machine or own))
    return views


def _with_free_machines(db: Session, pool_ids: list[str]) -> set[str]:
    """The pools among `pool_ids` with a free machine: each pool's first one, as a
    launch would claim it, not every free machine (30,000 in a big pool)."""
    first_free = _first_free(Pool.id).scalar_subquery()
    return set(db.scalars(select(Pool.id).where(Pool.id.in_(pool_ids), first_free.is_not(None))))


def _room_for_clones(db: Session, pools: list[Pool]) -> set[str]:
    """The clone pools among `pools` that may make another machine (a launch makes one)."""
    limits = {p.id: limit for p in pools if (limit := clones.clone_limit(p)) is not None}
    if not limits:
        return set()
    counts = dict(
        db.execute(
            select(Machine.pool_id, func.count())
            .where(Machine.pool_id.in_(limits))
            .group_by(Machine.pool_id)
        ).all()
    )
    return {pool_id for pool_id, limit in limits.items() if counts.get(pool_id, 0) < limit}


def _all_in_maintenance(db: Session, pool_ids: list[str]) -> set[str]:
    """The pools whose every machine is in maintenance (and that have machines).

    Asked only for pools with no free machine, and put so that the database
    stops at a pool's first machine not in maintenance instead of counting all.
    """
    machine = Machine.pool_id == Pool.id
    other = Machine.state != literal_column(f"'{MachineState.MAINTENANCE.value}'")
    return set(
        db.scalars(
            select(Pool.id).where(
                Pool.id.in_(pool_ids),
                exists().where(machine),
                ~exists().where(machine, other),
            )
        )
    )


def _state(
    pool: Pool,
    session: DesktopSession | None,
    machine: Machine | None,
    own: Machine | None,
    free: bool,
    in_maintenance: bool,
) -> str:
    if session is not None and machine is not None:
        if session.state == SessionState.DISCONNECTED:
            return "disconnected"
        if session.state == SessionState.PENDING and machine.woken_at is not None:
            return "starting"
        return "connected"
    if own is not None:
        if own.state == MachineState.MAINTENANCE:
            return "maintenance"
        return "available" if own.state in lifecycle.HELD else "unavailable"
    if pool.degraded_since is not None:
        return "unavailable"  # its hypervisor keeps failing
    if free:
        return "available"
    return "maintenance" if in_maintenance else "unavailable"
