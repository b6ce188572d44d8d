"""Bearer tokens: random, stored as SHA-256 only, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from broker_stub.auth import tokens
from broker_stub.clock import utcnow
from broker_stub.db.models import Token

from .conftest import Broker


def test_issue_stores_only_the_hash(broker: Broker) -> None:
    alice = broker.user("alice")
    with broker.session() as db:
        token, expires_at = tokens.issue(db, alice, timedelta(hours=10))
        rows = db.scalars(select(Token).where(Token.user_id == alice.id)).all()

    assert len(token) >= 43  # 32 random bytes, base64url
    assert [r.hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in (r.hash, str(r.user_id)) for r in rows)
    assert expires_at - rows[0].created_at == timedelta(hours=10)


def test_tokens_differ(broker: Broker) -> None:
    alice = broker.user("alice")
    with broker.session() as db:
        issued = {tokens.issue(db, alice, timedelta(hours=1))[0] for _ in range(5)}
    assert len(issued) == 5


def test_lookup_finds_the_owner(broker: Broker) -> None:
    alice = broker.user("alice")
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1))
        found = tokens.lookup(db, token)

    assert found is not None
    assert found.username == "alice"


def test_unknown_token(broker: Broker) -> None:
    with broker.session() as db:
        assert tokens.lookup(db, "made-up") is None


def test_token_expires(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(minutes=5), now=now)

        assert tokens.lookup(db, token, now=now + timedelta(minutes=4, seconds=59)) is not None
        assert tokens.lookup(db, token, now=now + timedelta(minutes=5)) is None


def test_revoked_token_stops_working(broker: Broker) -> None:
    alice = broker.user("alice")
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1))
        other, _ = tokens.issue(db, alice, timedelta(hours=1))

        tokens.revoke(db, token)

        assert tokens.lookup(db, token) is None
        assert tokens.lookup(db, other) is not None
