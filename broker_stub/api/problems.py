"""Every error leaves the broker as an RFC 9457 problem document.

Domain errors carry their own code and sentence; the handlers below add the
problems HTTP itself raises (unknown route, wrong method, bad body, database
down, bugs).
"""

from __future__ import annotations

import http
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from broker_stub import log
from broker_stub.api.schemas import FieldError, InvalidCursorProblem, Problem, ValidationProblem
from broker_stub.domain.errors import BrokerError

MEDIA_TYPE = "application/problem+json"

_HTTP_PROBLEMS: dict[int, tuple[str, str, str]] = {
    404: ("not_found", "Not found", "There is nothing at this address. Check the broker URL."),
    405: (
        "method_not_allowed",
        "Method not allowed",
        "This address does not accept that method. Check the API documentation.",
    ),
}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=f"urn:rubicon:problem:{code}", title=title, status=status, detail=detail, code=code
    ).model_dump()
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _broker_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BrokerError)
    headers = dict(exc.headers)
    if exc.status == 401:
        # HTTP wants a challenge with every 401.
        headers["WWW-Authenticate"] = "Bearer"
    extra: dict[str, Any] = {}
    if exc.status == 422:
        # Every 422 lists where the request is wrong (ValidationProblem's `errors`).
        fault: Mapping[str, Any] | None = getattr(exc, "fault", None)
        extra["errors"] = [FieldError.model_validate(fault).model_dump()] if fault else []
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers or None, **extra)


# FastAPI's words when a body is not even text (not UTF-8): the same fault as
# malformed JSON to the client, so the same invalid_request answer.
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        fault = {"loc": ("body",), "msg": "The body is not UTF-8 JSON", "type": "json_invalid"}
        return await _validation_error(request, RequestValidationError([fault]))
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    phrase = http.HTTPStatus(exc.status_code).phrase
    code, title, detail = _HTTP_PROBLEMS.get(
        exc.status_code,
        (phrase.lower().replace(" ", "_").replace("-", "_"), phrase, f"{phrase}."),
    )
    return problem_response(exc.status_code, code, title, detail, headers)


# The methods a 405 may name; the broker's routes use no others.
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route at this path takes. Starlette's 405 names only
    those of the first route that matched the path (GET /users, not POST /users).
    Asked of the router per method: routers nest, so no flat list of routes."""
    return sorted(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid_request(exc.errors())


def invalid_request(faults: Sequence[Mapping[str, Any]]) -> JSONResponse:
    """422 invalid_request, listing where the request is wrong (pydantic's errors)."""
    # Only location, message and type: the offending input may be a password.
    errors = [
        FieldError(
            loc=list(err.get("loc", ())), msg=str(err.get("msg", "")), type=str(err.get("type", ""))
        )
        for err in faults
    ]
    first = errors[0] if errors else None
    where = f" ({'.'.join(str(p) for p in first.loc)}: {first.msg})" if first else ""
    detail = f"The request is not in the form the broker expects{where}. Update the launcher."
    return problem_response(
        422,
        "invalid_request",
        "Invalid request",
        detail,
        errors=[e.model_dump() for e in errors],
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.db.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503,
        "database_unavailable",
        "Broker unavailable",
        "The broker cannot reach its database right now. Try again in a minute; "
        "if it persists, tell your administrator.",
        {"Retry-After": "30"},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.api.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        "internal_error",
        "Internal error",
        "Something went wrong inside the broker. Try again; if it happens again, "
        "tell your administrator.",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(BrokerError, _broker_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


def responses(
    *statuses: int, models: Mapping[int, type[Problem]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem statuses a route can answer with;
    `models` names a narrower problem model (its codes, its docstring) for a status."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        phrase = http.HTTPStatus(status).phrase
        model = (models or {}).get(status)
        if model is None:
            out[status] = {
                "model": ValidationProblem if status == 422 else Problem,
                "description": phrase,
            }
        else:
            said = " ".join((inspect.getdoc(model) or "").split())
            out[status] = {"model": model, "description": f"{phrase}. {said}".strip()}
    return out


# What a paged admin list (limit, cursor) answers with.
PAGED = responses(400, 401, 403, 422, models={400: InvalidCursorProblem})


def fix_openapi_media_types(schema: dict[str, Any]) -> None:
    """Error responses are problem+json, not application/json, in the schema too."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[:1] in "45" and "application/json" in content:
                    content[MEDIA_TYPE] = content.pop("application/json")
