"""/api/v1/admin/audit: filters, prefix match, pages, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from broker_stub.db.models import AuditEvent

from ..admin_helpers import ADMIN, API, admin_headers, launch
from ..conftest import Broker, assert_problem, sqlite_only

AUDIT = f"{API}/audit"


def actions(broker: Broker, headers: dict[str, str], **params: object) -> list[str]:
    reply = broker.client.get(AUDIT, params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    return [e["action"] for e in reply.json()["events"]]


def test_filters(broker: Broker) -> None:
    headers = admin_headers(broker)
    broker.client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong"})
    launch(broker, "alice")
    broker.client.post(f"{API}/groups", json={"name": "ops"}, headers=headers)

    alice = actions(broker, headers, actor="alice")
    admin_changes = actions(broker, headers, action="admin.*")
    failures = actions(broker, headers, action="auth.sign_in_failed")
    on_ops = actions(broker, headers, target="group:ops")

    assert alice == ["session.launch", "auth.sign_in"]  # newest first
    # The admin's own account was made by the tests' "cli:tests" admin.
    assert admin_changes == ["admin.group.create", "admin.user.create"]
    assert failures == ["auth.sign_in_failed"]
    assert on_ops == ["admin.group.create"]
    event = broker.client.get(AUDIT, params={"target": "group:ops"}, headers=headers).json()
    (only,) = event["events"]
    assert only["actor"] == ADMIN
    assert only["address"] == "testclient"
    assert only["at"].endswith("Z")


def test_time_range(broker: Broker) -> None:
    headers = admin_headers(broker)
    launch(broker, "alice")
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with broker.session() as db:
        db.execute(update(AuditEvent).where(AuditEvent.actor == "alice").values(at=long_ago))
        db.commit()

    old = actions(
        broker,
        headers,
        since="2019-12-31T23:00:00+00:00",
        until="2020-01-01T01:00:00+01:00",  # = 00:00 UTC: exclusive, so ...
    )
    old_inclusive = actions(
        broker, headers, since="2019-12-31T00:00:00Z", until="2020-01-02T00:00:00Z"
    )
    recent = actions(broker, headers, since=(datetime.now(UTC) - timedelta(hours=1)).isoformat())

    assert old == []
    assert old_inclusive == ["session.launch", "auth.sign_in"]
    assert "session.launch" not in recent
    assert "auth.sign_in" in recent  # the admin's own sign-in


def test_pages(broker: Broker) -> None:
    headers = admin_headers(broker)
    for _ in range(3):
        broker.login("alice")

    seen = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, "actor": "alice", **({"cursor": cursor} if cursor else {})}
        page = broker.client.get(AUDIT, params=params, headers=headers).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 3
    assert seen == sorted(seen, reverse=True)


@sqlite_only
@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"since": "2026-11-26T10:00:00"}, ["query", "since"]),  # no zone: ambiguous
        ({"since": "yesterday"}, ["query", "since"]),
        ({"until": "0001-01-01T00:00:00+14:00"}, ["query", "until"]),  # before year 1 in UTC
        ({"since": "2026-11-26T10:00:00Z", "until": "2026-11-26T09:00:00Z"}, ["query", "until"]),
        ({"actor": "a\x00b"}, ["query", "actor"]),
        ({"limit": 1000}, ["query", "limit"]),
    ],
)
def test_validation(broker: Broker, params: dict[str, object], where: list[str]) -> None:
    reply = broker.client.get(AUDIT, params=params, headers=admin_headers(broker))

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [where]


@sqlite_only
def test_users_cursor_is_refused_here(broker: Broker) -> None:
    headers = admin_headers(broker)
    users = broker.client.get(f"{API}/users", params={"limit": 1}, headers=headers).json()

    reply = broker.client.get(AUDIT, params={"cursor": users["next_cursor"]}, headers=headers)

    assert_problem(reply, 400, "invalid_cursor")
