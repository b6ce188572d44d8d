"""A broker answered in-process through httpx.MockTransport, for what the bundled
broker does not serve yet (RDP and SPICE pools, single sign-on, heartbeats).

It answers the documented routes with the documented shapes (docs/api.md)
and records every request, so tests can check what the launcher asked.
"""

from __future__ import annotations

import json
import threading
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


@dataclass
class FakeBroker:
    """``desktops``: the JSON list; ``connections``: pool id -> the ``connection`` object."""

    desktops: list[dict[str, Any]]
    connections: dict[str, dict[str, Any]]
    users: dict[str, str] = field(default_factory=lambda: {"ann": "ann-password"})
    # Status for heartbeat and disconnect: 204 as documented, or a problem code.
    session_routes: int = 204
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
                Request(request.method, path, body, request.headers.get("authorization", ""))
            )
        if path == "/api/v1/auth/login":
            if self.users.get(body["username"]) != body["password"]:
                return _problem(401, "invalid_credentials", "Wrong username or password.")
            return httpx.Response(
                200,
                json={
                    "token": "fake-token",
                    "expires_at": "2030-01-01T00:00:00+00:00",
                    "user": {"username": body["username"], "display_name": "Ann"},
                },
            )
        if request.headers.get("authorization") != "Bearer fake-token":
            return _problem(401, "invalid_token", "Sign in again.")
        if path == "/api/v1/auth/logout":
            return httpx.Response(204)
        if path == "/api/v1/desktops":
            return httpx.Response(200, json={"desktops": self.desktops})
        parts = path.split("/")
        if path.startswith("/api/v1/desktops/") and parts[-1] == "launch":
            pool = parts[-2]
            return httpx.Response(
                200, json={"session_id": f"s-{pool}", "connection": self.connections[pool]}
            )
        if path.startswith("/api/v1/sessions/"):
            action = parts[-1]
            if action == "logoff":
                return httpx.Response(204)
            if action in ("heartbeat", "disconnect"):
                if self.session_routes == 204:
                    return httpx.Response(204)
                return _problem(self.session_routes, "not_found", "No such route.")
        return _problem(404, "not_found", "No such route.")


def _problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": f"urn:rubicon:problem:{code}",
            "status": status,
            "code": code,
            "detail": detail,
        },
        headers={"Content-Type": "application/problem+json"},
    )


def desktop(pool: str, *protocols: str, name: str | None = None) -> dict[str, Any]:
    """A desktop list entry offering ``protocols`` (the first is the default)."""
    return {
        "id": pool,
        "name": name or pool.title(),
        "protocols": list(protocols),
        "default_protocol": protocols[0],
        "state": "available",
        "session": None,
    }
