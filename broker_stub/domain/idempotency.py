"""Idempotency-Key on launch: a retried request gets the first launch's session.

The key is claimed (a row with no session yet) before the launch runs and
gets the session once the launch succeeded. The same key from the same user
for the same pool, with the same request body, within a day is a retry: it
gets the connection to that session, rebuilt from the session and machine
rows as a launch builds it, so the console password comes from where it
lives and is never copied into this table. A retry after the session ended
is told so (session_ended), since its machine may be someone else's by then.
The key from anyone else, for another pool or with another body is refused.

A launch that failed or is still starting (202) stores nothing, so a retry
runs it again, which is safe: a launch reconnects to the user's live session
before it claims anything.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    IdempotencyKey,
    Machine,
    Pool,
    User,
)
from broker_stub.domain import lifecycle
from broker_stub.domain.allocation import Launch
from broker_stub.domain.errors import IdempotencyKeyReused, SessionEnded

KEY_LIFETIME = timedelta(hours=24)


def fingerprint(*, protocol: str | None) -> str:
    """SHA-256 hex of the launch request as the broker read it (its body)."""
    canonical = json.dumps({"protocol": protocol}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    db: Session, key: str, user: User, pool_id: str, now: datetime, *, request_fingerprint: str
) -> str | None:
    """The session an earlier launch with this key gave (a retry), or None after
    claiming the key for this launch.

    `request_fingerprint` is the request's `fingerprint`. IdempotencyKeyReused
    if the key belongs to another user or pool, or came with another request.
    """
    for _attempt in range(2):
        row = db.get(IdempotencyKey, key, populate_existing=True)
        if row is not None and row.created_at <= now - KEY_LIFETIME:
            # Expired: the key is free again (the scheduler deletes these too).
            db.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.key == key, IdempotencyKey.created_at == row.created_at
                )
            )
            db.commit()
            db.expunge_all()
            row = None
        if row is not None:
            if (
                row.user_id != user.id
                or row.pool_id != pool_id
                or row.fingerprint != request_fingerprint
            ):
                raise IdempotencyKeyReused()
            db.rollback()
            # None: the first request is still running, or did not succeed.
            return row.session_id
        db.add(
            IdempotencyKey(
                key=key,
                user_id=user.id,
                pool_id=pool_id,
                fingerprint=request_fingerprint,
                created_at=now,
            )
        )
        try:
            db.commit()
        except IntegrityError:
            db.rollback()  # the same key arrived twice at once: look again
            continue
        return None
    return None


def remember(db: Session, key: str, session_id: str) -> str | None:
    """Store the launch's session; if a concurrent request with the key stored
    one first, return that one."""
    stored = lifecycle.rows_changed(
        db,
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key, IdempotencyKey.session_id.is_(None))
        .values(session_id=session_id),
    )
    db.commit()
    if stored == 1:
        return None
    row = db.get(IdempotencyKey, key, populate_existing=True)
    return None if row is None else row.session_id


def replay(db: Session, user: User, session_id: str) -> Launch:
    """The user's session `session_id` with its machine and pool as they are now,
    to connect to again; SessionEnded once it has ended (or is gone)."""
    row = db.execute(
        select(DesktopSession, Machine, Pool)
        .join(Machine, Machine.id == DesktopSession.machine_id)
        .join(Pool, Pool.id == DesktopSession.pool_id)
        .where(DesktopSession.id == session_id, DesktopSession.user_id == user.id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        db.rollback()
        raise SessionEnded(None)
    session, machine, pool = row
    if session.state not in LIVE_SESSION_STATES:
        db.rollback()
        raise SessionEnded(session.end_reason)
    return Launch(session=session, machine=machine, pool=pool, reconnected=True)


def purge(db: Session, now: datetime) -> int:
    """Delete keys older than a day; how many went."""
    gone = lifecycle.rows_changed(
        db, delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEY_LIFETIME)
    )
    db.commit()
    return gone
