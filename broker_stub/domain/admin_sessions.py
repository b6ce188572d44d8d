"""Sessions as administrators see them: list, disconnect, log off.

State changes go through domain/lifecycle.py, the one place that knows how a
session ends and what happens to its machine. A floating machine whose
session an admin ended is recycled at once when the caller has the node's
upkeep (the API); otherwise (the command line) the serving broker's scheduler picks
it up when the recycle lease runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    EndReason,
    Machine,
    MachineState,
    Pool,
    SessionState,
    User,
)
from broker_stub.domain import audit, lifecycle, paging
from broker_stub.domain.admin import Admin
from broker_stub.domain.errors import InvalidCursor, UnknownSession
from broker_stub.domain.upkeep import Upkeep

CURSOR = "sessions"


@dataclass(frozen=True)
class SessionInfo:
    id: str
    user: str
    pool: str
    machine: str
    protocol: str
    state: str
    started_at: datetime
    ended_at: datetime | None


def _select() -> Select[DesktopSession, str, str]:
    return (
        select(DesktopSession, User.username, Machine.name)
        .join(User, User.id == DesktopSession.user_id)
        .join(Machine, Machine.id == DesktopSession.machine_id)
    )


def _info(session: DesktopSession, username: str, machine: str) -> SessionInfo:
    return SessionInfo(
        id=session.id,
        user=username,
        pool=session.pool_id,
        machine=machine,
        protocol=session.protocol,
        state=session.state,
        started_at=session.started_at,
        ended_at=session.ended_at,
    )


def list_sessions(
    db: Session,
    *,
    user: str | None = None,
    pool: str | None = None,
    state: SessionState | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> paging.Page[SessionInfo]:
    """Sessions, newest first, optionally of one user, pool or state."""
    query = _select().order_by(DesktopSession.started_at.desc(), DesktopSession.id.desc())
    if user is not None:
        query = query.where(User.username == user)
    if pool is not None:
        query = query.where(DesktopSession.pool_id == pool)
    if state is not None:
        query = query.where(DesktopSession.state == state)
    if cursor is not None:
        started, session_id = paging.decode(CURSOR, cursor, (str, str))
        try:
            at = datetime.fromisoformat(str(started))
        except ValueError:
            raise InvalidCursor() from None
        query = query.where(
            or_(
                DesktopSession.started_at < at,
                and_(DesktopSession.started_at == at, DesktopSession.id < session_id),
            )
        )
    rows = [_info(s, u, m) for s, u, m in db.execute(query.limit(limit + 1))]
    return paging.cut(rows, limit, CURSOR, lambda s: (s.started_at.isoformat(), s.id))


def get_session(db: Session, session_id: str) -> SessionInfo:
    row = db.execute(_select().where(DesktopSession.id == session_id)).one_or_none()
    if row is None:
        raise UnknownSession(session_id)
    session, username, machine = row
    return _info(session, username, machine)


def _load(db: Session, session_id: str) -> tuple[DesktopSession, Pool]:
    session = db.get(DesktopSession, session_id)
    if session is None:
        raise UnknownSession(session_id)
    return session, db.get_one(Pool, session.pool_id)


def disconnect(db: Session, admin: Admin, session_id: str) -> SessionInfo:
    """Mark a pending or active session disconnected; its machine stays the user's.

    The pool's disconnect timeout starts, as when the user closes the viewer
    (domain/sessions.py disconnect, which records the user as the actor;
    here the admin is). A session already disconnected or ended stays as it is.
    """
    session, pool = _load(db, session_id)
    now = admin.clock()
    timeout = lifecycle.seconds(pool.disconnect_timeout_s)
    values = {
        "state": SessionState.DISCONNECTED,
        "disconnect_deadline": now + timeout if timeout is not None else None,
        "idle_deadline": None,
        "pending_until": None,
    }
    live = (SessionState.PENDING, SessionState.ACTIVE)
    if lifecycle.change_session(db, session.id, live, values):
        lifecycle.set_machine_state(
            db, session, MachineState.DISCONNECTED, (MachineState.ASSIGNED, MachineState.IN_USE)
        )
        _record(db, admin, audit.SESSION_DISCONNECT, session)
        db.commit()
        log.domain.info("%s disconnected session %s", admin.name, session.id)
    else:
        db.rollback()
    db.expire_all()
    return get_session(db, session_id)


def logoff(db: Session, admin: Admin, session_id: str, upkeep: Upkeep | None = None) -> SessionInfo:
    """End the session and free its machine; an ended session stays as it is."""
    session, pool = _load(db, session_id)
    if lifecycle.end_session(db, session, pool, EndReason.ADMIN, admin.clock()):
        _record(db, admin, audit.SESSION_LOGOFF, session)
        db.commit()
        log.domain.info("%s logged off session %s", admin.name, session.id)
        if upkeep is not None and not pool.dedicated:
            upkeep.recycle(db, session.machine_id)
    else:
        db.rollback()
    db.expire_all()
    return get_session(db, session_id)


def _record(db: Session, admin: Admin, action: str, session: DesktopSession) -> None:
    user = db.get_one(User, session.user_id)
    machine = db.get(Machine, session.machine_id)
    admin.record(
        db,
        action,
        f"session:{session.id}",
        {
            "user": user.username,
            "pool": session.pool_id,
            "machine": machine.name if machine else None,
        },
    )


def end_all_of(db: Session, admin: Admin, user: User) -> int:
    """End every live session of `user` in `db`'s transaction; how many ended.

    Their floating machines go to releasing; the scheduler recycles them.
    """
    ended = 0
    live = db.scalars(
        select(DesktopSession).where(
            DesktopSession.user_id == user.id, DesktopSession.state.in_(LIVE_SESSION_STATES)
        )
    ).all()
    for session in live:
        pool = db.get_one(Pool, session.pool_id)
        if lifecycle.end_session(db, session, pool, EndReason.ADMIN, admin.clock()):
            _record(db, admin, audit.SESSION_LOGOFF, session)
            ended += 1
    return ended


def release_machines_of(db: Session, user: User) -> None:
    """Let go of machines still held by `user` (a dedicated pool's), in `db`'s transaction."""
    db.execute(
        update(Machine)
        .where(Machine.assigned_user_id == user.id, Machine.state == MachineState.ASSIGNED)
        .values(assigned_user_id=None, state=MachineState.READY)
    )
    db.execute(
        update(Machine).where(Machine.assigned_user_id == user.id).values(assigned_user_id=None)
    )
