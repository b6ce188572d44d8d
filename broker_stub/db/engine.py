"""Engines for SQLite (the default) and PostgreSQL, and sessions on them.

The schema is made by broker_stub.db.migrate, not here.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, FromClause, create_engine, event, make_url
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from broker_stub import log
from broker_stub.db import sqlite_writer

SQLITE_BUSY_TIMEOUT_MS = 5000
# Requests at work at once get one connection each (api/admission.py keeps
# them to request_slots); the rest and the overflow serve the scheduler,
# requests back from a wait and the odd request that needs a second. With
# PostgreSQL, 30 connections at most per process (a node has one per worker)
# lets three single-worker nodes share max_connections = 100.
SQLITE_POOL_SIZE = 8
SQLITE_MAX_OVERFLOW = 8
# On SQLite, two requests of a process at work at once. A write transaction
# holds the one writer's turn from its first write to its commit, and in a
# process with more request threads the holder waits for the GIL behind them
# at every statement: at 8 at once a turn lasted 2.1 ms on average for 0.3 ms
# of work, and a node of two workers launched 415/s; at 2, 1.0 ms and 590/s
# (docs/benchmarks.md). Little is gained by more: SQLite's reads are local,
# argon2id keeps the cores busy anyway, and a request waiting on a hypervisor
# steps out of the gate meanwhile (broker_stub.waits). At 1, a request
# waiting on LDAP would hold up its whole process. Settings.request_slots
# overrides it.
SQLITE_REQUEST_SLOTS = 2
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20
PG_CONNECT_TIMEOUT_S = 10
# Recycle before a firewall or PgBouncer drops a connection idle for too long.
PG_POOL_RECYCLE_S = 1800


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # too broken to parse, and may hold a secret
        return "<unparsable database URL>"


def normalize_url(url: str) -> URL:
    """The URL, with PostgreSQL pointed at psycopg 3, the driver the broker ships with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for `url`.

    SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL a bounded
    connection pool that checks a connection before handing it out.
    """
    parsed = normalize_url(url)
    sqlite_file = (
        Path(parsed.database)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
        else None
    )
    options: dict[str, Any] = {}
    if sqlite_file is not None:
        options = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_MAX_OVERFLOW}
    elif parsed.get_backend_name() == "postgresql":
        options = {
            "pool_pre_ping": True,
            "pool_size": PG_POOL_SIZE,
            "max_overflow": PG_MAX_OVERFLOW,
            "pool_recycle": PG_POOL_RECYCLE_S,
            "connect_args": {
                "connect_timeout": PG_CONNECT_TIMEOUT_S,
                "application_name": "rubicon-broker",
            },
        }
    # hide_parameters: error messages and SQL logs must not carry the bound
    # values, which include password hashes and console passwords.
    engine = create_engine(parsed, hide_parameters=True, **options)
    if engine.dialect.name == "sqlite":
        engine.dialect.statement_compiler = _SQLiteCompiler
        event.listen(engine, "connect", _sqlite_pragmas)
        if sqlite_file is not None:
            sqlite_writer.install(engine, sqlite_file, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    log.db.debug("database %s", safe_url(url))
    return engine


def request_slots(engine: Engine) -> int:
    """How many requests of one process may work at once: on PostgreSQL one per
    kept connection of the pool, on SQLite SQLITE_REQUEST_SLOTS."""
    pool = engine.pool
    if engine.dialect.name == "sqlite" or not isinstance(pool, QueuePool):
        return SQLITE_REQUEST_SLOTS
    return pool.size()


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, which also writes a table's hint for SQLite after its name.

    SQLAlchemy drops `with_hint(table, "INDEXED BY ...", "sqlite")` on
    SQLite; the claim and the desktop list need it (domain/allocation.py).
    """

    def get_from_hint_text(self, table: FromClause, text: str | None) -> str | None:
        return text


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Without busy_timeout a second writer would fail at once instead of
        # waiting its turn.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets readers run beside the one writer. Switching a new file to
        # it needs the file to itself, and SQLite answers "database is
        # locked" at once, busy handler or not, while another connection does
        # the same: several nodes starting together on a new database.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: handlers build responses from them.
    return sessionmaker(engine, expire_on_commit=False)
