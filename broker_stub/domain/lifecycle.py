"""Session and machine state changes shared by the API, the scheduler and admins.

    session  pending → active ⇄ disconnected → ended
    machine  ready → assigned → in_use ⇄ disconnected → releasing → ready (floating)
                                                      → assigned (dedicated)

Every change is a conditional UPDATE that names the state (and deadline) it
expects and checks the row count. A heartbeat racing the scheduler, or two
nodes firing one deadline, therefore change a row once; the loser learns it
lost and does nothing. Functions here work in the caller's transaction and
never commit, except `recycle`, which calls a backend and must not hold a
transaction open meanwhile, and `machine_failed`, which commits what it did.

A machine whose console did not answer is `unreachable` and is probed again
with a growing pause (`probe_delay`); one that answers goes back to service.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Executable, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from broker_stub import log
from broker_stub.backends import BackendError, Backends, MachineRef, RecycleMode
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    EndReason,
    Machine,
    MachineState,
    Pool,
    SessionState,
)
from broker_stub.domain import audit

# A node that ended a floating session recycles its machine at once; if that
# node dies first, another one takes over after this long.
RECYCLE_LEASE = timedelta(minutes=2)
HELD = (MachineState.ASSIGNED, MachineState.IN_USE, MachineState.DISCONNECTED)
# Launchers beat every minute while their client runs. An active session in a pool
# without idle_timeout whose launcher stopped (closed with its desktop left open,
# killed, off the network) is disconnected after this long without a beat, so
# that it reads "disconnected", not "connected", and its disconnect timeout runs.
SILENT_LAUNCHER_TIMEOUT = timedelta(minutes=3)
# An unreachable machine is probed again after 10 s, 20 s, 40 s ... at most 5 minutes.
PROBE_FIRST_DELAY = timedelta(seconds=10)
PROBE_MOST_DELAY = timedelta(minutes=5)
_NO_DEADLINES: dict[str, Any] = {
    "pending_until": None,
    "disconnect_deadline": None,
    "idle_deadline": None,
    "max_deadline": None,
}


def rows_changed(db: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result = db.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def seconds(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def machine_ref(machine: Machine) -> MachineRef:
    ports = {
        key: port
        for key, port in (
            ("vnc", machine.vnc_port),
            ("rdp", machine.rdp_port),
            ("spice", machine.spice_port),
            ("spice_tls", machine.spice_tls_port),
        )
        if port is not None
    }
    return MachineRef(
        pool_id=machine.pool_id,
        name=machine.name,
        host=machine.host,
        ports=ports,
        mac=machine.mac,
        password=machine.password,
    )


def change_session(
    db: Session,
    session_id: str,
    states: tuple[str, ...],
    values: dict[str, Any],
    *,
    expect: tuple[InstrumentedAttribute[datetime | None], datetime] | None = None,
) -> bool:
    """Set `values` on the session if it is in one of `states` (and, with
    `expect`, that deadline still has the value seen); True if it changed."""
    where: list[ColumnElement[bool]] = [
        DesktopSession.id == session_id,
        DesktopSession.state.in_(states),
    ]
    if expect is not None:
        column, seen = expect
        where.append(column == seen)
    return rows_changed(db, update(DesktopSession).where(*where).values(**values)) == 1


def set_machine_state(
    db: Session, session: DesktopSession, to: MachineState, from_states: tuple[str, ...]
) -> None:
    """Move the session's machine to `to` if it is still the session user's and in
    one of `from_states`; a machine an admin put in maintenance stays there."""
    values: dict[str, Any] = {"state": to}
    if to == MachineState.IN_USE:
        values["woken_at"] = None  # it answered
    db.execute(
        update(Machine)
        .where(
            Machine.id == session.machine_id,
            Machine.assigned_user_id == session.user_id,
            Machine.state.in_(from_states),
        )
        .values(**values)
    )


def end_session(
    db: Session,
    session: DesktopSession,
    pool: Pool,
    reason: EndReason,
    now: datetime,
    *,
    states: tuple[str, ...] = LIVE_SESSION_STATES,
    expect: tuple[InstrumentedAttribute[datetime | None], datetime] | None = None,
) -> bool:
    """End the session and let its machine go, in `db`'s transaction.

    False if the session was not in `states` (or the deadline in `expect`
    moved): someone else changed it first. A floating machine goes to
    releasing (call `recycle` after the commit); a dedicated one stays its
    owner's.
    """
    values = {"state": SessionState.ENDED, "end_reason": reason, "ended_at": now, **_NO_DEADLINES}
    if not change_session(db, session.id, states, values, expect=expect):
        return False
    machine = db.get(Machine, session.machine_id)
    if machine is None:
        return True
    if reason == EndReason.PRELAUNCH_TIMEOUT and machine.woken_at is not None:
        # Woken but never answered: do not hand it to the next user.
        log.domain.warning(
            "pool %s: machine %s did not answer within %ss of a wake-up; it is set to "
            "error until the broker restarts or an admin clears it",
            pool.id,
            machine.name,
            pool.prelaunch_timeout_s,
        )
        _let_go(db, session, pool, now, to=MachineState.ERROR)
    elif pool.dedicated:
        _let_go(db, session, pool, now, to=MachineState.ASSIGNED)
    else:
        _let_go(db, session, pool, now, to=MachineState.RELEASING)
    return True


def _let_go(
    db: Session, session: DesktopSession, pool: Pool, now: datetime, *, to: MachineState
) -> None:
    mine = (Machine.id == session.machine_id, Machine.assigned_user_id == session.user_id)
    values: dict[str, Any] = {"state": to, "woken_at": None}
    if not pool.dedicated:
        values["assigned_user_id"] = None
    if to == MachineState.RELEASING:
        values["recycle_after"] = now + RECYCLE_LEASE
    changed = rows_changed(
        db, update(Machine).where(*mine, Machine.state.in_(HELD)).values(**values)
    )
    if changed == 0 and not pool.dedicated:
        # In maintenance or error: it keeps that state but is nobody's any more.
        db.execute(update(Machine).where(*mine).values(assigned_user_id=None, woken_at=None))


def recycle_mode(pool: Pool) -> RecycleMode:
    return RecycleMode(pool.recycle)


def recycle(db: Session, backends: Backends, machine_id: int) -> bool:
    """Have the backend recycle a releasing machine the pool's way, then make it ready.

    Commits what the caller did first. True if the machine is ready; on a
    backend failure it goes to error and the reason is logged and kept in
    `problem`. A pool that recycles with "none" asks nothing of its backend.
    """
    db.commit()
    machine = db.get(Machine, machine_id, populate_existing=True)
    if machine is None or machine.state != MachineState.RELEASING:
        return False
    pool = db.get_one(Pool, machine.pool_id)
    ref = machine_ref(machine)
    options = dict(pool.backend)
    mode = recycle_mode(pool)
    db.commit()  # ends the read: no transaction stays open while the backend works
    releasing = (Machine.id == machine_id, Machine.state == MachineState.RELEASING)
    if mode != RecycleMode.NONE:
        try:
            backends.for_pool(ref.pool_id, options).recycle(ref, mode)
        except BackendError as exc:
            log.backend.error("pool %s: recycling %s failed: %s", ref.pool_id, ref.name, exc)
            db.execute(
                update(Machine)
                .where(*releasing)
                .values(state=MachineState.ERROR, problem=f"recycle ({mode}) failed: {exc}"[:500])
            )
            db.commit()
            return False
        log.backend.info("pool %s: %s recycled (%s)", ref.pool_id, ref.name, mode)
    # A dedicated machine an admin had recycled goes back to its owner.
    owned = rows_changed(
        db,
        update(Machine)
        .where(*releasing, Machine.assigned_user_id.is_not(None))
        .values(state=MachineState.ASSIGNED, recycle_after=None, problem=None),
    )
    done = rows_changed(
        db,
        update(Machine)
        .where(*releasing)
        .values(state=MachineState.READY, recycle_after=None, problem=None),
    )
    db.commit()
    return owned + done == 1


def machine_failed(
    db: Session,
    session_id: str,
    now: datetime,
    *,
    to: MachineState,
    problem: str,
    reason: EndReason,
) -> None:
    """A launch found the session's machine dead: end the session and take the
    machine out of service (`to`: unreachable or error), with the problem for
    admins and an audit event. Commits."""
    session = db.get_one(DesktopSession, session_id, populate_existing=True)
    pool = db.get_one(Pool, session.pool_id)
    end_session(db, session, pool, reason, now)
    values: dict[str, Any] = {
        "state": to,
        "problem": problem[:500],
        "recycle_after": None,
        "woken_at": None,
        "idle_since": None,
    }
    if to == MachineState.UNREACHABLE:
        values |= {"probe_after": now + PROBE_FIRST_DELAY, "probe_failures": 1}
    machine = db.get_one(Machine, session.machine_id)
    db.execute(
        update(Machine)
        .where(Machine.id == machine.id, Machine.state != MachineState.MAINTENANCE)
        .values(**values)
    )
    audit.record(
        db,
        actor=None,
        action=audit.MACHINE_FAILED,
        target=f"machine:{pool.id}/{machine.name}",
        detail={"session": session.id, "state": str(to), "problem": problem},
        address=None,
        at=now,
    )
    db.commit()


def probe_delay(failures: int) -> timedelta:
    """How long to wait before the next probe of a machine that failed `failures` probes."""
    delay: timedelta = PROBE_FIRST_DELAY * 2 ** min(max(0, failures - 1), 16)
    return min(delay, PROBE_MOST_DELAY)


def back_in_service(db: Session, machine_id: int) -> bool:
    """An unreachable machine answers again: ready, or its dedicated owner's.

    The caller commits.
    """
    values: dict[str, Any] = {"probe_after": None, "probe_failures": 0, "problem": None}
    unreachable = (Machine.id == machine_id, Machine.state == MachineState.UNREACHABLE)
    owned = rows_changed(
        db,
        update(Machine)
        .where(*unreachable, Machine.assigned_user_id.is_not(None))
        .values(state=MachineState.ASSIGNED, **values),
    )
    free = rows_changed(
        db,
        update(Machine)
        .where(*unreachable, Machine.assigned_user_id.is_(None))
        .values(state=MachineState.READY, **values),
    )
    return owned + free == 1


def unassign(db: Session, machine_id: int) -> bool:
    """Take a dedicated machine from its owner, in the caller's transaction.

    False while a session is live on it (log that off first) or if it has no
    owner. A machine in maintenance or error keeps that state; one that was
    just bound goes back to ready for the next user's first launch.
    """
    # PostgreSQL: wait for a launch that is starting a session on the machine
    # to commit, so the check below sees that session (a statement that only
    # waited on the row would judge the session by its older snapshot). While
    # the lock is held no session can start on it. SQLite writes one at a time.
    db.execute(select(Machine.id).where(Machine.id == machine_id).with_for_update())
    idle = ~exists().where(
        DesktopSession.machine_id == machine_id,
        DesktopSession.state.in_(LIVE_SESSION_STATES),
    )
    owned = (Machine.id == machine_id, Machine.assigned_user_id.is_not(None), idle)
    if rows_changed(
        db,
        update(Machine)
        .where(*owned, Machine.state.in_(HELD))
        .values(assigned_user_id=None, state=MachineState.READY, woken_at=None),
    ):
        return True
    return rows_changed(db, update(Machine).where(*owned).values(assigned_user_id=None)) == 1
