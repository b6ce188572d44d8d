"""What a user (through the launcher) does to a session of their own.

heartbeat   pending/disconnected/active → active; moves the idle deadline (the pool's
            idle_timeout, else lifecycle.SILENT_LAUNCHER_TIMEOUT: disconnected then)
disconnect  pending/active → disconnected; starts the disconnect timeout
logoff      any live state → ended; the machine goes (floating) or stays (dedicated)
reset, restart  the pool must allow it and the backend must be able to

A session that is not the user's is "not found", exactly like one that does
not exist, so nobody learns another user's session ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.backends import (
    BackendError,
    Backends,
    HypervisorUnavailable,
    NotSupported,
    PoolDegraded,
)
from broker_stub.db.models import (
    DesktopSession,
    EndReason,
    Machine,
    MachineState,
    Pool,
    SessionState,
    User,
)
from broker_stub.domain import audit, errors, lifecycle
from broker_stub.domain.errors import (
    ActionNotAllowed,
    ActionNotSupported,
    MachineActionFailed,
    SessionEnded,
    SessionNotFound,
)

Action = Literal["reset", "restart"]
_PAST = {"reset": "reset", "restart": "restarted"}


def owned_session(db: Session, user: User, session_id: str) -> DesktopSession:
    """The user's session with this id, fresh from the database; SessionNotFound otherwise."""
    session = db.get(DesktopSession, session_id, populate_existing=True)
    if session is None or session.user_id != user.id:
        raise SessionNotFound()
    return session


def _live(db: Session, user: User, session_id: str) -> DesktopSession:
    session = owned_session(db, user, session_id)
    if session.state == SessionState.ENDED:
        raise SessionEnded(session.end_reason)
    return session


def _lost_race(db: Session, user: User, session_id: str) -> DesktopSession:
    """After a conditional UPDATE changed nothing: the session as it is now."""
    db.rollback()
    return _live(db, user, session_id)


def heartbeat(db: Session, user: User, session_id: str, now: datetime) -> None:
    """The launcher's client runs: the session is active and its idle deadline moves.

    Every active session has one: a pool without ``idle_timeout`` gets
    ``SILENT_LAUNCHER_TIMEOUT``, after which the scheduler disconnects it.
    """
    session = _live(db, user, session_id)
    was = session.state
    pool = db.get_one(Pool, session.pool_id)
    idle = lifecycle.seconds(pool.idle_timeout_s) or lifecycle.SILENT_LAUNCHER_TIMEOUT
    values = {
        "state": SessionState.ACTIVE,
        "last_heartbeat_at": now,
        "idle_deadline": now + idle,
        "pending_until": None,
        "disconnect_deadline": None,
    }
    live = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)
    if not lifecycle.change_session(db, session.id, live, values):
        _lost_race(db, user, session_id)  # raises SessionEnded
        return
    lifecycle.set_machine_state(
        db, session, MachineState.IN_USE, (MachineState.ASSIGNED, MachineState.DISCONNECTED)
    )
    db.commit()
    if was != SessionState.ACTIVE:
        log.domain.info("session %s: active (was %s)", session.id, was)


def disconnect(
    db: Session, user: User, session_id: str, now: datetime, *, address: str | None
) -> None:
    """The client closed but the user keeps the machine until the disconnect timeout."""
    session = _live(db, user, session_id)
    if session.state == SessionState.DISCONNECTED:
        return
    pool = db.get_one(Pool, session.pool_id)
    timeout = lifecycle.seconds(pool.disconnect_timeout_s)
    values = {
        "state": SessionState.DISCONNECTED,
        "disconnect_deadline": now + timeout if timeout is not None else None,
        "idle_deadline": None,
        "pending_until": None,
    }
    if not lifecycle.change_session(
        db, session.id, (SessionState.PENDING, SessionState.ACTIVE), values
    ):
        _lost_race(db, user, session_id)  # ended: raises; disconnected meanwhile: done
        return
    lifecycle.set_machine_state(
        db, session, MachineState.DISCONNECTED, (MachineState.ASSIGNED, MachineState.IN_USE)
    )
    audit.record(
        db,
        actor=user.username,
        action=audit.DISCONNECT,
        target=f"session:{session.id}",
        detail={"pool": session.pool_id, "disconnect_timeout_s": pool.disconnect_timeout_s},
        address=address,
        at=now,
    )
    db.commit()
    log.domain.info("session %s: %r disconnected", session.id, user.username)


def logoff(
    db: Session, user: User, session_id: str, now: datetime, *, address: str | None
) -> int | None:
    """End the user's session. Ending an ended session is a no-op.

    Returns the id of a floating machine to recycle (lifecycle.recycle) once
    the caller is ready to wait for the backend; None otherwise.
    """
    session = owned_session(db, user, session_id)
    if session.state == SessionState.ENDED:
        return None
    pool = db.get_one(Pool, session.pool_id)
    if not lifecycle.end_session(db, session, pool, EndReason.LOGOFF, now):
        db.rollback()
        return None
    machine = db.get(Machine, session.machine_id)
    audit.record(
        db,
        actor=user.username,
        action=audit.LOGOFF,
        target=f"session:{session.id}",
        detail={"pool": session.pool_id, "machine": machine.name if machine else None},
        address=address,
        at=now,
    )
    db.commit()
    log.domain.info("session %s: %r logged off", session.id, user.username)
    return None if pool.dedicated else session.machine_id


def machine_action(
    db: Session,
    backends: Backends,
    user: User,
    session_id: str,
    action: Action,
    now: datetime,
    *,
    address: str | None,
) -> None:
    """Reset or restart the session's machine through the pool's backend."""
    session = _live(db, user, session_id)
    pool = db.get_one(Pool, session.pool_id)
    allowed = pool.allow_reset if action == "reset" else pool.allow_restart
    if not allowed:
        raise ActionNotAllowed(pool.name, _PAST[action])
    machine = db.get_one(Machine, session.machine_id)
    ref = lifecycle.machine_ref(machine)
    backend = backends.for_pool(pool.id, pool.backend)
    db.commit()  # ends the read: no transaction stays open while the backend works
    try:
        if action == "reset":
            backend.reset(ref)
        else:
            backend.restart(ref)
    except NotSupported as exc:
        log.backend.info("pool %s: %s", pool.id, exc)
        raise ActionNotSupported(pool.name, action) from None
    except HypervisorUnavailable as exc:
        if not isinstance(exc, PoolDegraded):  # said once, when it became degraded
            log.backend.error("pool %s: %s of %s failed: %s", pool.id, action, ref.name, exc)
        raise errors.HypervisorUnavailable(pool.name) from None
    except BackendError as exc:
        log.backend.error("pool %s: %s of %s failed: %s", pool.id, action, ref.name, exc)
        raise MachineActionFailed(ref.name, action) from None
    audit.record(
        db,
        actor=user.username,
        action=audit.RESET if action == "reset" else audit.RESTART,
        target=f"session:{session.id}",
        detail={"pool": pool.id, "machine": ref.name},
        address=address,
        at=now,
    )
    db.commit()
    log.domain.info("session %s: %r had %s %s", session.id, user.username, ref.name, _PAST[action])
