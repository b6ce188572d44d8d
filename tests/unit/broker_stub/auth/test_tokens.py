"""Bearer tokens: random, stored as SHA-256 only, expiring (absolute and idle), revocable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from broker_stub.auth import tokens
from broker_stub.clock import utcnow
from broker_stub.db.models import Token

from ..conftest import Broker


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


# Idle expiry, and how often last_used_at is written


def stored_last_use(broker: Broker, token: str) -> datetime:
    with broker.session() as db:
        found = db.scalar(select(Token.last_used_at).where(Token.hash == tokens.token_hash(token)))
    assert found is not None
    return found


def test_an_idle_token_stops_working(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    idle = timedelta(minutes=30)
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=10), now=now)

        assert tokens.lookup(db, token, now + timedelta(minutes=29), idle) is not None
        # That use moved last_used_at: 30 minutes from there it is still good...
        assert tokens.lookup(db, token, now + timedelta(minutes=58), idle) is not None
        # ...and 30 minutes of silence end it.
        assert tokens.lookup(db, token, now + timedelta(minutes=88), idle) is None
        assert tokens.lookup(db, token, now + timedelta(minutes=89), idle) is None
        # Without an idle timeout only the absolute expiry counts.
        assert tokens.lookup(db, token, now + timedelta(minutes=89)) is not None


def test_last_use_is_written_at_most_once_a_minute(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1), now=now)

    for seconds in (1, 20, 59):
        with broker.session() as db:
            assert tokens.lookup(db, token, now + timedelta(seconds=seconds)) is not None
        assert stored_last_use(broker, token) == now

    with broker.session() as db:
        tokens.lookup(db, token, now + timedelta(seconds=60))
    assert stored_last_use(broker, token) == now + timedelta(seconds=60)


def test_resolve_returns_the_token_row(broker: Broker) -> None:
    alice = broker.user("alice")
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1), mfa=True)
        found = tokens.resolve(db, token)

    assert found is not None
    user, row = found
    assert user.username == "alice"
    assert row.mfa is True
    assert row.hash == tokens.token_hash(token)


# read: the hot paths' variant, rows no Session tracks


def test_read_answers_as_resolve_does(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    idle = timedelta(minutes=30)
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1), now=now, mfa=True)
        gone, _ = tokens.issue(db, alice, timedelta(hours=1), now=now)
        tokens.revoke(db, gone, now)

        found = tokens.read(db, token, now=now, idle_timeout=idle)
        assert found is not None
        user, row = found
        assert (user.id, user.username, row.mfa) == (alice.id, "alice", True)
        # Plain rows: nothing the Session would save.
        assert row not in db
        assert user not in db

        assert tokens.read(db, gone, now=now, idle_timeout=idle) is None
        assert tokens.read(db, "made-up", now=now, idle_timeout=idle) is None
        later = now + timedelta(minutes=31)
        assert tokens.read(db, token, now=later, idle_timeout=idle) is None
        assert tokens.read(db, token, now=later, idle_timeout=None) is not None
        assert tokens.read(db, token, now=now + timedelta(hours=1), idle_timeout=None) is None


def test_read_leaves_the_last_use_to_the_requests_next_commit(broker: Broker) -> None:
    alice = broker.user("alice")
    now = utcnow()
    with broker.session() as db:
        token, _ = tokens.issue(db, alice, timedelta(hours=1), now=now)

    later = now + timedelta(minutes=2)
    with broker.session() as db:
        assert tokens.read(db, token, now=later, idle_timeout=None) is not None
        db.rollback()  # the request failed: no write of its own, and none for the token
        db.commit()
    assert stored_last_use(broker, token) == now

    with broker.session() as db:
        assert tokens.read(db, token, now=later, idle_timeout=None) is not None
        assert stored_last_use(broker, token) == now  # not yet: nothing was committed
        db.commit()
    assert stored_last_use(broker, token) == later

    # Due only once a minute, as with resolve.
    with broker.session() as db:
        assert tokens.read(db, token, now=later + timedelta(seconds=59), idle_timeout=None)
        db.commit()
    assert stored_last_use(broker, token) == later
