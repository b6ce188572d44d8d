"""Alembic migrations: they build exactly the models' tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from broker_stub import cli
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine
from broker_stub.db.models import Base

from ..conftest import Broker

# The first schema's tables; later revisions add more, which the models list.
FIRST_TABLES = {
    "users",
    "groups",
    "memberships",
    "pools",
    "entitlements",
    "machines",
    "sessions",
    "tokens",
    "audit_events",
}


def chain() -> list[str]:
    """Every revision in the package, oldest first, from the files themselves."""
    return sorted(p.name.split("_", 1)[0] for p in (migrate.MIGRATIONS / "versions").glob("*.py"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    migrate.upgrade(engine)

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())

    assert diff == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert tables >= FIRST_TABLES


def test_upgrade_reports_what_it_did(engine: Engine) -> None:
    head = migrate.head()

    first = migrate.upgrade(engine)
    again = migrate.upgrade(engine)

    assert head.id == chain()[-1]
    assert first.before is None
    assert first.after == head.id
    assert [step.id for step in first.applied] == chain()
    assert first.applied[0].title.startswith("The first schema")
    assert again.before == again.after == head.id
    assert again.applied == []
    assert migrate.current(engine) == head.id


def test_downgrade_to_nothing_and_back(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    assert [step.id for step in migrate.upgrade(engine).applied] == chain()


def test_concurrent_upgrades_do_the_work_once(engine: Engine) -> None:
    # Brokers started together must not both try to create the tables.
    start = threading.Barrier(4)

    def run() -> migrate.Upgrade:
        start.wait(timeout=10)
        return migrate.upgrade(engine)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run(), range(4)))

    assert sorted(len(r.applied) for r in results) == [0, 0, 0, len(chain())]
    assert migrate.current(engine) == migrate.head().id


def test_refuses_a_database_made_before_migrations(engine: Engine) -> None:
    Base.metadata.create_all(engine)  # what the first broker release did

    with pytest.raises(migrate.MigrationError, match="no migration history"):
        migrate.upgrade(engine)
    assert migrate.current(engine) is None


def test_create_app_brings_the_database_to_head(broker: Broker) -> None:
    with broker.session() as db:
        version = db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == migrate.head().id


def test_migrations_ship_inside_the_package() -> None:
    assert migrate.MIGRATIONS.is_dir()
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert (migrate.MIGRATIONS / "script.py.mako").is_file()
    assert list((migrate.MIGRATIONS / "versions").glob("0001_*.py"))


# rubicon-broker migrate


def test_migrate_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"

    assert cli.main(["migrate", "--database-url", url]) == 0
    first = capsys.readouterr().out
    assert cli.main(["migrate", "--database-url", url]) == 0
    again = capsys.readouterr().out

    assert first.splitlines()[0] == (
        f"Upgraded the database {url} from empty to revision {migrate.head().id}:"
    )
    assert first.splitlines()[1].startswith("  0001  The first schema")
    assert again == f"The database {url} is up to date (revision {migrate.head().id}).\n"


def test_migrate_command_on_postgresql(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate", "--database-url", postgres_url]) == 0
    assert f"to revision {migrate.head().id}" in capsys.readouterr().out


def test_migrate_command_on_an_old_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()

    assert cli.main(["migrate", "--database-url", url]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"rubicon-broker: cannot use the database {url}: ")
    assert "Move it aside" in err
    assert "Traceback" not in err


def test_migrate_command_default_database(capsys: pytest.CaptureFixture[str]) -> None:
    # The suite's conftest points XDG_DATA_HOME into a temp dir.
    assert cli.main(["migrate"]) == 0
    assert "broker.sqlite3 from empty to revision" in capsys.readouterr().out
