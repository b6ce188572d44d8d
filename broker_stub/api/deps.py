"""Typed dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from broker_stub.auth import tokens
from broker_stub.db.models import User
from broker_stub.domain.errors import InvalidToken
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


Settings = Annotated[BrokerSettings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]
ClientAddress = Annotated[str | None, Depends(get_client_address)]


def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise InvalidToken()
    return credentials.credentials


BearerToken = Annotated[str, Depends(get_bearer_token)]


def get_current_user(db: DbSession, token: BearerToken) -> User:
    user = tokens.lookup(db, token)
    if user is None:
        raise InvalidToken()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
