"""The pools file at start-up: it fills a new database, and later starts only
say how the database differs from it; `apply` brings a changed file in.

Until this behaviour was chosen, every start applied the file, which undid
what admins had changed since with the admin API or the CLI. The tests that
restarted with a changed file now apply it with `apply` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from broker_stub.clock import utcnow
from broker_stub.config import load_config
from broker_stub.db.models import Entitlement, Machine, MachineState, Pool
from broker_stub.domain import allocation, desired, sessions
from broker_stub.domain.admin import Admin
from broker_stub.domain.desired_startup import MAX_LISTED, _listed
from broker_stub.domain.pools import sync_pools

from ..admin_helpers import API, admin_headers
from ..conftest import Broker, PoolSpec


def snapshot(broker: Broker) -> dict[str, list[tuple[Any, ...]]]:
    with broker.session() as db:
        return {
            "pools": [
                (p.id, p.name, p.default_protocol, p.sort)
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


def apply_file(
    broker: Broker, pools: list[PoolSpec], write_config: Callable[..., Path]
) -> desired.Plan:
    """`rubicon-broker apply` with a pools file of `pools`; its plan."""
    config = load_config(write_config(pools, name="applied.toml"))
    return desired.apply(broker.app.state.engine, Admin.cli("tests"), config)


def change_the_file(pools: list[PoolSpec]) -> None:
    pools[0]["name"] = "Engineering"
    pools[0]["users"] = ["bob"]
    pools[0]["groups"] = []
    pools[0]["machines"][0]["port"] = 6901
    pools[0]["machines"][1] = {"name": "eng-3", "host": "eng-3.example", "port": 5903}
    del pools[1]  # finance goes


def test_start_up_logs_what_it_did(
    make_broker: Callable[..., Broker], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="rubicon.broker.config"):
        make_broker()
        make_broker()  # a restart, or a second node

    first, second = [r.getMessage() for r in caplog.records if "pools file" in r.getMessage()]
    assert first.endswith(
        "pools.toml: 3 pools, 4 machines, 4 entitlements; "
        "the database had no pools, so start-up added them"
    )
    assert second.endswith(
        "pools.toml: 3 pools, 4 machines, 4 entitlements; the database matches it, nothing changed"
    )


def test_restart_with_a_changed_file_changes_nothing_and_says_so(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    first = make_broker()
    before = snapshot(first)

    change_the_file(pools)
    with caplog.at_level(logging.INFO, logger="rubicon.broker.config"):
        second = make_broker(pools=pools)

    assert snapshot(second) == before
    (warning,) = [r for r in caplog.records if "pools file" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    path = second.settings.config
    assert warning.getMessage() == (
        f"pools file {path}: 2 pools, 3 machines, 2 entitlements; the database differs "
        "from it in 11 places: ~ pool art: sort; ~ pool engineering: name; - pool finance; "
        "+ machine engineering/eng-3 (eng-3.example); ~ machine engineering/eng-1: port, "
        "vnc_port; - machine engineering/eng-2; - machine finance/fin-1; + entitlement "
        "engineering: user bob; - entitlement engineering: group staff; - entitlement "
        "engineering: user alice; - entitlement finance: user carol. Start-up fills only a "
        "database without pools, so what the admin API, the CLI or `apply` changed stays. "
        f"To make the database match the file, run: rubicon-broker apply {path} "
        "(with --dry-run first to see the plan)"
    )
    assert "vncEng1!" not in caplog.text


def test_a_restart_keeps_what_admins_changed(
    make_broker: Callable[..., Broker], caplog: pytest.LogCaptureFixture
) -> None:
    first = make_broker()
    headers = admin_headers(first)
    added = first.client.post(
        f"{API}/pools/engineering/machines",
        json={"name": "eng-3", "host": "10.0.20.13", "port": 5903},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    removed = first.client.request(
        "DELETE", f"{API}/entitlements/finance/user/carol", headers=headers
    )
    assert removed.status_code == 204, removed.text
    changed = snapshot(first)

    with caplog.at_level(logging.WARNING, logger="rubicon.broker.config"):
        second = make_broker()

    assert snapshot(second) == changed
    assert "in 2 places: - machine engineering/eng-3; + entitlement finance: user carol." in (
        caplog.text
    )


def test_apply_brings_a_changed_file_in(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], write_config: Callable[..., Path]
) -> None:
    first = make_broker()
    with first.session() as db:
        eng_1_id = db.scalar(select(Machine.id).where(Machine.name == "eng-1"))

    change_the_file(pools)
    apply_file(first, pools, write_config)
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
    broker: Broker, pools: list[PoolSpec], write_config: Callable[..., Path]
) -> None:
    with broker.session() as db:
        held = allocation.launch(db, broker.user("carol"), "finance")
        allocation.launch(db, broker.user("alice"), "engineering")  # eng-1

    pools[0]["machines"] = []  # eng-1 (in use) and eng-2 (free) go
    del pools[1]  # finance goes, but fin-1 is in use
    plan = apply_file(broker, pools, write_config)

    state = snapshot(broker)
    assert [p[0] for p in state["pools"]] == ["engineering", "finance", "art"]
    assert [m[1] for m in state["machines"]] == ["art-1", "eng-1", "fin-1"]
    assert plan.notes == [
        "machine engineering/eng-1 stays while a session is live on it; "
        "apply again after the session ends",
        "machine finance/fin-1 stays while a session is live on it; "
        "apply again after the session ends",
        "pool finance stays while a session is live in it",
    ]

    # The session goes on; once it ends, applying again removes the leftovers.
    with broker.session() as db:
        sessions.logoff(db, broker.user("carol"), held.session.id, utcnow(), address=None)
    apply_file(broker, pools, write_config)
    assert [p[0] for p in snapshot(broker)["pools"]] == ["engineering", "art"]


def test_sync_is_idempotent(broker: Broker) -> None:
    assert broker.settings.config is not None
    before = snapshot(broker)
    with broker.session() as db:
        sync_pools(db, load_config(broker.settings.config))
        db.commit()
    assert snapshot(broker) == before


def test_a_long_difference_is_cut_short() -> None:
    changes = [f"+ machine p/m{i}" for i in range(MAX_LISTED + 3)]
    assert _listed(changes).endswith(f"+ machine p/m{MAX_LISTED - 1}; and 3 more")
    assert _listed(changes[:2]) == "+ machine p/m0; + machine p/m1"


def test_pool_options_reach_the_database(
    make_broker: Callable[..., Broker], pools: list[PoolSpec]
) -> None:
    pools[0].update(
        kind="dedicated",
        protocol=None,
        protocols=["rdp", "vnc", "spice"],
        default_protocol="vnc",
        disconnect_timeout="30m",
        idle_timeout="1h",
        idle_action="logoff",
        max_session="10h",
        prelaunch_timeout="90s",
        allow_reset=True,
        sso=True,
        spares=1,
        backend={"wake_address": "10.0.20.255", "reset_command": ["ipmitool", "{name}"]},
    )
    del pools[0]["protocol"]
    pools[0]["machines"] = [
        {
            "name": "eng-1",
            "host": "10.0.20.11",
            "vnc_port": 5901,
            "spice_tls_port": 5931,
            "mac": "52-54-00-AA-BB-01",
        }
    ]
    broker = make_broker(pools=pools)

    with broker.session() as db:
        pool = db.get_one(Pool, "engineering")
        machine = db.scalar(select(Machine).where(Machine.name == "eng-1"))
    assert (pool.kind, pool.protocols, pool.default_protocol) == (
        "dedicated",
        ["rdp", "vnc", "spice"],
        "vnc",
    )
    assert (
        pool.disconnect_timeout_s,
        pool.idle_timeout_s,
        pool.idle_action,
        pool.max_session_s,
        pool.prelaunch_timeout_s,
    ) == (1800, 3600, "logoff", 36000, 90)
    assert (pool.allow_reset, pool.allow_restart, pool.sso, pool.spares) == (True, False, True, 1)
    assert pool.backend == {
        "type": "static",
        "wake_address": "10.0.20.255",
        "wake_port": 9,
        "reset_command": ["ipmitool", "{name}"],
        "restart_command": None,
        "command_timeout_s": 30,
    }
    assert machine is not None
    # port is the default protocol's; RDP gets its usual port; SPICE has TLS only.
    assert (
        machine.port,
        machine.vnc_port,
        machine.rdp_port,
        machine.spice_port,
        machine.spice_tls_port,
    ) == (5901, 5901, 3389, None, 5931)
    assert machine.mac == "52:54:00:aa:bb:01"


def test_defaults_mean_no_limits(broker: Broker) -> None:
    with broker.session() as db:
        pool = db.get_one(Pool, "engineering")
    assert pool.kind == "floating"
    assert (pool.disconnect_timeout_s, pool.idle_timeout_s, pool.max_session_s) == (None,) * 3
    assert pool.prelaunch_timeout_s == 120
    assert (pool.allow_reset, pool.allow_restart, pool.sso, pool.spares) == (False, False, False, 0)


def test_turning_a_dedicated_pool_floating_frees_idle_bindings(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], write_config: Callable[..., Path]
) -> None:
    pools[0]["kind"] = "dedicated"
    first = make_broker(pools=pools)
    with first.session() as db:
        alice = allocation.launch(db, first.user("alice"), "engineering")
        sessions.logoff(db, first.user("alice"), alice.session.id, utcnow(), address=None)
        bob = allocation.launch(db, first.user("bob"), "engineering")

    pools[0]["kind"] = "floating"
    apply_file(first, pools, write_config)
    second = make_broker(pools=pools)

    with second.session() as db:
        machines = {m.name: m for m in db.scalars(select(Machine))}
    # alice's idle binding goes; bob's machine stays his while his session lives.
    assert machines[alice.machine.name].state == MachineState.READY
    assert machines[alice.machine.name].assigned_user_id is None
    assert machines[bob.machine.name].assigned_user_id == second.user("bob").id
    assert machines[bob.machine.name].state == MachineState.ASSIGNED


@pytest.mark.parametrize("pools_file", [True, False], ids=["pools-file", "no-pools-file"])
def test_start_up_retries_machines_in_error(
    make_broker: Callable[..., Broker], caplog: pytest.LogCaptureFixture, pools_file: bool
) -> None:
    first = make_broker()
    with first.session() as db:
        db.execute(update(Machine).where(Machine.name == "eng-2").values(state=MachineState.ERROR))
        db.commit()

    with caplog.at_level(logging.WARNING):
        second = make_broker() if pools_file else make_broker(config=None)

    with second.session() as db:
        assert db.scalar(select(Machine.state).where(Machine.name == "eng-2")) == "ready"
    assert "machine eng-2 was in error; trying it again" in caplog.text


def test_a_file_without_pools_leaves_them_alone(
    broker: Broker, make_broker: Callable[..., Broker], tmp_path: Path
) -> None:
    before = snapshot(broker)
    only_users = tmp_path / "site.toml"
    only_users.write_text('[[users]]\nusername = "erin"\n')
    only_users.chmod(0o600)

    again = make_broker(config=only_users)

    assert snapshot(again) == before
