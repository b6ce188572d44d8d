"""What the launcher tells the broker about a session, and what the user asks of it.

Every route acts on the caller's own sessions only: another user's session
answers 404 session_not_found, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from broker_stub.api import problems
from broker_stub.api.deps import (
    ClientAddress,
    CurrentUser,
    DbSession,
    MachineBackends,
    NodeUpkeep,
    Now,
    SignedIn,
)
from broker_stub.db.models import User
from broker_stub.domain import sessions

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=64, description="From the launch.")]


@router.post(
    "/{session_id}/heartbeat", status_code=204, responses=problems.responses(401, 404, 409, 422)
)
async def heartbeat(session_id: SessionId, call: SignedIn, now: Now) -> Response:
    """The desktop client runs. Send every 60 s; the first one makes a launch active."""
    await call.run(lambda user: sessions.heartbeat(call.db, user, session_id, now))
    return Response(status_code=204)


@router.post(
    "/{session_id}/disconnect", status_code=204, responses=problems.responses(401, 404, 409, 422)
)
async def disconnect(
    session_id: SessionId, call: SignedIn, now: Now, address: ClientAddress
) -> Response:
    """The client closed; the machine stays the user's until the disconnect timeout."""
    await call.run(
        lambda user: sessions.disconnect(call.db, user, session_id, now, address=address)
    )
    return Response(status_code=204)


@router.post("/{session_id}/logoff", status_code=204, responses=problems.responses(401, 404, 422))
async def logoff(
    session_id: SessionId, call: SignedIn, now: Now, address: ClientAddress, upkeep: NodeUpkeep
) -> Response:
    """End the session; a floating pool's machine is recycled for the next user."""

    def end(user: User) -> None:
        machine_id = sessions.logoff(call.db, user, session_id, now, address=address)
        if machine_id is not None:
            upkeep.recycle(call.db, machine_id)

    await call.run(end)
    return Response(status_code=204)


@router.post(
    "/{session_id}/reset",
    status_code=204,
    responses=problems.responses(401, 403, 404, 409, 422, 502, 503),
)
def reset(
    session_id: SessionId,
    db: DbSession,
    user: CurrentUser,
    now: Now,
    address: ClientAddress,
    backends: MachineBackends,
) -> Response:
    """Hard-reset the session's machine, if the pool allows it."""
    sessions.machine_action(db, backends, user, session_id, "reset", now, address=address)
    return Response(status_code=204)


@router.post(
    "/{session_id}/restart",
    status_code=204,
    responses=problems.responses(401, 403, 404, 409, 422, 502, 503),
)
def restart(
    session_id: SessionId,
    db: DbSession,
    user: CurrentUser,
    now: Now,
    address: ClientAddress,
    backends: MachineBackends,
) -> Response:
    """Reboot the session's machine, if the pool allows it."""
    sessions.machine_action(db, backends, user, session_id, "restart", now, address=address)
    return Response(status_code=204)
