"""Revision 0003 (pools and sessions) carries existing rows over, and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from broker_stub.db import migrate
from broker_stub.db.engine import make_engine

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash) VALUES "
                "(1, 'alice', 'Alice', 'x'), (2, 'bob', 'Bob', 'x')"
            )
        )
        conn.execute(
            text("INSERT INTO pools (id, name, protocol, sort) VALUES ('eng', 'E', 'vnc', 0)")
        )
        conn.execute(
            text(
                "INSERT INTO machines (id, pool_id, name, host, port, password, assigned_user_id, "
                "state) VALUES (1, 'eng', 'm1', 'h', 5901, 'pw', 1, 'in_use'), "
                "(2, 'eng', 'm2', 'h', 5902, NULL, NULL, 'ready')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sessions (id, user_id, pool_id, machine_id, protocol, state, "
                "started_at, ended_at) VALUES "
                "('s1', 1, 'eng', 1, 'vnc', 'active', :now, NULL), "
                "('s0', 2, 'eng', 2, 'vnc', 'ended', :now, :now)"
            ),
            {"now": NOW},
        )
    yield engine
    engine.dispose()


def test_upgrade_keeps_pools_machines_and_sessions(engine: Engine) -> None:
    migrate.upgrade(engine)

    with engine.connect() as conn:
        pool = conn.execute(
            text(
                "SELECT kind, protocols, default_protocol, prelaunch_timeout_s, sso, spares, "
                "backend FROM pools"
            )
        ).one()
        machines = conn.execute(
            text("SELECT name, port, vnc_port, state, assigned_user_id FROM machines ORDER BY id")
        ).all()
        sessions = conn.execute(text("SELECT id, state FROM sessions ORDER BY id")).all()
    kind, protocols, default, prelaunch, sso, spares, backend = pool
    assert (kind, default, prelaunch, bool(sso), spares) == ("floating", "vnc", 120, False, 0)
    assert protocols in (["vnc"], '["vnc"]')
    assert backend in ({"type": "static"}, '{"type": "static"}')
    assert machines == [("m1", 5901, 5901, "in_use", 1), ("m2", 5902, 5902, "ready", None)]
    assert sessions == [("s0", "ended"), ("s1", "active")]


def test_new_states_and_live_session_rules(engine: Engine) -> None:
    migrate.upgrade(engine)

    with engine.begin() as conn:
        conn.execute(text("UPDATE machines SET state = 'releasing' WHERE id = 2"))
        conn.execute(text("UPDATE sessions SET state = 'disconnected' WHERE id = 's1'"))
    # Still one live session per machine: a pending one beside the disconnected one is refused.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sessions (id, user_id, pool_id, machine_id, protocol, state, "
                "started_at) VALUES ('s2', 2, 'eng', 1, 'vnc', 'pending', :now)"
            ),
            {"now": NOW},
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE machines SET state = 'asleep' WHERE id = 2"))
    # And one machine per user and pool.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE machines SET assigned_user_id = 1 WHERE id = 2"))


def test_downgrade_maps_new_states_to_old_ones(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET state = 'disconnected' WHERE id = 's1'"))
        conn.execute(text("UPDATE machines SET state = 'disconnected' WHERE id = 1"))
        conn.execute(text("UPDATE machines SET state = 'maintenance' WHERE id = 2"))

    with engine.connect() as conn:
        # As migrate.upgrade does: SQLite rebuilds tables, which must not cascade.
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        with conn.begin():
            command.downgrade(migrate.alembic_config(conn), "0002")

    with engine.connect() as conn:
        assert conn.execute(text("SELECT protocol FROM pools")).scalar_one() == "vnc"
        assert conn.execute(text("SELECT id, state FROM sessions ORDER BY id")).all() == [
            ("s0", "ended"),
            ("s1", "active"),
        ]
        assert conn.execute(
            text("SELECT state, assigned_user_id FROM machines ORDER BY id")
        ).all() == [("in_use", 1), ("ready", None)]
    # And up again.
    assert migrate.upgrade(engine).applied[0].id == "0003"
