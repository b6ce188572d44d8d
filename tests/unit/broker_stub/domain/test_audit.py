"""The audit log: sign-in, sign-in failures, launch, logoff and sign-out leave a row."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from broker_stub.db.models import AuditEvent
from broker_stub.domain import audit

from ..conftest import Broker

LOGIN = "/api/v1/auth/login"


def events(broker: Broker) -> list[dict[str, Any]]:
    with broker.session() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [
        {
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "detail": r.detail,
            "address": r.address,
        }
        for r in rows
    ]


def test_one_user_day(broker: Broker) -> None:
    password = broker.users["alice"].password
    broker.client.post(LOGIN, json={"username": "alice", "password": "Wr0ng-guess!"})
    broker.client.post(LOGIN, json={"username": "zed", "password": password})
    headers = broker.login("alice")
    launched = broker.client.post("/api/v1/desktops/engineering/launch", headers=headers).json()
    broker.client.post("/api/v1/desktops/engineering/launch", headers=headers)
    session_id = launched["session_id"]
    broker.client.post(f"/api/v1/sessions/{session_id}/logoff", headers=headers)
    broker.client.post("/api/v1/auth/logout", headers=headers)

    # TestClient's peer address is "testclient"; uvicorn's is the client's IP.
    assert events(broker) == [
        {
            "actor": None,
            "action": audit.SIGN_IN_FAILED,
            "target": "user:alice",
            "detail": {"reason": "wrong_password"},
            "address": "testclient",
        },
        {
            "actor": None,
            "action": audit.SIGN_IN_FAILED,
            "target": "user:zed",
            "detail": {"reason": "unknown_user"},
            "address": "testclient",
        },
        {
            "actor": "alice",
            "action": audit.SIGN_IN,
            "target": "user:alice",
            "detail": {"source": "local", "mfa": False},
            "address": "testclient",
        },
        {
            "actor": "alice",
            "action": audit.LAUNCH,
            "target": "pool:engineering",
            "detail": {
                "session": session_id,
                "machine": "eng-1",
                "protocol": "vnc",
                "reconnected": False,
            },
            "address": "testclient",
        },
        {
            "actor": "alice",
            "action": audit.LAUNCH,
            "target": "pool:engineering",
            "detail": {
                "session": session_id,
                "machine": "eng-1",
                "protocol": "vnc",
                "reconnected": True,
            },
            "address": "testclient",
        },
        {
            "actor": "alice",
            "action": audit.LOGOFF,
            "target": f"session:{session_id}",
            "detail": {"pool": "engineering", "machine": "eng-1"},
            "address": "testclient",
        },
        {
            "actor": "alice",
            "action": audit.SIGN_OUT,
            "target": "user:alice",
            "detail": {},
            "address": "testclient",
        },
    ]


def test_refused_requests_leave_no_launch_or_logoff(broker: Broker) -> None:
    headers = broker.login("dave")  # entitled to nothing
    broker.client.post("/api/v1/desktops/engineering/launch", headers=headers)
    broker.client.post("/api/v1/sessions/nope/logoff", headers=headers)

    assert [e["action"] for e in events(broker)] == [audit.SIGN_IN]


def test_events_hold_no_secrets(broker: Broker) -> None:
    password = broker.users["alice"].password
    headers = broker.login("alice")
    token = headers["Authorization"].removeprefix("Bearer ")
    broker.client.post(LOGIN, json={"username": "alice", "password": "Wr0ng-guess!"})
    launched = broker.client.post("/api/v1/desktops/engineering/launch", headers=headers).json()

    stored = json.dumps(events(broker))
    for secret in (password, "Wr0ng-guess!", token, launched["connection"]["password"]):
        assert secret not in stored


def test_event_times_are_utc(broker: Broker) -> None:
    broker.login("alice")

    with broker.session() as db:
        event = db.scalars(select(AuditEvent)).one()
    offset = event.at.utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0
