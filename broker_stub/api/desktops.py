"""The user's desktops: list them, launch one."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Body, Header, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from broker_stub.api import problems
from broker_stub.api.deps import (
    BearerToken,
    ClientAddress,
    DbSession,
    MachineBackends,
    Now,
    Settings,
    SignedIn,
)
from broker_stub.api.schemas import (
    ConnectionOut,
    DesktopList,
    DesktopOut,
    FieldError,
    LaunchRequest,
    LaunchResponse,
    LaunchStarting,
    SessionOut,
)
from broker_stub.auth import tokens
from broker_stub.auth.totp import enforce_pool_totp
from broker_stub.backends import Backends
from broker_stub.db.models import User
from broker_stub.domain import allocation, idempotency
from broker_stub.domain.allocation import Launch
from broker_stub.domain.connect import Starting, connect
from broker_stub.domain.errors import (
    IdempotencyKeyReused,
    InvalidToken,
    MachineFailed,
    NoMachineAvailable,
)

router = APIRouter(prefix="/api/v1/desktops", tags=["desktops"])
# Machines one launch tries when the ones it gets turn out dead.
MACHINES_TRIED = 3

DesktopState = Literal[
    "available", "connected", "disconnected", "starting", "unavailable", "maintenance"
]
SessionState = Literal["pending", "active", "disconnected"]
# Printable ASCII without spaces, as UUIDs and other random keys are.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A new random value (a UUID) per launch; send the same one to retry it.",
    ),
]


@router.get("", responses=problems.responses(401))
async def list_desktops(call: SignedIn) -> DesktopList:
    """The pools this user may use, sorted by name, with the user's session if any."""

    def views(user: User) -> list[allocation.DesktopView]:
        found = allocation.desktops(call.db, user)
        call.db.commit()  # ends the read here, so closing the session needs no thread
        return found

    out = []
    for view in await call.run(views):
        session = None
        if view.session is not None and view.machine is not None:
            session = SessionOut(
                id=view.session.id,
                state=cast(SessionState, view.session.state),
                machine=view.machine.name,
                started_at=view.session.started_at,
            )
        out.append(
            DesktopOut(
                id=view.pool.id,
                name=view.pool.name,
                protocols=view.pool.protocols,
                default_protocol=view.pool.default_protocol,
                state=cast(DesktopState, view.state),
                session=session,
            )
        )
    return DesktopList(desktops=out)


@router.post(
    "/{pool}/launch",
    response_model=LaunchResponse,
    responses={
        202: {"model": LaunchStarting, "description": "The machine is starting; ask again."},
        **problems.responses(400, 401, 403, 404, 409, 422, 502, 503, 504, 507),
    },
)
async def launch(
    pool: Annotated[str, Path(max_length=64)],
    db: DbSession,
    bearer: BearerToken,
    settings: Settings,
    address: ClientAddress,
    backends: MachineBackends,
    now: Now,
    idempotency_key: IdempotencyKey = None,
    body: Annotated[LaunchRequest | None, Body()] = None,
) -> JSONResponse:
    """Reconnect to the user's session in this pool, or claim a free machine.

    202 while the machine powers on: launch again after Retry-After seconds
    with the same Idempotency-Key. A retry with the key of a launch that
    succeeded gets the connection to that launch's session; 409 session_ended
    once that session has ended.
    """
    # All of it on one worker thread, the token check included: a launch
    # crosses from the event loop and back once.
    return await run_in_threadpool(
        _launch,
        db,
        bearer,
        pool,
        body.protocol if body else None,
        idle_timeout=settings.token_idle_timeout,
        address=address,
        backends=backends,
        now=now,
        key=idempotency_key,
    )


def _launch(
    db: Session,
    bearer: str,
    pool: str,
    protocol: str | None,
    *,
    idle_timeout: timedelta | None,
    address: str | None,
    backends: Backends,
    now: datetime,
    key: str | None,
) -> JSONResponse:
    found = tokens.read(db, bearer, now=now, idle_timeout=idle_timeout)
    if found is None:
        raise InvalidToken()
    user, token = found
    target = allocation.pool_for(db, user, pool)
    entitled = target is not None and target.entitled
    # 403 otp_required_for_pool
    enforce_pool_totp(user, token, target.pool if target else None, entitled=entitled)
    if key is not None:
        request_fingerprint = idempotency.fingerprint(protocol=protocol)
        try:
            earlier = idempotency.claim(
                db, key, user, pool, now, request_fingerprint=request_fingerprint
            )
        except IdempotencyKeyReused as exc:
            return _key_reused(exc)
        if earlier is not None:
            return _answer(db, backends, user, idempotency.replay(db, user, earlier), now)
    failed: MachineFailed | None = None
    for attempt in range(MACHINES_TRIED):
        try:
            result = allocation.launch(
                db,
                user,
                pool,
                protocol,
                address=address,
                now=now,
                # Read again after a dead machine: the first read's transaction has ended.
                target=target if attempt == 0 else None,
            )
        except NoMachineAvailable:
            if failed is None:
                raise
            raise failed from None  # the machines left were dead: say that, not "all in use"
        try:
            return _answer(db, backends, user, result, now, key=key)
        except MachineFailed as exc:
            # Its session never started and the pool is floating: take the next machine.
            if not exc.another_may_work:
                raise
            failed = exc
    assert failed is not None
    raise failed


def _answer(
    db: Session,
    backends: Backends,
    user: User,
    result: Launch,
    now: datetime,
    *,
    key: str | None = None,
) -> JSONResponse:
    """The connection to the launch's session (202 while its machine starts),
    remembered under `key` once it is there."""
    outcome = connect(db, backends, user, result, now)
    if isinstance(outcome, Starting):
        starting = LaunchStarting(
            status="starting",
            session_id=result.session.id,
            retry_after=outcome.retry_after,
            detail=f'"{result.pool.name}" is starting. It will open as soon as it is ready.',
        )
        return JSONResponse(
            starting.model_dump(mode="json"),
            status_code=202,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if key is not None:
        earlier = idempotency.remember(db, key, result.session.id)
        if earlier is not None and earlier != result.session.id:
            # A concurrent request with the key finished first: its session is the answer.
            return _answer(db, backends, user, idempotency.replay(db, user, earlier), now)
    content = LaunchResponse(
        session_id=result.session.id, connection=ConnectionOut(**asdict(outcome))
    ).model_dump(mode="json")
    return JSONResponse(content)


def _key_reused(exc: IdempotencyKeyReused) -> JSONResponse:
    # A 422 like invalid_request, with `errors` naming the header, as the
    # route's documented 422 schema (ValidationProblem) says.
    fault = FieldError(loc=list(exc.LOC), msg=exc.MSG, type=exc.TYPE)
    return problems.problem_response(
        exc.status, exc.code, exc.title, exc.detail, errors=[fault.model_dump()]
    )
