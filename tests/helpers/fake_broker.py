"""A broker answered in-process through httpx.MockTransport, for what the bundled
broker does not serve, or tests cannot set up on it quickly (RDP and SPICE pools,
single sign-on, a machine that powers on, reset and restart flags, a slow broker).

It answers the documented routes with the documented shapes (docs/api.md)
and records every request, so tests can check what the launcher asked:

- ``otp``: username -> the one code it takes; without it the login answers
  ``otp_required``, with another ``invalid_otp``;
- ``refuse_login``: (status, code, Retry-After) every login gets, e.g.
  ``(429, "account_locked", 300)``;
- ``starting``: pool -> how many launches answer 202 before the 200;
- ``delay``: seconds every answer waits (a slow broker; the wait happens on
  the launcher's worker thread, never its GUI thread).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from launcher.core.broker import BrokerClient


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str
    idempotency_key: str | None = None


@dataclass
class FakeBroker:
    """``desktops``: the JSON list; ``connections``: pool id -> the ``connection`` object."""

    desktops: list[dict[str, Any]]
    connections: dict[str, dict[str, Any]]
    users: dict[str, str] = field(default_factory=lambda: {"ann": "ann-password"})
    # Status for heartbeat and disconnect: 204 as documented, or a problem code.
    session_routes: int = 204
    otp: dict[str, str] = field(default_factory=dict)
    refuse_login: tuple[int, str, int | None] | None = None
    starting: dict[str, int] = field(default_factory=dict)
    retry_after: int = 1
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, url: str = "https://broker.test") -> BrokerClient:
        return BrokerClient(url, transport=httpx.MockTransport(self._handle))

    def paths(self, method: str = "POST") -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if r.method == method]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        path = request.url.path
        with self._lock:
            self.requests.append(
                Request(
                    request.method,
                    path,
                    body,
                    request.headers.get("authorization", ""),
                    request.headers.get("idempotency-key"),
                )
            )
        if self.delay:
            time.sleep(self.delay)
        if path == "/api/v1/auth/login":
            return self._login(body)
        if request.headers.get("authorization") != "Bearer fake-token":
            return _problem(401, "invalid_token", "Sign in again.")
        if path == "/api/v1/auth/logout":
            return httpx.Response(204)
        if path == "/api/v1/desktops":
            return httpx.Response(200, json={"desktops": self.desktops})
        parts = path.split("/")
        if path.startswith("/api/v1/desktops/") and parts[-1] == "launch":
            pool = parts[-2]
            with self._lock:
                pending = self.starting.get(pool, 0)
                if pending:
                    self.starting[pool] = pending - 1
            if pending:
                return httpx.Response(
                    202,
                    json={
                        "status": "starting",
                        "session_id": f"s-{pool}",
                        "retry_after": self.retry_after,
                        "detail": f"{pool} is starting. It will open as soon as it is ready.",
                    },
                    headers={"Retry-After": str(self.retry_after)},
                )
            return httpx.Response(
                200, json={"session_id": f"s-{pool}", "connection": self.connections[pool]}
            )
        if path.startswith("/api/v1/sessions/"):
            action = parts[-1]
            if action in ("logoff", "reset", "restart"):
                return httpx.Response(204)
            if action in ("heartbeat", "disconnect"):
                if self.session_routes == 204:
                    return httpx.Response(204)
                return _problem(self.session_routes, "not_found", "No such route.")
        return _problem(404, "not_found", "No such route.")

    def _login(self, body: dict[str, Any]) -> httpx.Response:
        user = body["username"]
        if self.refuse_login is not None:
            status, code, retry = self.refuse_login
            return _problem(status, code, PROBLEMS[code], retry_after=retry)
        if self.users.get(user) != body["password"]:
            return _problem(401, "invalid_credentials", PROBLEMS["invalid_credentials"])
        if user in self.otp:
            if not body.get("otp"):
                return _problem(401, "otp_required", PROBLEMS["otp_required"])
            if body["otp"] != self.otp[user]:
                return _problem(401, "invalid_otp", PROBLEMS["invalid_otp"])
        return httpx.Response(
            200,
            json={
                "token": "fake-token",
                "expires_at": "2030-01-01T00:00:00+00:00",
                "user": {"username": user, "display_name": "Ann", "role": "user"},
            },
        )


# The broker's own words for these problems (broker_stub/domain/errors.py).
PROBLEMS = {
    "invalid_credentials": "The username or password is wrong. Check both and try again.",
    "otp_required": "This account needs a one-time code from your authenticator app. "
    "Enter the code it shows now and sign in again.",
    "invalid_otp": "The one-time code is wrong, too old, or was already used. "
    "Wait for the next code in your authenticator app and try again.",
    "account_locked": "There were too many failed sign-ins to this account, so it is locked "
    "for now. Try again in 5 minutes; if you forgot your password, ask your administrator.",
    "too_many_attempts": "There were too many failed sign-ins from your computer's network "
    "address. Try again in 5 minutes.",
    "directory_unavailable": "The broker cannot reach the user directory (LDAP) to check "
    "your password. Try again in a minute; if it persists, tell your administrator.",
}


def _problem(
    status: int, code: str, detail: str, *, retry_after: int | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return httpx.Response(
        status,
        json={
            "type": f"urn:rubicon:problem:{code}",
            "status": status,
            "code": code,
            "detail": detail,
        },
        headers=headers,
    )


def desktop(
    pool: str,
    *protocols: str,
    name: str | None = None,
    state: str = "available",
    session: str | None = None,
    **flags: bool,
) -> dict[str, Any]:
    """A desktop list entry offering ``protocols`` (the first is the default).

    ``session``: the id of the user's session there; ``flags``: allow_reset, allow_restart.
    """
    return {
        "id": pool,
        "name": name or pool.title(),
        "protocols": list(protocols),
        "default_protocol": protocols[0],
        "state": state,
        "session": (
            {"id": session, "state": "active", "machine": f"{pool}-1", "started_at": "2030-01-01"}
            if session
            else None
        ),
        **flags,
    }
