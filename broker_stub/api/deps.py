"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from broker_stub.auth import tokens
from broker_stub.auth.directory import Directory
from broker_stub.backends import Backends
from broker_stub.clock import Clock
from broker_stub.db.models import Role, Token, User
from broker_stub.domain.errors import AdminRequired, InvalidToken
from broker_stub.settings import BrokerSettings

# auto_error=False: a missing header becomes our own invalid_token problem.
_bearer = HTTPBearer(auto_error=False, description="The token from /api/v1/auth/login.")


def get_settings(request: Request) -> BrokerSettings:
    settings: BrokerSettings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as db:
        yield db


def get_client_address(request: Request) -> str | None:
    """The peer's IP address, for the audit log."""
    # Behind a reverse proxy this is the proxy's address, unless uvicorn trusts
    # its X-Forwarded-For: by default only from this machine (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else None


def get_now(request: Request) -> datetime:
    """Now, by the app's clock (create_app's `clock`; tests move theirs by hand)."""
    clock: Clock = request.app.state.clock
    return clock()


def get_directory(request: Request) -> Directory | None:
    """The LDAP directory users may sign in with; None when LDAP is off."""
    directory: Directory | None = request.app.state.directory
    return directory


Settings = Annotated[BrokerSettings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]
ClientAddress = Annotated[str | None, Depends(get_client_address)]
Now = Annotated[datetime, Depends(get_now)]
UserDirectory = Annotated[Directory | None, Depends(get_directory)]


def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise InvalidToken()
    return credentials.credentials


BearerToken = Annotated[str, Depends(get_bearer_token)]


def resolve_token(
    db: DbSession, token: BearerToken, settings: Settings, now: Now
) -> tuple[User, Token]:
    """The user and token row of the request's bearer token (once per request)."""
    found = tokens.resolve(db, token, now=now, idle_timeout=settings.token_idle_timeout)
    if found is None:
        raise InvalidToken()
    return found


Resolved = Annotated[tuple[User, Token], Depends(resolve_token)]


def get_current_user(resolved: Resolved) -> User:
    return resolved[0]


def get_current_token(resolved: Resolved) -> Token:
    """The token's row: when it was issued, and whether with a TOTP code (`mfa`)."""
    return resolved[1]


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentToken = Annotated[Token, Depends(get_current_token)]


def require_admin(user: CurrentUser) -> User:
    """The signed-in user, if an administrator; AdminRequired (403) otherwise."""
    if user.role != Role.ADMIN:
        raise AdminRequired()
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def get_backends(request: Request) -> Backends:
    """The machine backends of this node, one per pool (broker_stub.backends)."""
    backends: Backends = request.app.state.backends
    return backends


MachineBackends = Annotated[Backends, Depends(get_backends)]
