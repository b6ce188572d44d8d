"""Typed dependencies shared by the routers.

Those that only read the request or app state are `async def`: FastAPI runs
a plain `def` dependency on the thread pool, a hand-off to another thread
and back for each one on every request. Those that touch the database stay
plain functions, so a slow query never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from broker_stub.auth import tokens
from broker_stub.auth.directory import Directory
from broker_stub.backends import Backends
from broker_stub.clock import Clock
from broker_stub.db.models import Role, Token, User
from broker_stub.domain.errors import AdminRequired, InvalidToken
from broker_stub.domain.upkeep import Upkeep
from broker_stub.settings import BrokerSettings

T = TypeVar("T")

# auto_error=False: a missing header becomes our own invalid_token problem.
_bearer = HTTPBearer(auto_error=False, description="The token from /api/v1/auth/login.")


async def get_settings(request: Request) -> BrokerSettings:
    settings: BrokerSettings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A database session for the request, closed after it.

    Making one does no I/O, and after a commit closing one does none either,
    so both happen on the event loop; only a session still in a transaction
    (a route that failed half-way) is rolled back on the thread pool.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    db = factory()
    try:
        yield db
    finally:
        if db.in_transaction():
            await run_in_threadpool(db.close)
        else:
            db.close()


async def get_client_address(request: Request) -> str | None:
    """The peer's IP address, for the audit log."""
    # Behind a reverse proxy this is the proxy's address, unless uvicorn trusts
    # its X-Forwarded-For: by default only from this machine (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else None


async def get_now(request: Request) -> datetime:
    """Now, by the app's clock (create_app's `clock`; tests move theirs by hand)."""
    clock: Clock = request.app.state.clock
    return clock()


async def get_directory(request: Request) -> Directory | None:
    """The LDAP directory users may sign in with; None when LDAP is off."""
    directory: Directory | None = request.app.state.directory
    return directory


Settings = Annotated[BrokerSettings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]
ClientAddress = Annotated[str | None, Depends(get_client_address)]
Now = Annotated[datetime, Depends(get_now)]
UserDirectory = Annotated[Directory | None, Depends(get_directory)]


async def get_bearer_token(
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


@dataclass(frozen=True)
class SignedInCall:
    """A route's work for the bearer token's user, run on one worker thread
    together with the token check.

    A route that depends on CurrentUser crosses to the thread pool twice, once
    for the token and once for itself; one that awaits `run` crosses once.
    """

    db: Session
    bearer: str
    settings: BrokerSettings
    now: datetime

    async def run(self, work: Callable[[User], T]) -> T:
        def checked() -> T:
            user, _token = resolve_token(self.db, self.bearer, self.settings, self.now)
            return work(user)

        return await run_in_threadpool(checked)


async def get_signed_in_call(
    db: DbSession, bearer: BearerToken, settings: Settings, now: Now
) -> SignedInCall:
    return SignedInCall(db, bearer, settings, now)


SignedIn = Annotated[SignedInCall, Depends(get_signed_in_call)]


async def get_current_user(resolved: Resolved) -> User:
    return resolved[0]


async def get_current_token(resolved: Resolved) -> Token:
    """The token's row: when it was issued, and whether with a TOTP code (`mfa`)."""
    return resolved[1]


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentToken = Annotated[Token, Depends(get_current_token)]


async def require_admin(user: CurrentUser) -> User:
    """The signed-in user, if an administrator; AdminRequired (403) otherwise."""
    if user.role != Role.ADMIN:
        raise AdminRequired()
    return user


AdminUser = Annotated[User, Depends(require_admin)]


async def get_backends(request: Request) -> Backends:
    """The machine backends of this node, one per pool (broker_stub.backends)."""
    backends: Backends = request.app.state.backends
    return backends


MachineBackends = Annotated[Backends, Depends(get_backends)]


async def get_upkeep(request: Request) -> Upkeep:
    """The node's threads for slow machine work (broker_stub.domain.upkeep)."""
    upkeep: Upkeep = request.app.state.upkeep
    return upkeep


NodeUpkeep = Annotated[Upkeep, Depends(get_upkeep)]
