"""The user's desktops: list them, launch one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body

from broker_stub.api import problems
from broker_stub.api.deps import ClientAddress, CurrentUser, DbSession
from broker_stub.api.schemas import (
    ConnectionOut,
    DesktopList,
    DesktopOut,
    LaunchRequest,
    LaunchResponse,
    SessionOut,
)
from broker_stub.domain import allocation

router = APIRouter(prefix="/api/v1/desktops", tags=["desktops"])


@router.get("", responses=problems.responses(401))
def list_desktops(db: DbSession, user: CurrentUser) -> DesktopList:
    """The pools this user may use, sorted by name, with the user's session if any."""
    out = []
    for view in allocation.desktops(db, user):
        session = None
        state: Literal["available", "connected", "unavailable"]
        if view.session is not None and view.machine is not None:
            state = "connected"
            session = SessionOut(
                id=view.session.id,
                state="active",
                machine=view.machine.name,
                started_at=view.session.started_at,
            )
        else:
            state = "available" if view.free else "unavailable"
        out.append(
            DesktopOut(
                id=view.pool.id,
                name=view.pool.name,
                protocols=view.pool.protocols,
                default_protocol=view.pool.protocol,
                state=state,
                session=session,
            )
        )
    return DesktopList(desktops=out)


@router.post("/{pool}/launch", responses=problems.responses(400, 401, 403, 404, 409, 422))
def launch(
    pool: str,
    db: DbSession,
    user: CurrentUser,
    address: ClientAddress,
    body: Annotated[LaunchRequest | None, Body()] = None,
) -> LaunchResponse:
    """Reconnect to the user's session in this pool, or claim a free machine."""
    result = allocation.launch(db, user, pool, body.protocol if body else None, address=address)
    machine = result.machine
    return LaunchResponse(
        session_id=result.session.id,
        connection=ConnectionOut(
            protocol=result.session.protocol,
            host=machine.host,
            port=machine.port,
            tls=False,
            username=None,
            password=machine.password,
            expires_at=None,
        ),
    )
