"""Bearer tokens: random strings the broker knows only by their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broker_stub.clock import utcnow
from broker_stub.db.models import Token, User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    db: Session, user: User, ttl: timedelta, now: datetime | None = None
) -> tuple[str, datetime]:
    """Store a new token for `user` and return it with its expiry time."""
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
        )
    )
    db.commit()
    return token, expires_at


def lookup(db: Session, token: str, now: datetime | None = None) -> User | None:
    """The user a live token belongs to; None if unknown, expired or revoked."""
    now = now or utcnow()
    return db.scalar(
        select(User)
        .join(Token, Token.user_id == User.id)
        .where(
            Token.hash == token_hash(token),
            Token.expires_at > now,
            Token.revoked_at.is_(None),
        )
    )


def revoke(db: Session, token: str, now: datetime | None = None) -> None:
    db.execute(
        update(Token)
        .where(Token.hash == token_hash(token), Token.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    db.commit()
