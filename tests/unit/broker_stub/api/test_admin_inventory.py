"""/api/v1/admin/pools, their machines, and /entitlements."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from broker_stub.domain import audit

from ..admin_helpers import ADMIN, API, admin_events, admin_headers, launch
from ..conftest import Broker, PoolSpec, UserSpec, assert_problem, sqlite_only

MACHINES = f"{API}/pools/engineering/machines"


def test_list_pools(broker: Broker) -> None:
    headers = admin_headers(broker)
    launch(broker, "alice")

    pools = broker.client.get(f"{API}/pools", headers=headers).json()["pools"]

    assert [p["id"] for p in pools] == ["engineering", "finance", "art"]  # pools-file order
    engineering = pools[0]
    assert engineering["name"] == "Engineering desktop"
    assert engineering["protocols"] == ["vnc"]
    assert sum(engineering["machines"].values()) == 2
    assert engineering["machines"]["ready"] == 1
    assert engineering["entitlements"] == [
        {"pool": "engineering", "kind": "group", "name": "staff"},
        {"pool": "engineering", "kind": "user", "name": "alice"},
    ]
    assert broker.client.get(f"{API}/pools/art", headers=headers).json()["machines"] == {"ready": 1}
    assert_problem(broker.client.get(f"{API}/pools/nope", headers=headers), 404, "pool_not_found")


def test_machines_show_who_holds_them_and_no_password(broker: Broker) -> None:
    session_id = launch(broker, "alice")

    reply = broker.client.get(MACHINES, headers=admin_headers(broker))

    eng1, eng2 = reply.json()["machines"]
    assert eng1["name"] == "eng-1"
    assert eng1["user"] == "alice"
    assert eng1["session"] == session_id
    assert eng1["ports"] == {"vnc": 5901}
    assert eng2["user"] is None
    assert eng2["state"] == "ready"
    assert "vncEng1!" not in reply.text


def test_add_machine_then_launch_on_it(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2, 3)})
    headers = admin_headers(broker)
    launch(broker, "u1")
    launch(broker, "u2")

    reply = broker.client.post(
        MACHINES,
        json={"name": "eng-3", "host": "10.0.20.13", "port": 5903, "password": "pw3"},
        headers=headers,
    )

    assert reply.status_code == 201
    assert reply.json() == {
        "pool": "engineering",
        "name": "eng-3",
        "host": "10.0.20.13",
        "ports": {"vnc": 5903},
        "state": "ready",
        "user": None,
        "session": None,
        "origin": "config",
        "problem": None,
    }
    third = broker.client.post("/api/v1/desktops/engineering/launch", headers=broker.login("u3"))
    assert third.json()["connection"]["port"] == 5903
    assert third.json()["connection"]["password"] == "pw3"
    event = admin_events(broker)[-1]
    assert event["action"] == audit.MACHINE_ADD
    assert event["target"] == "machine:engineering/eng-3"
    assert "pw3" not in str(event)


def test_add_machine_errors(broker: Broker) -> None:
    headers = admin_headers(broker)

    taken = broker.client.post(MACHINES, json={"name": "eng-1", "host": "h"}, headers=headers)
    long_password = broker.client.post(
        MACHINES, json={"name": "eng-9", "host": "h", "password": "123456789"}, headers=headers
    )
    no_pool = broker.client.post(
        f"{API}/pools/nope/machines", json={"name": "x", "host": "h"}, headers=headers
    )

    assert_problem(taken, 409, "machine_exists")
    problem = assert_problem(long_password, 400, "invalid_machine")
    assert "8 characters" in problem["detail"]
    assert_problem(no_pool, 404, "pool_not_found")


@sqlite_only
@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "x", "host": "h", "port": 0}, ["body", "port"]),
        ({"name": "x", "host": "h", "port": "5900"}, ["body", "port"]),
        ({"name": "x", "host": "two words"}, ["body", "host"]),
        ({"name": "x", "host": "h", "mac": "nope"}, ["body", "mac"]),
        ({"name": "", "host": "h"}, ["body", "name"]),
    ],
)
def test_add_machine_validation(broker: Broker, body: dict[str, object], where: list[str]) -> None:
    reply = broker.client.post(MACHINES, json=body, headers=admin_headers(broker))

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [where]


def test_a_machine_in_use_is_not_removed(broker: Broker) -> None:
    headers = admin_headers(broker)
    launch(broker, "alice")

    busy = broker.client.delete(f"{MACHINES}/eng-1", headers=headers)
    free = broker.client.delete(f"{MACHINES}/eng-2", headers=headers)

    problem = assert_problem(busy, 409, "machine_in_use")
    assert problem["detail"] == (
        'Machine "eng-1" cannot be removed while alice is using it. Log the session off '
        "first (list the machine's sessions to find it), then try again."
    )
    assert free.status_code == 204
    names = [m["name"] for m in broker.client.get(MACHINES, headers=headers).json()["machines"]]
    assert names == ["eng-1"]
    assert_problem(
        broker.client.delete(f"{MACHINES}/eng-2", headers=headers), 404, "machine_not_found"
    )
    assert [e["action"] for e in admin_events(broker)][-1] == audit.MACHINE_REMOVE


def test_maintenance(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2)})
    headers = admin_headers(broker)

    on = broker.client.put(f"{MACHINES}/eng-1/maintenance", headers=headers)
    again = broker.client.put(f"{MACHINES}/eng-1/maintenance", headers=headers)

    assert on.json()["state"] == again.json()["state"] == "maintenance"
    # Launches skip it: u1 gets eng-2, and u2 finds nothing free.
    first = broker.client.post("/api/v1/desktops/engineering/launch", headers=broker.login("u1"))
    assert first.json()["connection"]["port"] == 5902
    second = broker.client.post("/api/v1/desktops/engineering/launch", headers=broker.login("u2"))
    assert_problem(second, 409, "no_machine_available")

    off = broker.client.delete(f"{MACHINES}/eng-1/maintenance", headers=headers)

    assert off.json()["state"] == "ready"
    retry = broker.client.post("/api/v1/desktops/engineering/launch", headers=broker.login("u2"))
    assert retry.json()["connection"]["port"] == 5901
    # The repeated "on" changed nothing and left no event.
    assert [e["action"] for e in admin_events(broker) if "maintenance" in e["action"]] == [
        audit.MACHINE_MAINTENANCE_ON,
        audit.MACHINE_MAINTENANCE_OFF,
    ]


def test_maintenance_of_a_machine_in_use_lets_the_session_go_on(broker: Broker) -> None:
    headers = admin_headers(broker)
    session_id = launch(broker, "alice")

    on = broker.client.put(f"{MACHINES}/eng-1/maintenance", headers=headers).json()
    logoff = broker.client.post(f"{API}/sessions/{session_id}/logoff", headers=headers)
    after = broker.client.get(f"{MACHINES}/eng-1", headers=headers).json()

    assert on["state"] == "maintenance"
    assert on["session"] == session_id
    assert logoff.json()["state"] == "ended"
    # It stays out of the pool after its session ends.
    assert after["state"] == "maintenance"
    assert after["user"] is None


def test_entitlements(broker: Broker) -> None:
    headers = admin_headers(broker)

    added = broker.client.post(
        f"{API}/entitlements",
        json={"pool": "finance", "kind": "user", "name": "dave"},
        headers=headers,
    )
    twice = broker.client.post(
        f"{API}/entitlements",
        json={"pool": "finance", "kind": "user", "name": "dave"},
        headers=headers,
    )
    daves = broker.client.get(f"{API}/entitlements", params={"name": "dave"}, headers=headers)
    desktops = broker.client.get("/api/v1/desktops", headers=broker.login("dave")).json()

    assert added.status_code == 201
    assert added.json() == {"pool": "finance", "kind": "user", "name": "dave"}
    assert_problem(twice, 409, "entitlement_exists")
    assert daves.json() == {"entitlements": [added.json()]}
    assert [d["id"] for d in desktops["desktops"]] == ["finance"]

    removed = broker.client.delete(f"{API}/entitlements/finance/user/dave", headers=headers)
    gone = broker.client.delete(f"{API}/entitlements/finance/user/dave", headers=headers)

    assert removed.status_code == 204
    assert_problem(gone, 404, "entitlement_not_found")
    assert broker.client.get("/api/v1/desktops", headers=broker.login("dave")).json() == {
        "desktops": []
    }
    assert [(e["actor"], e["action"], e["detail"]) for e in admin_events(broker)][-2:] == [
        (ADMIN, audit.ENTITLEMENT_ADD, {"kind": "user", "name": "dave"}),
        (ADMIN, audit.ENTITLEMENT_REMOVE, {"kind": "user", "name": "dave"}),
    ]


@sqlite_only
def test_entitlement_validation(broker: Broker) -> None:
    headers = admin_headers(broker)

    bad_kind = broker.client.post(
        f"{API}/entitlements",
        json={"pool": "finance", "kind": "robot", "name": "x"},
        headers=headers,
    )
    bad_pool = broker.client.post(
        f"{API}/entitlements",
        json={"pool": "Finance!", "kind": "user", "name": "x"},
        headers=headers,
    )
    unknown_pool = broker.client.post(
        f"{API}/entitlements", json={"pool": "nope", "kind": "user", "name": "x"}, headers=headers
    )

    assert [e["loc"] for e in assert_problem(bad_kind, 422, "invalid_request")["errors"]] == [
        ["body", "kind"]
    ]
    assert [e["loc"] for e in assert_problem(bad_pool, 422, "invalid_request")["errors"]] == [
        ["body", "pool"]
    ]
    assert_problem(unknown_pool, 404, "pool_not_found")


# Unassigning a dedicated machine


@pytest.fixture
def dedicated(make_broker: Callable[..., Broker], pools: list[PoolSpec]) -> Broker:
    pools[0]["kind"] = "dedicated"
    return make_broker(pools=pools)


def test_unassign_a_dedicated_machine(dedicated: Broker) -> None:
    headers = admin_headers(dedicated)
    session_id = launch(dedicated, "alice")

    busy = dedicated.client.post(f"{MACHINES}/eng-1/unassign", headers=headers)

    problem = assert_problem(busy, 409, "machine_in_use")
    assert problem["detail"] == (
        f'Machine "eng-1" cannot be unassigned while alice is using it. Log off session '
        f"{session_id} first, then try again."
    )
    dedicated.client.post(f"{API}/sessions/{session_id}/logoff", headers=headers)
    owned = dedicated.client.get(f"{MACHINES}/eng-1", headers=headers).json()
    assert (owned["state"], owned["user"]) == ("assigned", "alice")

    done = dedicated.client.post(f"{MACHINES}/eng-1/unassign", headers=headers)
    again = dedicated.client.post(f"{MACHINES}/eng-1/unassign", headers=headers)

    assert done.status_code == 200, done.text
    assert done.json() == {
        "pool": "engineering",
        "name": "eng-1",
        "host": "127.0.0.1",
        "ports": {"vnc": 5901},
        "state": "ready",
        "user": None,
        "session": None,
        "origin": "config",
        "problem": None,
    }
    problem = assert_problem(again, 409, "machine_not_assigned")
    assert problem["detail"].startswith('Machine "eng-1" in pool "engineering" has no owner')
    unassigns = [e for e in admin_events(dedicated) if e["action"] == audit.MACHINE_UNASSIGN]
    assert unassigns == [
        {
            "actor": ADMIN,
            "action": audit.MACHINE_UNASSIGN,
            "target": "machine:engineering/eng-1",
            "detail": {"user": "alice"},
        }
    ]
    # eng-1 is free for the next user's first launch; alice's next launch binds another.
    bob = dedicated.client.post(
        "/api/v1/desktops/engineering/launch", headers=dedicated.login("bob")
    )
    mine = dedicated.client.post(
        "/api/v1/desktops/engineering/launch", headers=dedicated.login("alice")
    )
    assert bob.json()["connection"]["port"] == 5901
    assert mine.json()["connection"]["port"] == 5902
    machines = dedicated.client.get(MACHINES, headers=headers).json()["machines"]
    assert [(m["name"], m["user"]) for m in machines] == [("eng-1", "bob"), ("eng-2", "alice")]


def test_unassign_a_machine_in_maintenance_keeps_it_there(dedicated: Broker) -> None:
    headers = admin_headers(dedicated)
    session_id = launch(dedicated, "alice")
    dedicated.client.post(f"{API}/sessions/{session_id}/logoff", headers=headers)
    dedicated.client.put(f"{MACHINES}/eng-1/maintenance", headers=headers)

    done = dedicated.client.post(f"{MACHINES}/eng-1/unassign", headers=headers).json()
    off = dedicated.client.delete(f"{MACHINES}/eng-1/maintenance", headers=headers).json()

    assert (done["state"], done["user"]) == ("maintenance", None)
    # Nobody's any more: out of maintenance it is ready, not alice's.
    assert (off["state"], off["user"]) == ("ready", None)


def test_unassign_refusals(dedicated: Broker) -> None:
    headers = admin_headers(dedicated)
    launch(dedicated, "bob", "art")

    floating = dedicated.client.post(f"{API}/pools/art/machines/art-1/unassign", headers=headers)
    no_pool = dedicated.client.post(f"{API}/pools/nope/machines/eng-1/unassign", headers=headers)
    no_machine = dedicated.client.post(f"{MACHINES}/eng-9/unassign", headers=headers)
    not_admin = dedicated.client.post(
        f"{MACHINES}/eng-1/unassign", headers=dedicated.login("alice")
    )
    nobody = dedicated.client.post(f"{MACHINES}/eng-1/unassign")

    problem = assert_problem(floating, 409, "pool_not_dedicated")
    assert problem["detail"].startswith('Pool "art" is floating')
    assert_problem(no_pool, 404, "pool_not_found")
    assert_problem(no_machine, 404, "machine_not_found")
    assert_problem(not_admin, 403, "admin_required")
    assert_problem(nobody, 401, "invalid_token")
    assert [e for e in admin_events(dedicated) if e["action"] == audit.MACHINE_UNASSIGN] == []


def test_recycle_a_free_machine_and_a_dedicated_one(dedicated: Broker) -> None:
    headers = admin_headers(dedicated)
    session_id = launch(dedicated, "alice")

    busy = dedicated.client.post(f"{MACHINES}/eng-1/recycle", headers=headers)
    problem = assert_problem(busy, 409, "machine_in_use")
    assert problem["detail"] == (
        f'Machine "eng-1" cannot be recycled while alice is using it. Log off session '
        f"{session_id} first, then try again."
    )
    dedicated.client.post(f"{API}/sessions/{session_id}/logoff", headers=headers)
    # The static backend recycles with "none": done at once, and alice keeps her machine.
    owned = dedicated.client.post(f"{MACHINES}/eng-1/recycle", headers=headers).json()
    free = dedicated.client.post(f"{MACHINES}/eng-2/recycle", headers=headers).json()

    assert (owned["state"], owned["user"]) == ("assigned", "alice")
    assert (free["state"], free["user"]) == ("ready", None)
    recycled = [
        e["target"] for e in admin_events(dedicated) if e["action"] == audit.MACHINE_RECYCLE
    ]
    assert recycled == ["machine:engineering/eng-1", "machine:engineering/eng-2"]
    missing = dedicated.client.post(f"{MACHINES}/eng-9/recycle", headers=headers)
    assert_problem(missing, 404, "machine_not_found")
    dedicated.client.put(f"{MACHINES}/eng-2/maintenance", headers=headers)
    kept = assert_problem(
        dedicated.client.post(f"{MACHINES}/eng-2/recycle", headers=headers), 409, "machine_busy"
    )
    assert kept["detail"] == (
        'Machine "eng-2" is maintenance now, so it cannot be recycled. Take it out of '
        "maintenance first."
    )
