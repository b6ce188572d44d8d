"""Liveness and metrics, for load balancers and monitoring."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text

from broker_stub.api import problems
from broker_stub.api.deps import DbSession, Settings
from broker_stub.api.schemas import Health
from broker_stub.domain.errors import InvalidToken
from broker_stub.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["operations"])

_scrape_token = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description="RUBICON_BROKER_METRICS_TOKEN, when the broker has one.",
)


@router.get("/healthz", responses=problems.responses(503))
def healthz(db: DbSession) -> Health:
    """OK when the database answers; 503 database_unavailable when it does not."""
    db.execute(text("SELECT 1"))
    return Health(status="ok")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format, version 0.0.4.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems.responses(401),
    },
)
def metrics(
    request: Request,
    settings: Settings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scrape_token)],
) -> Response:
    """Counters, the launch-time histogram, and sessions and machines by state."""
    wanted = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if wanted:
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), wanted.encode()):
            raise InvalidToken()
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)
