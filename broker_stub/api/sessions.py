"""Actions on a running session."""

from __future__ import annotations

from fastapi import APIRouter, Response

from broker_stub.api import problems
from broker_stub.api.deps import ClientAddress, CurrentUser, DbSession
from broker_stub.domain import allocation

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


@router.post("/{session_id}/logoff", status_code=204, responses=problems.responses(401, 404, 422))
def logoff(session_id: str, db: DbSession, user: CurrentUser, address: ClientAddress) -> Response:
    """End the session and free its machine."""
    allocation.logoff(db, user, session_id, address=address)
    return Response(status_code=204)
