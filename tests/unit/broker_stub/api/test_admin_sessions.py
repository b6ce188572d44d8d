"""/api/v1/admin/sessions: list with filters and pages, disconnect, log off."""

from __future__ import annotations

import pytest

from broker_stub.domain import audit

from ..admin_helpers import ADMIN, API, admin_events, admin_headers, launch, make_active
from ..conftest import Broker, assert_problem, sqlite_only

SESSIONS = f"{API}/sessions"


def test_list_and_filter(broker: Broker) -> None:
    headers = admin_headers(broker)
    alice = launch(broker, "alice")
    bob_eng = launch(broker, "bob")
    bob_art = launch(broker, "bob", "art")

    every = broker.client.get(SESSIONS, headers=headers).json()
    bobs = broker.client.get(SESSIONS, params={"user": "bob"}, headers=headers).json()
    art = broker.client.get(SESSIONS, params={"pool": "art"}, headers=headers).json()
    ended = broker.client.get(SESSIONS, params={"state": "ended"}, headers=headers).json()

    assert {s["id"] for s in every["sessions"]} == {alice, bob_eng, bob_art}
    assert every["sessions"][0]["id"] == bob_art  # newest first
    assert {s["id"] for s in bobs["sessions"]} == {bob_eng, bob_art}
    assert [(s["id"], s["user"], s["machine"]) for s in art["sessions"]] == [
        (bob_art, "bob", "art-1")
    ]
    assert ended == {"sessions": [], "next_cursor": None}


def test_pages_cover_every_session_once(broker: Broker) -> None:
    headers = admin_headers(broker)
    made = {launch(broker, "alice"), launch(broker, "bob"), launch(broker, "bob", "art")}
    made.add(launch(broker, "carol", "finance"))

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = broker.client.get(SESSIONS, params=params, headers=headers).json()
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 4
    assert set(seen) == made


def test_logoff_frees_the_machine(broker: Broker) -> None:
    headers = admin_headers(broker)
    session_id = launch(broker, "alice")

    reply = broker.client.post(f"{SESSIONS}/{session_id}/logoff", headers=headers)
    again = broker.client.post(f"{SESSIONS}/{session_id}/logoff", headers=headers)

    assert reply.status_code == 200
    body = reply.json()
    assert body["state"] == "ended"
    assert body["ended_at"] is not None
    assert again.json() == body
    # alice's launcher sees the session gone, and the machine is free again.
    (entry,) = broker.client.get("/api/v1/desktops", headers=broker.login("alice")).json()[
        "desktops"
    ]
    assert entry["session"] is None
    assert [e for e in admin_events(broker) if e["action"] == audit.SESSION_LOGOFF] == [
        {
            "actor": ADMIN,
            "action": audit.SESSION_LOGOFF,
            "target": f"session:{session_id}",
            "detail": {"user": "alice", "pool": "engineering", "machine": "eng-1"},
        }
    ]


def test_disconnect_keeps_the_machine_for_the_user(broker: Broker) -> None:
    headers = admin_headers(broker)
    session_id = launch(broker, "alice")
    make_active(broker, session_id)

    reply = broker.client.post(f"{SESSIONS}/{session_id}/disconnect", headers=headers)

    assert reply.json()["state"] == "disconnected"
    eng1 = broker.client.get(f"{API}/pools/engineering/machines/eng-1", headers=headers).json()
    assert eng1["state"] == "disconnected"
    assert eng1["user"] == "alice"
    # Launching again reconnects alice to the same session.
    relaunch = broker.client.post(
        "/api/v1/desktops/engineering/launch", headers=broker.login("alice")
    )
    assert relaunch.json()["session_id"] == session_id
    assert admin_events(broker)[-1]["action"] == audit.SESSION_DISCONNECT


def test_disconnect_of_an_ended_session_changes_nothing(broker: Broker) -> None:
    headers = admin_headers(broker)
    session_id = launch(broker, "alice")
    broker.client.post(f"{SESSIONS}/{session_id}/logoff", headers=headers)

    reply = broker.client.post(f"{SESSIONS}/{session_id}/disconnect", headers=headers)

    assert reply.json()["state"] == "ended"
    assert audit.SESSION_DISCONNECT not in [e["action"] for e in admin_events(broker)]


def test_unknown_session(broker: Broker) -> None:
    headers = admin_headers(broker)

    for reply in (
        broker.client.get(f"{SESSIONS}/nope", headers=headers),
        broker.client.post(f"{SESSIONS}/nope/logoff", headers=headers),
        broker.client.post(f"{SESSIONS}/nope/disconnect", headers=headers),
    ):
        problem = assert_problem(reply, 404, "session_not_found")
        assert '"nope"' in problem["detail"]


@sqlite_only
@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"state": "sleeping"}, ["query", "state"]),
        ({"pool": "Not A Pool"}, ["query", "pool"]),
        ({"user": "two words"}, ["query", "user"]),
        ({"limit": "ten"}, ["query", "limit"]),
    ],
)
def test_list_validation(broker: Broker, params: dict[str, str], where: list[str]) -> None:
    reply = broker.client.get(SESSIONS, params=params, headers=admin_headers(broker))

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [where]
