"""GET /api/v1/desktops and POST /api/v1/desktops/{pool}/launch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ..conftest import Broker, UserSpec, assert_problem

DESKTOPS = "/api/v1/desktops"


def launch_url(pool: str) -> str:
    return f"{DESKTOPS}/{pool}/launch"


def desktops(broker: Broker, headers: dict[str, str]) -> list[dict[str, object]]:
    reply = broker.client.get(DESKTOPS, headers=headers)
    assert reply.status_code == 200, reply.text
    result: list[dict[str, object]] = reply.json()["desktops"]
    return result


def test_lists_only_entitled_pools(broker: Broker) -> None:
    # alice by name, bob by groups, carol by name, dave not at all.
    seen = {
        name: [d["id"] for d in desktops(broker, broker.login(name))]
        for name in ("alice", "bob", "carol", "dave")
    }

    assert seen == {
        "alice": ["engineering"],
        "bob": ["art", "engineering"],  # sorted by name: "Art studio" first
        "carol": ["finance"],
        "dave": [],
    }


def test_desktop_entry_shape(broker: Broker) -> None:
    assert desktops(broker, broker.login("alice")) == [
        {
            "id": "engineering",
            "name": "Engineering desktop",
            "protocols": ["vnc"],
            "default_protocol": "vnc",
            "state": "available",
            "session": None,
        }
    ]


def test_launch_returns_connection_info(broker: Broker) -> None:
    reply = broker.client.post(launch_url("engineering"), headers=broker.login("alice"))

    assert reply.status_code == 200
    body = reply.json()
    assert body["session_id"]
    assert body["connection"] == {
        "protocol": "vnc",
        "host": "127.0.0.1",
        "port": 5901,
        "tls": False,
        "username": None,
        "password": "vncEng1!",
        "expires_at": None,
        "sso": False,
        "tls_port": None,
        "ca": None,
        "host_subject": None,
        "proxy": None,
        "vmconnect": None,
    }


@pytest.mark.parametrize("body", [None, {}, {"protocol": None}, {"protocol": "vnc"}])
def test_launch_body_is_optional(broker: Broker, body: dict[str, object] | None) -> None:
    reply = broker.client.post(launch_url("engineering"), headers=broker.login("alice"), json=body)

    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"]["protocol"] == "vnc"


def test_machine_without_password(broker: Broker) -> None:
    reply = broker.client.post(launch_url("art"), headers=broker.login("bob"))

    assert reply.json()["connection"]["password"] is None


def test_second_launch_returns_the_same_session(broker: Broker) -> None:
    headers = broker.login("alice")
    first = broker.client.post(launch_url("engineering"), headers=headers).json()

    # Even from a second sign-in (another launcher of the same user).
    second = broker.client.post(launch_url("engineering"), headers=broker.login("alice")).json()

    assert second == first


def test_connected_state_after_launch(broker: Broker) -> None:
    headers = broker.login("alice")
    before = datetime.now(UTC)
    session_id = broker.client.post(launch_url("engineering"), headers=headers).json()["session_id"]

    (entry,) = desktops(broker, headers)

    assert entry["state"] == "connected"
    session = entry["session"]
    assert isinstance(session, dict)
    assert session["id"] == session_id
    assert session["state"] == "pending"  # until the launcher's first heartbeat
    assert session["machine"] == "eng-1"
    assert datetime.fromisoformat(session["started_at"]) >= before.replace(microsecond=0)


def test_two_users_never_get_the_same_machine(broker: Broker) -> None:
    alice = broker.client.post(launch_url("engineering"), headers=broker.login("alice")).json()
    bob = broker.client.post(launch_url("engineering"), headers=broker.login("bob")).json()

    assert alice["session_id"] != bob["session_id"]
    assert alice["connection"]["port"] != bob["connection"]["port"]


def test_full_pool(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2, 3)})
    for name in ("u1", "u2"):
        assert broker.client.post(launch_url("engineering"), headers=broker.login(name)).is_success
    u3 = broker.login("u3")

    reply = broker.client.post(launch_url("engineering"), headers=u3)

    problem = assert_problem(reply, 409, "no_machine_available")
    assert problem == {
        "type": "urn:rubicon:problem:no_machine_available",
        "title": "No desktop free",
        "status": 409,
        "detail": 'Every desktop in "Engineering desktop" is in use. Try again in a few '
        "minutes or ask your administrator for more desktops.",
        "code": "no_machine_available",
    }
    (entry,) = desktops(broker, u3)
    assert entry["state"] == "unavailable"


def test_not_entitled(broker: Broker) -> None:
    reply = broker.client.post(launch_url("finance"), headers=broker.login("alice"))

    problem = assert_problem(reply, 403, "not_entitled")
    assert "Finance desktop" in problem["detail"]


def test_unknown_pool(broker: Broker) -> None:
    reply = broker.client.post(launch_url("nope"), headers=broker.login("alice"))

    assert_problem(reply, 404, "pool_not_found")


def test_protocol_not_offered(broker: Broker) -> None:
    reply = broker.client.post(
        launch_url("engineering"), headers=broker.login("alice"), json={"protocol": "rdp"}
    )

    assert_problem(reply, 400, "protocol_not_offered")


def test_launch_validation(broker: Broker) -> None:
    reply = broker.client.post(
        launch_url("engineering"), headers=broker.login("alice"), json={"protocol": 5}
    )

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [["body", "protocol"]]


def test_launch_needs_a_token(broker: Broker) -> None:
    assert_problem(broker.client.post(launch_url("engineering")), 401, "invalid_token")
