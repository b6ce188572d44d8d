"""An admin account on a test broker, and small helpers the admin tests share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from broker_stub.auth import accounts
from broker_stub.db.models import AuditEvent, DesktopSession, Machine, MachineState, Role, User
from broker_stub.domain.admin import Admin

from .conftest import Broker

ADMIN = "root"
ADMIN_PASSWORD = "root-Secret-0"
API = "/api/v1/admin"


def admin_headers(broker: Broker, name: str = ADMIN) -> dict[str, str]:
    """Authorization headers of an admin, made on first use."""
    with broker.session() as db:
        if db.scalar(select(User.id).where(User.username == name)) is None:
            accounts.create_user(db, Admin.cli("tests"), name, ADMIN_PASSWORD, role=Role.ADMIN)
    reply = broker.client.post(
        "/api/v1/auth/login", json={"username": name, "password": ADMIN_PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def launch(broker: Broker, username: str, pool: str = "engineering") -> str:
    """A session for `username` in `pool`, made through the user API; its id."""
    reply = broker.client.post(f"/api/v1/desktops/{pool}/launch", headers=broker.login(username))
    assert reply.status_code == 200, reply.text
    session_id: str = reply.json()["session_id"]
    return session_id


def make_active(broker: Broker, session_id: str) -> None:
    """Move a launched session on to active, as the launcher's heartbeat would."""
    with broker.session() as db:
        session = db.get_one(DesktopSession, session_id)
        session.state = "active"
        db.execute(
            update(Machine)
            .where(Machine.id == session.machine_id)
            .values(state=MachineState.IN_USE)
        )
        db.commit()


def admin_events(broker: Broker) -> list[dict[str, Any]]:
    """The administrators' audit events, oldest first."""
    with broker.session() as db:
        rows = db.scalars(
            select(AuditEvent).where(AuditEvent.action.like("admin.%")).order_by(AuditEvent.id)
        ).all()
    return [
        {"actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail} for e in rows
    ]
