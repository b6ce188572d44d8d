"""A private PostgreSQL cluster for the test session, and a fresh database per test.

The cluster itself (initdb, start on a free loopback port as an unprivileged
user under root, stop, delete) lives in benchmarks/pg_cluster.py, so the storm
benchmark can start one without depending on pytest; this module adds the
skip-or-fail rule and the fixtures.

Fixtures: ``postgres_server`` (session, a running ``PostgresServer``) and
``postgres_url`` (per test, ``str``: a SQLAlchemy URL of an empty database).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.pg_cluster import (
    HOST,
    SETTINGS,
    START_TIMEOUT,
    STOP_TIMEOUT,
    SUPERUSER,
    PostgresServer,
    find_bindir,
    start_postgres,
)
from tests.helpers.e2e import e2e_required

try:
    import psycopg
except ImportError:  # the plugin loads for every test; only these fixtures need it
    psycopg = None  # type: ignore[assignment]

__all__ = [
    "HOST",
    "SETTINGS",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "SUPERUSER",
    "PostgresServer",
    "find_bindir",
    "postgres_server",
    "postgres_url",
    "require_postgres",
    "start_postgres",
    "unavailable",
]


def unavailable(reason: str) -> None:
    """Skip, or fail under RUBICON_REQUIRE_E2E=1 where a skip would hide a gap."""
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_postgres() -> Path:
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed: sudo apt-get install postgresql")
    if psycopg is None:
        unavailable("psycopg is not installed: pip install 'psycopg[binary]'")
    assert bindir is not None
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL cluster shared by the whole test session."""
    server = start_postgres(require_postgres())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL of a new, empty database, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """new_database() → the URL of another empty database of the parameter's kind."""
    if request.param == "sqlite":
        numbers = itertools.count()
        yield lambda: f"sqlite:///{tmp_path / f'round-{next(numbers)}.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make() -> str:
        made.append(server.create_database())
        return made[-1]

    yield make
    for url in made:
        server.drop_database(url.rsplit("/", 1)[1])
