"""Bring a database's schema to the newest revision, with Alembic.

The migrations ship inside the package (broker_stub/db/migrations), so no
alembic.ini is needed: the Alembic config is built here. One upgrade runs in
one transaction that also keeps other brokers out (`lock`: PostgreSQL takes an
advisory lock, SQLite a write lock with BEGIN IMMEDIATE). A second broker that
starts at the same time waits, then finds nothing left to do. Start-up's pools
file and `rubicon-broker apply` take the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from broker_stub import log
from broker_stub.db.engine import SQLITE_BUSY_TIMEOUT_MS

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number will do, as long as nothing else on the server uses it.
_PG_LOCK_KEY = 0x52554249  # "RUBI"
SQLITE_LOCK_WAIT_MS = 120_000


class MigrationError(Exception):
    """The schema cannot be brought up to date; the message says why and what to do."""


@dataclass(frozen=True)
class Revision:
    id: str
    title: str


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the revision before and after, and the steps between."""

    before: str | None
    after: str
    applied: list[Revision]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config, pointing into the package; env.py uses `connection` if given."""
    config = Config()
    # The value goes through configparser interpolation: keep a '%' in the path literal.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> Revision:
    """The newest revision this broker knows."""
    script = ScriptDirectory.from_config(alembic_config())
    rev = script.get_revision("head")
    assert rev is not None, "the package ships no migrations"
    return Revision(rev.revision, _title(rev.doc))


def current(engine: Engine) -> str | None:
    """The database's revision; None for an empty (or pre-migration) database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> Upgrade:
    """Apply every migration the database lacks, in one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # A migration that rebuilds a table (SQLite's way to ALTER) would
            # set off ON DELETE CASCADE; the pragma is ignored inside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            result = _upgrade(conn, sqlite)
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    if result.applied:
        log.db.info(
            "database upgraded from %s to %s", result.before or "an empty database", result.after
        )
    return result


def lock(conn: Connection) -> None:
    """Keep other brokers' upgrades, pools files and applies out until `conn`'s
    transaction ends; a broker that comes second waits here.

    Call it first in the transaction: on SQLite BEGIN IMMEDIATE must start it,
    and anything read before the lock may be what another broker is changing.
    """
    if conn.dialect.name == "sqlite":
        # Another broker's upgrade or first fill may take longer than the
        # usual busy timeout; at start-up waiting for it beats failing.
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_MS}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _upgrade(conn: Connection, sqlite: bool) -> Upgrade:
    lock(conn)
    before = MigrationContext.configure(conn).get_current_revision()
    if before is None and inspect(conn).has_table("users"):
        raise MigrationError(
            "the database has broker tables but no migration history: an early "
            "Rubicon broker made it before migrations existed. Move it aside and "
            "start with a new, empty database, then add the users again"
        )
    config = alembic_config(conn)
    command.upgrade(config, "head")
    after = MigrationContext.configure(conn).get_current_revision()
    assert after is not None
    if sqlite:
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise MigrationError(
                f"the upgrade to {after} would leave {len(broken)} rows pointing at "
                "rows that do not exist; nothing was changed. Report this as a bug"
            )
    conn.commit()
    script = ScriptDirectory.from_config(config)
    steps = [] if before == after else list(script.iterate_revisions(after, before))
    applied = [Revision(s.revision, _title(s.doc)) for s in reversed(steps)]
    return Upgrade(before=before, after=after, applied=applied)


def _title(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else ""
