"""Hand desktops to users: launch (reconnect or claim a machine) and log off.

A machine is claimed with one conditional UPDATE whose row count is checked,
so two brokers, threads or processes can never hand the same machine to two
users: the loser sees a row count of 0 and tries the next machine.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.clock import utcnow
from broker_stub.db.models import DesktopSession, Machine, MachineState, Pool, SessionState, User
from broker_stub.domain import audit
from broker_stub.domain.entitlements import entitled_pools, is_entitled
from broker_stub.domain.errors import (
    NoMachineAvailable,
    NotEntitled,
    PoolNotFound,
    ProtocolNotOffered,
    SessionNotFound,
)


@dataclass(frozen=True)
class Launch:
    """What a launcher needs to open a desktop."""

    session: DesktopSession
    machine: Machine
    reconnected: bool


@dataclass(frozen=True)
class DesktopView:
    """One entitled pool as this user sees it."""

    pool: Pool
    free: bool
    session: DesktopSession | None
    machine: Machine | None


def launch(
    db: Session,
    user: User,
    pool_id: str,
    protocol: str | None = None,
    *,
    address: str | None = None,
) -> Launch:
    """Return the user's active session in the pool, or claim a free machine for one.

    Either way the launch goes to the audit log with the client's `address`.
    """
    result = _launch(db, user, pool_id, protocol)
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
    )
    db.commit()
    return result


def _launch(db: Session, user: User, pool_id: str, protocol: str | None) -> Launch:
    pool = db.get(Pool, pool_id)
    if pool is None:
        raise PoolNotFound(pool_id)
    if not is_entitled(db, user, pool):
        raise NotEntitled(pool.name)
    protocol = protocol or pool.protocol
    if protocol not in pool.protocols:
        raise ProtocolNotOffered(pool.name, protocol, pool.protocols)

    existing = _active_session(db, user, pool)
    if existing is not None:
        return existing

    candidates = db.scalars(
        select(Machine.id)
        .where(
            Machine.pool_id == pool.id,
            Machine.assigned_user_id.is_(None),
            Machine.state == MachineState.READY,
        )
        .order_by(Machine.name)
    ).all()
    for machine_id in candidates:
        if _claim(db, machine_id, user):
            return _start_session(db, user, pool, machine_id, protocol)
    db.rollback()
    # A launch of the same user running beside this one may have taken the
    # last machine for them; that session is theirs to reconnect to.
    existing = _active_session(db, user, pool)
    if existing is not None:
        return existing
    log.domain.info("pool %s: no machine free for %r", pool.id, user.username)
    raise NoMachineAvailable(pool.name)


def _active_session(db: Session, user: User, pool: Pool) -> Launch | None:
    row = db.execute(
        select(DesktopSession, Machine)
        .join(Machine, Machine.id == DesktopSession.machine_id)
        .where(
            DesktopSession.user_id == user.id,
            DesktopSession.pool_id == pool.id,
            DesktopSession.state == SessionState.ACTIVE,
        )
    ).one_or_none()
    if row is None:
        return None
    return Launch(session=row[0], machine=row[1], reconnected=True)


def _claim(db: Session, machine_id: int, user: User) -> bool:
    result = db.connection().execute(
        update(Machine)
        .where(
            Machine.id == machine_id,
            Machine.assigned_user_id.is_(None),
            Machine.state == MachineState.READY,
        )
        .values(assigned_user_id=user.id, state=MachineState.IN_USE)
    )
    return result.rowcount == 1


def _start_session(db: Session, user: User, pool: Pool, machine_id: int, protocol: str) -> Launch:
    session = DesktopSession(
        id=secrets.token_urlsafe(18),
        user_id=user.id,
        pool_id=pool.id,
        machine_id=machine_id,
        protocol=protocol,
        state=SessionState.ACTIVE,
        started_at=utcnow(),
    )
    db.add(session)
    try:
        db.commit()
    except IntegrityError:
        # The same user launched this pool twice at once and the other request
        # won; our claim is rolled back with this transaction. Hand out theirs.
        db.rollback()
        existing = _active_session(db, user, pool)
        if existing is None:
            raise
        return existing
    machine = db.get_one(Machine, machine_id, populate_existing=True)
    log.domain.info(
        "session %s: %r got machine %s in pool %s", session.id, user.username, machine.name, pool.id
    )
    return Launch(session=session, machine=machine, reconnected=False)


def logoff(
    db: Session,
    user: User,
    session_id: str,
    now: datetime | None = None,
    *,
    address: str | None = None,
) -> None:
    """End the user's session and free its machine. Ending an ended session is a no-op.

    The logoff goes to the audit log with the client's `address`.
    """
    session = db.get(DesktopSession, session_id)
    if session is None or session.user_id != user.id:
        raise SessionNotFound()
    if session.state == SessionState.ENDED:
        return
    session.state = SessionState.ENDED
    session.ended_at = now or utcnow()
    db.flush()
    db.connection().execute(
        update(Machine)
        .where(Machine.id == session.machine_id, Machine.assigned_user_id == user.id)
        .values(assigned_user_id=None, state=MachineState.READY)
    )
    machine = db.get(Machine, session.machine_id)
    audit.record(
        db,
        actor=user.username,
        action=audit.LOGOFF,
        target=f"session:{session.id}",
        detail={"pool": session.pool_id, "machine": machine.name if machine else None},
        address=address,
    )
    db.commit()
    log.domain.info("session %s: %r logged off", session.id, user.username)


def desktops(db: Session, user: User) -> list[DesktopView]:
    """The user's entitled pools, sorted by name, with free-ness and the user's session."""
    pools = entitled_pools(db, user)
    ids = [p.id for p in pools]
    sessions = {
        s.pool_id: (s, m)
        for s, m in db.execute(
            select(DesktopSession, Machine)
            .join(Machine, Machine.id == DesktopSession.machine_id)
            .where(
                DesktopSession.user_id == user.id,
                DesktopSession.state == SessionState.ACTIVE,
                DesktopSession.pool_id.in_(ids),
            )
        )
    }
    free = set(
        db.scalars(
            select(Machine.pool_id)
            .where(
                Machine.pool_id.in_(ids),
                Machine.assigned_user_id.is_(None),
                Machine.state == MachineState.READY,
            )
            .distinct()
        )
    )
    views = []
    for pool in pools:
        session, machine = sessions.get(pool.id, (None, None))
        views.append(DesktopView(pool=pool, free=pool.id in free, session=session, machine=machine))
    return views
