"""Typed dependencies of the admin routers: the acting admin and paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from broker_stub.api.deps import AdminUser, ClientAddress
from broker_stub.clock import Clock, utcnow
from broker_stub.domain import paging
from broker_stub.domain.admin import Admin
from broker_stub.domain.upkeep import Upkeep

# Set on each admin router itself (not when including them), so that the route
# a request matched carries its full path template for logs and metrics.
PREFIX = "/api/v1/admin"


async def get_admin(user: AdminUser, address: ClientAddress, request: Request) -> Admin:
    clock: Clock = getattr(request.app.state, "clock", utcnow)
    return Admin(name=user.username, address=address, clock=clock)


AdminActor = Annotated[Admin, Depends(get_admin)]

Limit = Annotated[
    int,
    Query(ge=1, le=paging.MAX_LIMIT, description="How many items to return at most."),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=paging.MAX_CURSOR_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` from the previous page; leave out for the first page.",
    ),
]


async def get_upkeep(request: Request) -> Upkeep | None:
    """The node's upkeep, for recycling a machine at once; None where there is none."""
    upkeep: Upkeep | None = getattr(request.app.state, "upkeep", None)
    return upkeep


NodeUpkeep = Annotated[Upkeep | None, Depends(get_upkeep)]
