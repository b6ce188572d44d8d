"""Applying the pools file to the database at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from broker_stub.config import load_config
from broker_stub.db.models import Entitlement, Machine, Pool
from broker_stub.domain import allocation
from broker_stub.domain.pools import sync_pools

from .conftest import Broker, PoolSpec


def snapshot(broker: Broker) -> dict[str, list[tuple[Any, ...]]]:
    with broker.session() as db:
        return {
            "pools": [
                (p.id, p.name, p.protocol, p.sort)
                for p in db.scalars(select(Pool).order_by(Pool.sort))
            ],
            "machines": sorted(
                (m.pool_id, m.name, m.host, m.port, m.password) for m in db.scalars(select(Machine))
            ),
            "entitlements": sorted(
                (e.pool_id, e.kind, e.name) for e in db.scalars(select(Entitlement))
            ),
        }


def test_start_up_fills_the_database(broker: Broker) -> None:
    assert snapshot(broker) == {
        "pools": [
            ("engineering", "Engineering desktop", "vnc", 0),
            ("finance", "Finance desktop", "vnc", 1),
            ("art", "Art studio", "vnc", 2),
        ],
        "machines": [
            ("art", "art-1", "127.0.0.1", 5921, None),
            ("engineering", "eng-1", "127.0.0.1", 5901, "vncEng1!"),
            ("engineering", "eng-2", "127.0.0.1", 5902, "vncEng2!"),
            ("finance", "fin-1", "10.0.0.7", 5911, "vncFin1!"),
        ],
        "entitlements": [
            ("art", "group", "artists"),
            ("engineering", "group", "staff"),
            ("engineering", "user", "alice"),
            ("finance", "user", "carol"),
        ],
    }


def test_restart_with_changed_config(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    first = make_broker()
    with first.session() as db:
        eng_1_id = db.scalar(select(Machine.id).where(Machine.name == "eng-1"))

    pools[0]["name"] = "Engineering"
    pools[0]["users"] = ["bob"]
    pools[0]["groups"] = []
    pools[0]["machines"][0]["port"] = 6901
    pools[0]["machines"][1] = {"name": "eng-3", "host": "eng-3.example", "port": 5903}
    del pools[1]  # finance goes
    second = make_broker(pools=pools)

    assert snapshot(second) == {
        "pools": [("engineering", "Engineering", "vnc", 0), ("art", "Art studio", "vnc", 1)],
        "machines": [
            ("art", "art-1", "127.0.0.1", 5921, None),
            ("engineering", "eng-1", "127.0.0.1", 6901, "vncEng1!"),
            ("engineering", "eng-3", "eng-3.example", 5903, None),
        ],
        "entitlements": [("art", "group", "artists"), ("engineering", "user", "bob")],
    }
    with second.session() as db:
        # Updated in place, not replaced: the row keeps its id.
        assert db.scalar(select(Machine.id).where(Machine.name == "eng-1")) == eng_1_id


def test_machine_in_use_is_kept(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    first = make_broker()
    with first.session() as db:
        held = allocation.launch(db, first.user("carol"), "finance")
        allocation.launch(db, first.user("alice"), "engineering")  # eng-1

    pools[0]["machines"] = []  # eng-1 (in use) and eng-2 (free) go
    del pools[1]  # finance goes, but fin-1 is in use
    with caplog.at_level(logging.INFO):
        second = make_broker(pools=pools)

    state = snapshot(second)
    assert [p[0] for p in state["pools"]] == ["engineering", "finance", "art"]
    assert [m[1] for m in state["machines"]] == ["art-1", "eng-1", "fin-1"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("eng-1" in w and "in use" in w for w in warnings)
    assert any("fin-1" in w for w in warnings)
    assert any(w.startswith("pool finance") for w in warnings)
    assert "vncFin1!" not in caplog.text

    # The session goes on; once it ends, the next start removes the leftovers.
    with second.session() as db:
        allocation.logoff(db, second.user("carol"), held.session.id)
    third = make_broker(pools=pools)
    assert [p[0] for p in snapshot(third)["pools"]] == ["engineering", "art"]


def test_sync_is_idempotent(broker: Broker) -> None:
    assert broker.settings.config is not None
    before = snapshot(broker)
    with broker.session() as db:
        sync_pools(db, load_config(broker.settings.config))
    assert snapshot(broker) == before
