"""Revision 0005: idempotency keys drop the stored answers, console passwords and all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from broker_stub.db import migrate
from broker_stub.db.engine import make_engine

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)
ANSWER = {"session_id": "ses_1", "connection": {"host": "h", "port": 5901, "password": "vncPw1!"}}


def columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("idempotency_keys")}


def rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT * FROM idempotency_keys")).mappings().all()
    return [dict(r) for r in found]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0004")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash) "
                "VALUES (1, 'alice', 'Alice', 'x')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (key, user_id, pool_id, created_at, status, "
                "response) VALUES ('k1', 1, 'eng', :now, 200, :answer)"
            ),
            {"now": NOW, "answer": json.dumps(ANSWER)},
        )
    yield engine
    engine.dispose()


def test_upgrade_drops_the_stored_answers(engine: Engine) -> None:
    assert "vncPw1!" in str(rows(engine))

    migrate.upgrade(engine)

    assert columns(engine) == {
        "key",
        "user_id",
        "pool_id",
        "fingerprint",
        "created_at",
        "session_id",
    }
    # The rows held console passwords: they are gone, and a retry launches again.
    assert rows(engine) == []


def test_downgrade_brings_the_old_columns_back(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (key, user_id, pool_id, fingerprint, created_at, "
                "session_id) VALUES ('k2', 1, 'eng', :fp, :now, 'ses_2')"
            ),
            {"fp": "0" * 64, "now": NOW},
        )

    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0004")

    assert columns(engine) == {"key", "user_id", "pool_id", "created_at", "status", "response"}
    assert rows(engine) == []
