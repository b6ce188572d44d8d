"""POST /api/v1/sessions/{id}/logoff."""

from __future__ import annotations

from collections.abc import Callable

from ..conftest import Broker, UserSpec, assert_problem


def launch(broker: Broker, headers: dict[str, str], pool: str = "engineering") -> dict[str, object]:
    reply = broker.client.post(f"/api/v1/desktops/{pool}/launch", headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, object] = reply.json()
    return body


def logoff_url(session_id: object) -> str:
    return f"/api/v1/sessions/{session_id}/logoff"


def test_logoff_frees_the_machine_for_the_next_user(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2, 3)})
    u1, u2, u3 = (broker.login(n) for n in ("u1", "u2", "u3"))
    first = launch(broker, u1)
    launch(broker, u2)
    assert broker.client.post("/api/v1/desktops/engineering/launch", headers=u3).status_code == 409

    reply = broker.client.post(logoff_url(first["session_id"]), headers=u1)

    assert reply.status_code == 204
    assert reply.content == b""
    third = launch(broker, u3)
    assert third["connection"] == first["connection"]
    assert third["session_id"] != first["session_id"]
    (entry,) = broker.client.get("/api/v1/desktops", headers=u1).json()["desktops"]
    assert entry["state"] == "unavailable"
    assert entry["session"] is None


def test_another_users_session_is_not_found(broker: Broker) -> None:
    alice = broker.login("alice")
    bob = broker.login("bob")
    session_id = launch(broker, alice)["session_id"]

    reply = broker.client.post(logoff_url(session_id), headers=bob)

    assert_problem(reply, 404, "session_not_found")
    # Still alice's.
    (entry,) = broker.client.get("/api/v1/desktops", headers=alice).json()["desktops"]
    assert entry["state"] == "connected"


def test_unknown_session(broker: Broker) -> None:
    assert_problem(
        broker.client.post(logoff_url("no-such-id"), headers=broker.login("alice")),
        404,
        "session_not_found",
    )


def test_logoff_twice_is_harmless(broker: Broker) -> None:
    alice = broker.login("alice")
    session_id = launch(broker, alice)["session_id"]

    assert broker.client.post(logoff_url(session_id), headers=alice).status_code == 204
    assert broker.client.post(logoff_url(session_id), headers=alice).status_code == 204


def test_logoff_needs_a_token(broker: Broker) -> None:
    assert_problem(broker.client.post(logoff_url("x")), 401, "invalid_token")
