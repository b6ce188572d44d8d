"""The throwaway PostgreSQL cluster the broker's database tests run against."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, inspect, text

from broker_stub.demo.xdisplay import port_open
from tests.helpers.postgres import PostgresServer, require_postgres, start_postgres

pytestmark = pytest.mark.e2e


def table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_each_test_database_is_new_and_empty(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other_url = postgres_server.create_database()
    try:
        assert other_url != postgres_url
        assert table_names(postgres_url) == []
        assert table_names(other_url) == []

        engine = create_engine(postgres_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE only_here (id integer PRIMARY KEY)"))
        finally:
            engine.dispose()

        assert table_names(postgres_url) == ["only_here"]
        assert table_names(other_url) == []
    finally:
        postgres_server.drop_database(other_url.rsplit("/", 1)[1])


def test_a_dropped_database_is_gone(postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database().rsplit("/", 1)[1]
    postgres_server.drop_database(name)
    with postgres_server.connect() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is None


def test_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
        rules = conn.execute("SELECT type, address FROM pg_hba_file_rules").fetchall()
    assert listen == ("127.0.0.1",)
    assert set(rules) == {("local", None), ("host", "127.0.0.1")}


def test_tuned_for_tests(postgres_server: PostgresServer) -> None:
    with postgres_server.connect() as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("max_connections", "fsync", "synchronous_commit", "full_page_writes")
        }
    assert settings == {
        "max_connections": "200",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }


def test_stop_ends_the_server_and_removes_its_files() -> None:
    server = start_postgres(require_postgres())
    try:
        assert port_open(server.host, server.port)
        if os.geteuid() == 0:
            # PostgreSQL refuses root; the helper must have dropped privileges.
            assert os.stat(f"/proc/{server.pid}").st_uid != 0
    finally:
        server.stop()
    assert server.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(server.pid, 0)
    assert not server.root.exists()
    assert not port_open(server.host, server.port)
