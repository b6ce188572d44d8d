"""Reading the audit log: newest first, filtered, a page at a time.

Events are written by broker_stub.domain.audit.record; this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from broker_stub.db.models import AuditEvent
from broker_stub.domain import paging

CURSOR = "audit"


@dataclass(frozen=True)
class Query:
    """Filters; each one that is set must match. `until` is exclusive.

    `action` matches exactly, or, ending in "*", by prefix: "admin.*" finds
    every administrator's change.
    """

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str
    detail: dict[str, Any]
    address: str | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Query) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.at < query.until)
    if query.actor is not None:
        stmt = stmt.where(AuditEvent.actor == query.actor)
    if query.action is not None:
        if query.action.endswith("*"):
            prefix = _escape_like(query.action[:-1])
            stmt = stmt.where(AuditEvent.action.like(f"{prefix}%", escape="\\"))
        else:
            stmt = stmt.where(AuditEvent.action == query.action)
    if query.target is not None:
        stmt = stmt.where(AuditEvent.target == query.target)
    return stmt


def events(
    db: Session,
    query: Query,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> paging.Page[Event]:
    """Matching events, newest first (by id: the order they were written)."""
    stmt = _filtered(query).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if cursor is not None:
        (before,) = paging.decode(CURSOR, cursor, (int,))
        stmt = stmt.where(AuditEvent.id < before)
    rows = [
        Event(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            detail=dict(e.detail),
            address=e.address,
        )
        for e in db.scalars(stmt)
    ]
    return paging.cut(rows, limit, CURSOR, lambda e: (e.id,))
