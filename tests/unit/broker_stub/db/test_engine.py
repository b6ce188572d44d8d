"""Database engine set-up and the UTC timestamp column type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.pool import QueuePool

from broker_stub.clock import utcnow
from broker_stub.db.engine import (
    PG_POOL_SIZE,
    SQLITE_POOL_SIZE,
    SQLITE_REQUEST_SLOTS,
    make_engine,
    make_session_factory,
    normalize_url,
    request_slots,
    safe_url,
)
from broker_stub.db.migrate import upgrade
from broker_stub.db.models import Machine, Token, User


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        engine.dispose()


def test_sqlite_writes_its_table_hints_and_no_others(tmp_path: Path) -> None:
    """SQLAlchemy's SQLite compiler drops hints; ours writes them (INDEXED BY)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    query = (
        select(Machine.id)
        .with_hint(Machine, "INDEXED BY ix_machines_free", "sqlite")
        .with_hint(Machine, "WITH (NOLOCK)", "mssql")
        .where(
            Machine.pool_id == "p",
            Machine.state == text("'ready'"),
            Machine.assigned_user_id.is_(None),
        )
    )
    try:
        with engine.connect() as conn:
            compiled = str(query.compile(conn))
            assert "FROM machines INDEXED BY ix_machines_free" in compiled
            assert "NOLOCK" not in compiled
            conn.execute(query).all()  # SQLite takes it
            # and refuses a statement the index cannot serve: no quiet change of plan.
            with pytest.raises(OperationalError, match="no query solution"):
                conn.execute(
                    select(Machine.id).with_hint(Machine, "INDEXED BY ix_machines_free", "sqlite")
                ).all()
    finally:
        engine.dispose()


def test_timestamps_come_back_as_aware_utc(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2026, 1, 2, 14, 0, tzinfo=plus_two)
    try:
        with make_session_factory(engine)() as db:
            user = User(username="u", display_name="U", password_hash="x")
            db.add(user)
            db.flush()
            db.add(
                Token(
                    hash="h",
                    user_id=user.id,
                    created_at=created,
                    expires_at=utcnow(),
                    last_used_at=created,
                )
            )
            db.commit()
            db.expunge_all()
            token = db.get_one(Token, "h")
            assert token.created_at == created
            assert token.created_at.tzinfo == UTC
            assert token.created_at.hour == 12
            assert token.revoked_at is None
    finally:
        engine.dispose()


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    try:
        with make_session_factory(engine)() as db:
            user = User(username="u", display_name="U", password_hash="x")
            db.add(user)
            db.flush()
            naive = datetime(2026, 1, 2, 12, 0)  # no tzinfo: the point of the test
            db.add(
                Token(
                    hash="h",
                    user_id=user.id,
                    created_at=naive,
                    expires_at=naive,
                    last_used_at=naive,
                )
            )
            with pytest.raises(StatementError, match="naive datetime"):
                db.flush()
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(engine)
    try:
        with make_session_factory(engine)() as db:
            now = utcnow()
            db.add(Token(hash="h", user_id=999, created_at=now, expires_at=now, last_used_at=now))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                db.flush()
    finally:
        engine.dispose()


def test_safe_url_masks_the_password() -> None:
    assert (
        safe_url("postgresql://rubicon:s3cret@db/rubicon") == "postgresql://rubicon:***@db/rubicon"
    )
    assert "s3cret" not in safe_url("not a url s3cret")


@pytest.mark.parametrize(
    "url", ["postgresql://u@db.example.com/rubicon", "postgres://u@db.example.com/rubicon"]
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    assert normalize_url(url).drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg2"


def test_postgresql_engine_settings() -> None:
    engine = make_engine("postgresql://rubicon:s3cret@db.example.com/rubicon")  # never connects
    try:
        assert engine.dialect.driver == "psycopg"
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == PG_POOL_SIZE
        assert engine.pool._pre_ping  # a dead connection is replaced, not handed out
        assert request_slots(engine) == PG_POOL_SIZE  # one request a kept connection
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["broker.sqlite3", ":memory:"])
def test_sqlite_lets_few_requests_work_at_once_and_keeps_connections_for_the_rest(
    tmp_path: Path, name: str
) -> None:
    engine = make_engine(f"sqlite:///{name if name == ':memory:' else tmp_path / name}")
    try:
        assert request_slots(engine) == SQLITE_REQUEST_SLOTS == 2
        if name != ":memory:":
            # The scheduler and requests that step out keep connections of their own.
            assert isinstance(engine.pool, QueuePool)
            assert engine.pool.size() == SQLITE_POOL_SIZE > SQLITE_REQUEST_SLOTS
    finally:
        engine.dispose()


def test_postgresql_database(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        with make_session_factory(engine)() as db:
            assert db.execute(text("SELECT current_setting('application_name')")).scalar() == (
                "rubicon-broker"
            )
            now = utcnow()
            db.add(Token(hash="h", user_id=999, created_at=now, expires_at=now, last_used_at=now))
            with pytest.raises(IntegrityError, match="foreign key"):
                db.flush()
    finally:
        engine.dispose()
