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
from typing import Any

from sqlalchemy import Select, bindparam, event, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from broker_stub.clock import utcnow
from broker_stub.db.models import Token, User
from broker_stub.db.rows import entity, labelled

# last_used_at is written at most once per this interval per token. Writing it
# on every request would turn each read (listing desktops, heartbeats) into a
# database write, and many nodes into contention on hot rows; a minute of
# slack makes idle expiry up to a minute early, which no one notices next to
# a 30-minute timeout.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


INSERT_TOKEN = insert(Token)


def issue(
    db: Session,
    user: User,
    ttl: timedelta,
    now: datetime | None = None,
    *,
    mfa: bool = False,
    commit: bool = True,
) -> tuple[str, datetime]:
    """Store a new token for `user` and return it with its expiry time.

    `mfa` records that the sign-in included a TOTP code (pools with
    require_totp accept only such tokens). `commit=False` leaves the new row in
    the caller's transaction (a sign-in commits it with its audit event).
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    db.connection().execute(
        INSERT_TOKEN,
        {
            "hash": token_hash(token),
            "user_id": user.id,
            "created_at": now,
            "expires_at": expires_at,
            "last_used_at": now,
            "mfa": mfa,
        },
    )
    if commit:
        db.commit()
    return token, expires_at


def _live(*columns: Any, idle: bool) -> Select[Any]:
    """The user and token of a live token, by its hash; built once per shape."""
    query = (
        select(*columns)
        .join_from(User, Token, Token.user_id == User.id)
        .where(
            Token.hash == bindparam("hash"),
            Token.expires_at > bindparam("now"),
            Token.revoked_at.is_(None),
        )
    )
    return query.where(Token.last_used_at > bindparam("idle_since")) if idle else query


# As model objects of the request's Session, which a route may change...
LIVE = {idle: _live(User, Token, idle=idle) for idle in (True, False)}
# ... or as plain rows, for the hot paths that only read them (db/rows.py).
LIVE_ROWS = {
    idle: _live(*labelled(User, "u_"), *labelled(Token, "t_"), idle=idle) for idle in (True, False)
}
TOUCH = (
    update(Token)
    .where(Token.hash == bindparam("token_hash"), Token.last_used_at <= bindparam("stale_at"))
    .values(last_used_at=bindparam("used_at"))
)


def _params(token: str, now: datetime, idle_timeout: timedelta | None) -> dict[str, Any]:
    params: dict[str, Any] = {"hash": token_hash(token), "now": now}
    if idle_timeout is not None:
        params["idle_since"] = now - idle_timeout
    return params


def resolve(
    db: Session,
    token: str,
    *,
    now: datetime | None = None,
    idle_timeout: timedelta | None = None,
) -> tuple[User, Token] | None:
    """The user and token row of a live token; None if unknown, expired, idle or revoked.

    A live token's last_used_at moves to `now` when it is at least
    TOUCH_INTERVAL old, committed at once. `idle_timeout` None skips the idle check.
    """
    now = now or utcnow()
    row = db.execute(
        LIVE[idle_timeout is not None], _params(token, now, idle_timeout)
    ).one_or_none()
    if row is None:
        return None
    user, found = row
    if _due(found, now):
        _touch(db, found, now)
        db.commit()
        # What the row now holds, without marking the object dirty.
        set_committed_value(found, "last_used_at", now)
    return user, found


def read(
    db: Session, token: str, *, now: datetime, idle_timeout: timedelta | None
) -> tuple[User, Token] | None:
    """As `resolve`, as objects no Session tracks (db/rows.py). A touch of
    last_used_at that is due waits for the request's next commit and goes
    last in it: on SQLite a write holds the one writer's turn from its first
    statement to the commit, and the request's own reads need not wait in it.
    """
    row = (
        db.connection()
        .execute(LIVE_ROWS[idle_timeout is not None], _params(token, now, idle_timeout))
        .one_or_none()
    )
    if row is None:
        return None
    user, found = entity(User, row, "u_"), entity(Token, row, "t_")
    if _due(found, now):
        # In this transaction only: one rolled back (a failed request) takes it along.
        reading = db.get_transaction()

        def touch(db: Session) -> None:
            if db.get_transaction() is reading:
                _touch(db, found, now)

        event.listen(db, "before_commit", touch, once=True)
    return user, found


def _due(found: Token, now: datetime) -> bool:
    """True if the token's last_used_at is TOUCH_INTERVAL old or more."""
    return now - found.last_used_at >= TOUCH_INTERVAL


def _touch(db: Session, found: Token, now: datetime) -> None:
    """Move last_used_at to `now`, in `db`'s transaction."""
    # Conditional, so of several nodes seeing the same stale value one writes.
    db.connection().execute(
        TOUCH, {"token_hash": found.hash, "stale_at": now - TOUCH_INTERVAL, "used_at": now}
    )


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
