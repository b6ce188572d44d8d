"""One log line and the metrics for every HTTP request, and its X-Request-ID.

A plain ASGI middleware rather than a router wrapper, so it sees every answer,
problem documents included, without touching the routes. It logs the route
template (`/api/v1/admin/users/{username}`), never the raw URL: query strings
and path values stay out of the log. Sign-ins and launches are recognised by
their templates and counted with the problem `code` of a refusal, which it
reads from the problem document on the way out.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker_stub import log
from broker_stub.metrics import Metrics

HEADER: Final = "X-Request-ID"
LOGIN_ROUTE: Final = "/api/v1/auth/login"
LAUNCH_ROUTE: Final = "/api/v1/desktops/{pool}/launch"
# A client's own request id is kept if it looks like one; anything else could
# smuggle text into the log.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Problem documents are small; more than this is not one worth reading.
_PROBLEM_MAX = 8192
# A refusal of these kinds happened before the pool was looked up, so the
# path's pool value is whatever the client sent: not a label for metrics.
_POOL_UNKNOWN_STATUSES = frozenset({401, 404, 422, 429})


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "problem": None}
        body = bytearray()

        async def send_and_watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
                if headers.get("content-type", "").startswith("application/problem+json"):
                    seen["problem"] = body
            elif (
                message["type"] == "http.response.body"
                and seen["problem"] is not None
                and len(body) < _PROBLEM_MAX
            ):
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            # An exception here becomes a 500 further out; it is still counted.
            elapsed = time.perf_counter() - started
            self._observe(scope, request_id, seen["status"], _code(seen["problem"]), elapsed)

    def _observe(
        self, scope: Scope, request_id: str, status: int, code: str | None, elapsed: float
    ) -> None:
        route = getattr(scope.get("route"), "path", None)
        method = scope["method"]
        self.metrics.requests.labels(method, route or "(unmatched)", str(status)).inc()
        if route == LOGIN_ROUTE and method == "POST":
            ok = 200 <= status < 300
            self.metrics.sign_ins.labels(
                "ok" if ok else "failed", "" if ok else code or str(status)
            ).inc()
        elif route == LAUNCH_ROUTE and method == "POST":
            self._launch(scope, status, code, elapsed)
        log.http.info(
            "%s %s %d %.1fms",
            method,
            route or "(unmatched)",
            status,
            elapsed * 1000,
            extra={
                "fields": {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "request_id": request_id,
                }
            },
        )

    def _launch(self, scope: Scope, status: int, code: str | None, elapsed: float) -> None:
        pool = str(scope.get("path_params", {}).get("pool", ""))
        if status in _POOL_UNKNOWN_STATUSES or status >= 500:
            pool = ""
        if 200 <= status < 300:
            outcome = "starting" if status == 202 else "ok"
            self.metrics.launch_seconds.observe(elapsed)
        else:
            outcome = code or str(status)
        self.metrics.launches.labels(pool, outcome).inc()


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given: str = bytes(value).decode("latin-1")
            if _GOOD_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


def _code(problem: bytearray | None) -> str | None:
    if not problem:
        return None
    try:
        code: object = json.loads(problem).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and len(code) <= 64 else None
