"""Alembic's entry point for the broker's migrations.

broker_stub.db.migrate runs it with an open connection in
``config.attributes["connection"]`` (that is how `rubicon-broker migrate`,
`serve` and the tests use it). The `alembic` command, which developers use to
write a new revision (docs/architecture.md), runs it without one: it then
connects to RUBICON_BROKER_DATABASE_URL, or prints SQL with ``--sql``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from broker_stub.db.engine import make_engine, normalize_url
from broker_stub.db.models import Base
from broker_stub.settings import BrokerSettings

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    url = BrokerSettings().effective_database_url()
    if context.is_offline_mode():
        context.configure(url=normalize_url(url), target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()
