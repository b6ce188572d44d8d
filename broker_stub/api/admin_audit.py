"""Admin API: the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, AwareDatetime

from broker_stub.api import problems
from broker_stub.api.admin_deps import PREFIX, Cursor, Limit
from broker_stub.api.admin_schemas import AuditEventOut, AuditPage
from broker_stub.api.deps import DbSession
from broker_stub.domain import auditlog, paging
from broker_stub.values import names

router = APIRouter(prefix=PREFIX)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        raise ValueError("is out of range") from None


Time = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _text(description: str) -> Any:
    """A free-text filter: printable and bounded, as the stored values are."""
    return Query(
        min_length=1, max_length=255, pattern=rf"^[^{names.CONTROL}]+$", description=description
    )


@router.get("/audit", responses=problems.PAGED)
def audit_events(
    db: DbSession,
    since: Annotated[
        Time | None, Query(description="From this time on (ISO 8601 with a zone offset).")
    ] = None,
    until: Annotated[Time | None, Query(description="Before this time (exclusive).")] = None,
    actor: Annotated[str | None, _text("Who did it, e.g. `alice`.")] = None,
    action: Annotated[
        str | None, _text("What was done, e.g. `session.launch`; `admin.*` matches a prefix.")
    ] = None,
    target: Annotated[str | None, _text("What it was done to, e.g. `user:alice`.")] = None,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AuditPage:
    """Audit events, newest first, a page at a time."""
    if since is not None and until is not None and until <= since:
        raise RequestValidationError(
            [{"loc": ("query", "until"), "msg": "must be later than since", "type": "value_error"}]
        )
    query = auditlog.Query(since=since, until=until, actor=actor, action=action, target=target)
    page = auditlog.events(db, query, limit=limit, cursor=cursor)
    return AuditPage(
        events=[AuditEventOut.model_validate(e, from_attributes=True) for e in page.items],
        next_cursor=page.next_cursor,
    )
