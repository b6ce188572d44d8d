"""/api/v1/admin/users and /groups, and who may use the admin API at all."""

from __future__ import annotations

import pytest

from broker_stub.domain import audit

from ..admin_helpers import ADMIN, API, admin_events, admin_headers, launch
from ..conftest import Broker, assert_problem, sqlite_only


def test_plain_users_are_refused(broker: Broker) -> None:
    reply = broker.client.get(f"{API}/users", headers=broker.login("alice"))

    problem = assert_problem(reply, 403, "admin_required")
    assert "administrator" in problem["detail"]


@sqlite_only
def test_no_token_is_refused(broker: Broker) -> None:
    assert_problem(broker.client.get(f"{API}/users"), 401, "invalid_token")


def test_list_users_in_pages(broker: Broker) -> None:
    headers = admin_headers(broker)

    first = broker.client.get(f"{API}/users", params={"limit": 2}, headers=headers).json()
    second = broker.client.get(
        f"{API}/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    last = broker.client.get(
        f"{API}/users", params={"limit": 2, "cursor": second["next_cursor"]}, headers=headers
    ).json()

    assert [u["username"] for u in first["users"]] == ["alice", "bob"]
    assert [u["username"] for u in second["users"]] == ["carol", "dave"]
    assert [u["username"] for u in last["users"]] == [ADMIN]
    assert last["next_cursor"] is None
    assert first["users"][1] == {
        "username": "bob",
        "display_name": "bob",
        "role": "user",
        "groups": ["artists", "staff"],
        "local_password": True,
    }


def test_list_users_by_role_and_group(broker: Broker) -> None:
    headers = admin_headers(broker)

    admins = broker.client.get(f"{API}/users", params={"role": "admin"}, headers=headers).json()
    staff = broker.client.get(f"{API}/users", params={"group": "staff"}, headers=headers).json()

    assert [u["username"] for u in admins["users"]] == [ADMIN]
    assert [u["username"] for u in staff["users"]] == ["bob"]


@sqlite_only
@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"role": "root"}, ["query", "role"]),
        ({"cursor": "not base64!"}, ["query", "cursor"]),
    ],
)
def test_list_users_validation(broker: Broker, params: dict[str, object], where: list[str]) -> None:
    reply = broker.client.get(f"{API}/users", params=params, headers=admin_headers(broker))

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [where]


@sqlite_only
@pytest.mark.parametrize("cursor", ["eyJ4Ijo1fQ", "WyJhdWRpdCIsNV0", "WyJ1c2VycyIsNV0"])
def test_a_cursor_the_broker_did_not_make(broker: Broker, cursor: str) -> None:
    # {"x":5}; an audit cursor; a users cursor holding a number.
    reply = broker.client.get(
        f"{API}/users", params={"cursor": cursor}, headers=admin_headers(broker)
    )

    assert_problem(reply, 400, "invalid_cursor")


def test_create_user_then_sign_in(broker: Broker) -> None:
    headers = admin_headers(broker)

    reply = broker.client.post(
        f"{API}/users",
        json={
            "username": "erin",
            "password": "erin-Secret-5",
            "display_name": "Erin Example",
            "groups": ["staff", "ops"],
        },
        headers=headers,
    )

    assert reply.status_code == 201
    assert reply.json() == {
        "username": "erin",
        "display_name": "Erin Example",
        "role": "user",
        "groups": ["ops", "staff"],
        "local_password": True,
    }
    login = broker.client.post(
        "/api/v1/auth/login", json={"username": "erin", "password": "erin-Secret-5"}
    )
    assert login.status_code == 200
    # Through the new "staff" membership.
    desktops = broker.client.get(
        "/api/v1/desktops", headers={"Authorization": f"Bearer {login.json()['token']}"}
    ).json()["desktops"]
    assert [d["id"] for d in desktops] == ["engineering"]
    (event,) = [e for e in admin_events(broker) if e["target"] == "user:erin"]
    assert event["actor"] == ADMIN
    assert event["action"] == audit.USER_CREATE
    assert "erin-Secret-5" not in str(event)


def test_create_existing_user(broker: Broker) -> None:
    reply = broker.client.post(
        f"{API}/users",
        json={"username": "alice", "password": "long-enough-1"},
        headers=admin_headers(broker),
    )

    problem = assert_problem(reply, 409, "user_exists")
    assert '"alice"' in problem["detail"]


@sqlite_only
@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"username": "two words", "password": "x"}, ["body", "username"]),
        ({"username": "a/b", "password": "x"}, ["body", "username"]),
        ({"username": "erin"}, ["body", "password"]),
        ({"username": "erin", "password": ""}, ["body", "password"]),
        ({"username": "erin", "password": "x", "role": "root"}, ["body", "role"]),
        ({"username": "erin", "password": "x", "groups": [" staff"]}, ["body", "groups", 0]),
        ({"username": "erin", "password": "x", "shoe_size": 9}, ["body", "shoe_size"]),
        ({"username": 5, "password": "x"}, ["body", "username"]),
    ],
)
def test_create_user_validation(
    broker: Broker, body: dict[str, object], where: list[object]
) -> None:
    reply = broker.client.post(f"{API}/users", json=body, headers=admin_headers(broker))

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [where]
    assert "x" not in [e.get("input") for e in problem["errors"]]


def test_show_and_missing_user(broker: Broker) -> None:
    headers = admin_headers(broker)

    assert broker.client.get(f"{API}/users/alice", headers=headers).json()["display_name"] == (
        "Alice Liddell"
    )
    assert_problem(broker.client.get(f"{API}/users/zed", headers=headers), 404, "user_not_found")


def test_new_password_signs_the_user_out(broker: Broker) -> None:
    headers = admin_headers(broker)
    alice = broker.login("alice")

    reply = broker.client.put(
        f"{API}/users/alice/password", json={"password": "n3w-Secret"}, headers=headers
    )

    assert reply.status_code == 204
    assert_problem(broker.client.get("/api/v1/desktops", headers=alice), 401, "invalid_token")
    old = broker.client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": broker.users["alice"].password}
    )
    assert old.status_code == 401
    new = broker.client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "n3w-Secret"}
    )
    assert new.status_code == 200


def test_set_role(broker: Broker) -> None:
    headers = admin_headers(broker)

    reply = broker.client.put(f"{API}/users/carol/role", json={"role": "admin"}, headers=headers)

    assert reply.json()["role"] == "admin"
    # carol may now use the admin API herself.
    assert broker.client.get(f"{API}/users", headers=broker.login("carol")).status_code == 200
    assert admin_events(broker)[-1] == {
        "actor": ADMIN,
        "action": audit.USER_ROLE,
        "target": "user:carol",
        "detail": {"from": "user", "to": "admin"},
    }


def test_the_last_admin_stays(broker: Broker) -> None:
    headers = admin_headers(broker)

    demote = broker.client.put(f"{API}/users/{ADMIN}/role", json={"role": "user"}, headers=headers)
    delete = broker.client.delete(f"{API}/users/{ADMIN}", headers=headers)

    assert_problem(demote, 409, "last_admin")
    assert_problem(delete, 409, "last_admin")
    assert broker.client.get(f"{API}/users/{ADMIN}", headers=headers).json()["role"] == "admin"
    # With a second admin, the first may step down.
    broker.client.put(f"{API}/users/carol/role", json={"role": "admin"}, headers=headers)
    again = broker.client.put(f"{API}/users/{ADMIN}/role", json={"role": "user"}, headers=headers)
    assert again.json()["role"] == "user"


def test_delete_user_ends_their_sessions(broker: Broker) -> None:
    headers = admin_headers(broker)
    session_id = launch(broker, "alice")

    reply = broker.client.delete(f"{API}/users/alice", headers=headers)

    assert reply.status_code == 204
    assert_problem(broker.client.get(f"{API}/users/alice", headers=headers), 404, "user_not_found")
    machines = broker.client.get(f"{API}/pools/engineering/machines", headers=headers).json()
    assert all(m["user"] is None and m["session"] is None for m in machines["machines"])
    actions = [(e["action"], e["target"]) for e in admin_events(broker)]
    assert (audit.SESSION_LOGOFF, f"session:{session_id}") in actions
    assert actions[-1] == (audit.USER_DELETE, "user:alice")
    # bob gets a machine as before.
    launch(broker, "bob")


def test_groups(broker: Broker) -> None:
    headers = admin_headers(broker)

    created = broker.client.post(f"{API}/groups", json={"name": "Domain Users"}, headers=headers)
    added = broker.client.put(f"{API}/groups/Domain Users/members/carol", headers=headers)
    added_again = broker.client.put(f"{API}/groups/Domain Users/members/carol", headers=headers)
    shown = broker.client.get(f"{API}/groups/Domain Users", headers=headers).json()
    removed = broker.client.delete(f"{API}/groups/Domain Users/members/carol", headers=headers)
    listed = broker.client.get(f"{API}/groups", headers=headers).json()

    assert created.status_code == 201
    assert created.json() == {"name": "Domain Users", "members": []}
    assert added.status_code == added_again.status_code == removed.status_code == 204
    assert shown == {"name": "Domain Users", "members": ["carol"]}
    assert listed["groups"] == [
        {"name": "Domain Users", "members": []},
        {"name": "artists", "members": ["bob"]},
        {"name": "staff", "members": ["bob"]},
    ]
    # Adding twice is one change in the log.
    assert [e["action"] for e in admin_events(broker) if e["target"] == "group:Domain Users"] == [
        audit.GROUP_CREATE,
        audit.GROUP_ADD_MEMBER,
        audit.GROUP_REMOVE_MEMBER,
    ]


def test_group_errors(broker: Broker) -> None:
    headers = admin_headers(broker)

    assert_problem(
        broker.client.post(f"{API}/groups", json={"name": "staff"}, headers=headers),
        409,
        "group_exists",
    )
    assert_problem(broker.client.get(f"{API}/groups/nope", headers=headers), 404, "group_not_found")
    assert_problem(
        broker.client.put(f"{API}/groups/staff/members/zed", headers=headers),
        404,
        "user_not_found",
    )


def test_delete_group_takes_its_entitlement_effect(broker: Broker) -> None:
    headers = admin_headers(broker)

    assert broker.client.delete(f"{API}/groups/staff", headers=headers).status_code == 204

    # bob reached engineering through "staff" only.
    desktops = broker.client.get("/api/v1/desktops", headers=broker.login("bob")).json()
    assert [d["id"] for d in desktops["desktops"]] == ["art"]
    assert_problem(
        broker.client.get(f"{API}/groups/staff", headers=headers), 404, "group_not_found"
    )
