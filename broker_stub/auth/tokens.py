"""Bearer tokens: random strings the broker knows only by their SHA-256.

A token stops working at the first of: its absolute expiry (`expires_at`,
settings.token_ttl after sign-in), idle expiry (unused for
settings.token_idle_timeout, measured from `last_used_at`), or logout
(`revoked_at`). Every check is a query, so any broker node can answer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from broker_stub.clock import utcnow
from broker_stub.db.models import Token, User

# last_used_at is written at most once per this interval per token. Writing it
# on every request would turn each read (listing desktops, heartbeats) into a
# database write, and many nodes into contention on hot rows; a minute of
# slack makes idle expiry up to a minute early, which no one notices next to
# a 30-minute timeout.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    db: Session,
    user: User,
    ttl: timedelta,
    now: datetime | None = None,
    *,
    mfa: bool = False,
) -> tuple[str, datetime]:
    """Store a new token for `user` and return it with its expiry time.

    `mfa` records that the sign-in included a TOTP code (pools with
    require_totp accept only such tokens).
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    db.add(
        Token(
            hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=expires_at,
            last_used_at=now,
            mfa=mfa,
        )
    )
    db.commit()
    return token, expires_at


def resolve(
    db: Session,
    token: str,
    *,
    now: datetime | None = None,
    idle_timeout: timedelta | None = None,
) -> tuple[User, Token] | None:
    """The user and token row of a live token; None if unknown, expired, idle or revoked.

    A live token's last_used_at moves to `now` when it is at least
    TOUCH_INTERVAL old. `idle_timeout` None skips the idle check.
    """
    now = now or utcnow()
    query = (
        select(User, Token)
        .join(Token, Token.user_id == User.id)
        .where(
            Token.hash == token_hash(token),
            Token.expires_at > now,
            Token.revoked_at.is_(None),
        )
    )
    if idle_timeout is not None:
        query = query.where(Token.last_used_at > now - idle_timeout)
    row = db.execute(query).one_or_none()
    if row is None:
        return None
    user, found = row
    if now - found.last_used_at >= TOUCH_INTERVAL:
        # Conditional, so of several nodes seeing the same stale value one writes.
        db.execute(
            update(Token)
            .where(Token.hash == found.hash, Token.last_used_at <= now - TOUCH_INTERVAL)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
        # What the row now holds, without marking the object dirty.
        set_committed_value(found, "last_used_at", now)
    return user, found


def lookup(
    db: Session,
    token: str,
    now: datetime | None = None,
    idle_timeout: timedelta | None = None,
) -> User | None:
    """The user a live token belongs to; None if unknown, expired, idle or revoked."""
    found = resolve(db, token, now=now, idle_timeout=idle_timeout)
    return found[0] if found else None


def revoke(db: Session, token: str, now: datetime | None = None) -> None:
    db.execute(
        update(Token)
        .where(Token.hash == token_hash(token), Token.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    db.commit()
