"""The audit log: one row per thing an admin may later ask about.

`record` adds the row to the caller's transaction, so the event is stored
exactly when what it describes is. Nothing secret goes in: no passwords,
tokens or console passwords, in `target` or in `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from broker_stub.clock import utcnow
from broker_stub.db.models import AuditEvent

SIGN_IN: Final = "auth.sign_in"
SIGN_IN_FAILED: Final = "auth.sign_in_failed"
SIGN_OUT: Final = "auth.sign_out"
LAUNCH: Final = "session.launch"
LOGOFF: Final = "session.logoff"


def record(
    db: Session,
    *,
    actor: str | None,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    address: str | None,
) -> AuditEvent:
    """Add an event to `db`'s transaction; the caller commits it."""
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        target=target,
        detail=dict(detail or {}),
        address=address,
    )
    db.add(event)
    return event
