"""Liveness for load balancers and monitoring."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from broker_stub.api import problems
from broker_stub.api.deps import DbSession
from broker_stub.api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses=problems.responses(503))
def healthz(db: DbSession) -> Health:
    """OK when the database answers."""
    db.execute(text("SELECT 1"))
    return Health(status="ok")
