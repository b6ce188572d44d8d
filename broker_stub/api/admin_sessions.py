"""Admin API: sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from broker_stub.api import problems
from broker_stub.api.admin_deps import PREFIX, AdminActor, Cursor, Limit, NodeUpkeep
from broker_stub.api.admin_schemas import (
    AdminSessionOut,
    AdminSessionPage,
    PoolId,
    SessionState,
    Username,
)
from broker_stub.api.deps import DbSession
from broker_stub.db import models
from broker_stub.domain import admin_sessions, paging

router = APIRouter(prefix=PREFIX)

# Session ids are "ses_" and URL-safe base64 (domain/allocation.py new_session_id).
SessionPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _out(info: admin_sessions.SessionInfo) -> AdminSessionOut:
    return AdminSessionOut.model_validate(info, from_attributes=True)


@router.get("/sessions", responses=problems.PAGED)
def list_sessions(
    db: DbSession,
    user: Annotated[Username | None, Query(description="Only this user's.")] = None,
    pool: Annotated[PoolId | None, Query(description="Only this pool's.")] = None,
    state: Annotated[SessionState | None, Query(description="Only sessions in this state.")] = None,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AdminSessionPage:
    """Sessions, newest first, a page at a time."""
    page = admin_sessions.list_sessions(
        db,
        user=user,
        pool=pool,
        state=models.SessionState(state) if state else None,
        limit=limit,
        cursor=cursor,
    )
    return AdminSessionPage(sessions=[_out(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/sessions/{session_id}", responses=problems.responses(401, 403, 404, 422))
def get_session(session_id: SessionPath, db: DbSession) -> AdminSessionOut:
    return _out(admin_sessions.get_session(db, session_id))


@router.post("/sessions/{session_id}/disconnect", responses=problems.responses(401, 403, 404, 422))
def disconnect(session_id: SessionPath, db: DbSession, admin: AdminActor) -> AdminSessionOut:
    """Mark a live session disconnected; the user keeps the machine and may reconnect."""
    return _out(admin_sessions.disconnect(db, admin, session_id))


@router.post("/sessions/{session_id}/logoff", responses=problems.responses(401, 403, 404, 422))
def logoff(
    session_id: SessionPath, db: DbSession, admin: AdminActor, upkeep: NodeUpkeep
) -> AdminSessionOut:
    """End the session and free its machine."""
    return _out(admin_sessions.logoff(db, admin, session_id, upkeep))
