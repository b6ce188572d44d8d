"""Broker nodes that start at the same moment on one database.

A large site runs several nodes on one PostgreSQL, and they restart together
after an upgrade. Each runs create_app: the migrations, then the pools file.
Here two nodes start at once, from two threads with an engine each, released
by a barrier, several rounds, on a new database and on one whose schema a
`rubicon-broker migrate` already made. Both must start, the database must
hold each pool, machine and entitlement once, and the log must say that one
node filled the database and the other found it filled.

Before start-up took the migrations' lock around the pools file, the second
node often died with "IntegrityError: UNIQUE constraint failed: pools.id".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from broker_stub.app import create_app
from broker_stub.config import load_config
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine
from broker_stub.db.models import Entitlement, Machine, Pool
from broker_stub.domain import desired
from broker_stub.domain.admin import Admin
from broker_stub.settings import BrokerSettings

from ..conftest import PoolSpec

ROUNDS = 4
NODES = 2
# Enough rows that one node is still adding them when the other looks.
POOLS: list[PoolSpec] = [
    {
        "id": f"pool-{p}",
        "name": f"Pool {p}",
        "protocol": "vnc",
        "health_check": False,  # made-up hosts: never probed
        "users": ["alice", "bob"],
        "groups": ["staff"],
        "machines": [
            {"name": f"m-{p}-{m}", "host": f"10.0.{p}.{m}", "port": 5901} for m in range(40)
        ],
    }
    for p in range(3)
]
FILLED = "the database had no pools, so start-up added them"
MATCHES = "the database matches it, nothing changed"
TIMEOUT = 120


def together(job: Callable[[int], Any], count: int = NODES) -> list[Any]:
    """Run job(0), job(1), ... in threads released at one moment; results or exceptions."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        start.wait(timeout=TIMEOUT)
        try:
            results[i] = job(i)
        except Exception as exc:  # the test reports it with the others
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a node did not finish starting"
    return results


def start_nodes(settings: BrokerSettings) -> list[FastAPI]:
    """NODES brokers on the same settings, started at one moment; each has its own engine."""
    results = together(lambda _: create_app(settings))
    apps = [r for r in results if isinstance(r, FastAPI)]
    for app in apps:
        app.state.engine.dispose()
    failures = [repr(r) for r in results if not isinstance(r, FastAPI)]
    assert not failures, failures
    return apps


def rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(query))
            for name, query in (
                ("pools", select(Pool.id)),
                ("machines", select(Machine.pool_id, Machine.name)),
                ("entitlements", select(Entitlement.pool_id, Entitlement.kind, Entitlement.name)),
            )
        }


def expected(pools: list[PoolSpec]) -> dict[str, list[tuple[Any, ...]]]:
    """Each pool, machine and entitlement of `pools`, once."""
    return {
        "pools": sorted((p["id"],) for p in pools),
        "machines": sorted((p["id"], m["name"]) for p in pools for m in p["machines"]),
        "entitlements": sorted(
            [(p["id"], "user", u) for p in pools for u in p["users"]]
            + [(p["id"], "group", g) for p in pools for g in p["groups"]]
        ),
    }


def pools_file_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("pools file")]


@pytest.mark.timeout(300)
def test_nodes_starting_together_fill_a_new_database_once(
    new_database: Callable[[], str],
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(POOLS)
    for round_ in range(ROUNDS):
        url = new_database()
        engine = make_engine(url)
        try:
            if round_ % 2 == 0:
                migrate.upgrade(engine)  # as `rubicon-broker migrate` before the nodes start
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="rubicon.broker.config"):
                start_nodes(BrokerSettings(database_url=url, config=config, scheduler=False))

            assert rows(engine) == expected(POOLS), f"round {round_}"
            lines = pools_file_lines(caplog)
            assert sum(line.endswith(FILLED) for line in lines) == 1, lines
            assert sum(line.endswith(MATCHES) for line in lines) == NODES - 1, lines
        finally:
            engine.dispose()


def test_nodes_restarting_together_with_a_changed_file_change_nothing(
    database_url: str,
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = BrokerSettings(database_url=database_url, config=write_config(POOLS))
    create_app(settings.model_copy(update={"scheduler": False})).state.engine.dispose()
    changed = [{**p, "machines": p["machines"][1:]} for p in POOLS]
    settings = BrokerSettings(
        database_url=database_url, config=write_config(changed), scheduler=False
    )

    with caplog.at_level(logging.INFO, logger="rubicon.broker.config"):
        start_nodes(settings)

    engine = make_engine(database_url)
    try:
        assert rows(engine) == expected(POOLS)
    finally:
        engine.dispose()
    lines = pools_file_lines(caplog)
    assert len(lines) == NODES
    assert all(
        "the database differs from it in 3 places: - machine pool-0/m-0-0" in x for x in lines
    )


def apply_together(url: str, config: desired.BrokerConfig) -> list[desired.Plan]:
    """`rubicon-broker apply` from NODES places at one moment; the plans."""
    engines = [make_engine(url) for _ in range(NODES)]
    try:
        results = together(lambda i: desired.apply(engines[i], Admin.cli("tests"), config))
    finally:
        for engine in engines:
            engine.dispose()
    failures = [repr(r) for r in results if not isinstance(r, desired.Plan)]
    assert not failures, failures
    return results


def test_applies_at_the_same_moment_make_the_changes_once(
    new_database: Callable[[], str], write_config: Callable[..., Path]
) -> None:
    config = load_config(write_config(POOLS))
    for round_ in range(ROUNDS):
        url = new_database()
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)

            plans = apply_together(url, config)

            # One made every change (3 pools, 120 machines, 9 entitlements); the other none.
            assert sorted(len(p.changes) for p in plans) == [0, 3 + 120 + 9], f"round {round_}"
            assert rows(engine) == expected(POOLS)
        finally:
            engine.dispose()
