"""Sign in and sign out."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from broker_stub import log
from broker_stub.api import problems
from broker_stub.api.deps import (
    BearerToken,
    ClientAddress,
    CurrentUser,
    DbSession,
    Now,
    Settings,
    UserDirectory,
)
from broker_stub.api.schemas import LoginRequest, LoginResponse, UserOut
from broker_stub.auth import tokens
from broker_stub.auth.signin import sign_in
from broker_stub.db.models import Role, User
from broker_stub.domain import audit

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", responses=problems.responses(401, 422, 429, 503))
def login(
    body: LoginRequest,
    db: DbSession,
    settings: Settings,
    address: ClientAddress,
    now: Now,
    directory: UserDirectory,
) -> LoginResponse:
    """Trade a username and password (and a TOTP code, if enrolled) for a bearer token.

    401 `otp_required` asks for the code; 429 `account_locked` and
    `too_many_attempts` carry Retry-After; 503 `directory_unavailable` when
    LDAP cannot be reached.
    """
    signed_in = sign_in(
        db,
        settings,
        username=body.username,
        password=body.password,
        otp=body.otp,
        address=address,
        now=now,
        directory=directory,
    )
    user = signed_in.user
    return LoginResponse(
        token=signed_in.token,
        expires_at=signed_in.expires_at,
        user=UserOut(username=user.username, display_name=user.display_name, role=_role(user)),
    )


def _role(user: User) -> Literal["user", "admin"]:
    return "admin" if user.role == Role.ADMIN else "user"


@router.post("/logout", status_code=204, responses=problems.responses(401))
def logout(
    db: DbSession, user: CurrentUser, token: BearerToken, address: ClientAddress, now: Now
) -> Response:
    """Revoke the token this request carries."""
    audit.record(
        db,
        actor=user.username,
        action=audit.SIGN_OUT,
        target=f"user:{user.username}",
        address=address,
        at=now,
    )
    tokens.revoke(db, token, now)
    log.auth.info("sign-out: %r", user.username)
    return Response(status_code=204)
