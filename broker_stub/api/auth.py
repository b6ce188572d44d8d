"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Response

from broker_stub import log
from broker_stub.api import problems
from broker_stub.api.deps import BearerToken, ClientAddress, CurrentUser, DbSession, Settings
from broker_stub.api.schemas import LoginRequest, LoginResponse, UserOut
from broker_stub.auth import tokens
from broker_stub.auth.users import authenticate
from broker_stub.domain import audit

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", responses=problems.responses(401, 422))
def login(
    body: LoginRequest, db: DbSession, settings: Settings, address: ClientAddress
) -> LoginResponse:
    """Trade a username and password for a bearer token."""
    user = authenticate(db, body.username, body.password, address=address)
    token, expires_at = tokens.issue(db, user, settings.token_ttl)
    return LoginResponse(
        token=token,
        expires_at=expires_at,
        user=UserOut(username=user.username, display_name=user.display_name),
    )


@router.post("/logout", status_code=204, responses=problems.responses(401))
def logout(
    db: DbSession, user: CurrentUser, token: BearerToken, address: ClientAddress
) -> Response:
    """Revoke the token this request carries."""
    audit.record(
        db,
        actor=user.username,
        action=audit.SIGN_OUT,
        target=f"user:{user.username}",
        address=address,
    )
    tokens.revoke(db, token)
    log.auth.info("sign-out: %r", user.username)
    return Response(status_code=204)
