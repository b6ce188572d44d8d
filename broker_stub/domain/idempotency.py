"""Idempotency-Key on launch: a retried request gets the first answer.

The key is claimed (a row with no answer yet) before the launch runs and
gets the answer once the launch succeeded. The same key from the same user
for the same pool within a day replays that answer; from anyone else, or
for another pool, it is refused. A launch that failed or is still starting
(202) stores nothing, so a retry runs it again, which is safe: a launch
reconnects to the user's live session before it claims anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub.db.models import IdempotencyKey, User
from broker_stub.domain import lifecycle
from broker_stub.domain.errors import IdempotencyKeyReused

KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def claim(db: Session, key: str, user: User, pool_id: str, now: datetime) -> Replay | None:
    """The stored answer for this key, or None after claiming it for this launch.

    IdempotencyKeyReused if the key belongs to another user or pool.
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
            if row.user_id != user.id or row.pool_id != pool_id:
                raise IdempotencyKeyReused()
            db.rollback()
            if row.status is None or row.response is None:
                return None  # the first request is still running, or did not succeed
            return Replay(status=row.status, body=row.response)
        db.add(IdempotencyKey(key=key, user_id=user.id, pool_id=pool_id, created_at=now))
        try:
            db.commit()
        except IntegrityError:
            db.rollback()  # the same key arrived twice at once: look again
            continue
        return None
    return None


def remember(db: Session, key: str, status: int, body: dict[str, Any]) -> Replay | None:
    """Store the answer; if a concurrent request with the key stored one first, return it."""
    stored = lifecycle.rows_changed(
        db,
        update(IdempotencyKey)
        .where(IdempotencyKey.key == key, IdempotencyKey.status.is_(None))
        .values(status=status, response=body),
    )
    db.commit()
    if stored == 1:
        return None
    row = db.get(IdempotencyKey, key, populate_existing=True)
    if row is None or row.status is None or row.response is None:
        return None
    return Replay(status=row.status, body=row.response)


def purge(db: Session, now: datetime) -> int:
    """Delete keys older than a day; how many went."""
    gone = lifecycle.rows_changed(
        db, delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEY_LIFETIME)
    )
    db.commit()
    return gone
