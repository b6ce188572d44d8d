"""Text in the URL is checked before any route sees it.

A path or query with a control character (a NUL as %00, say) gets 422
invalid_request, whatever the route, or if there is none: no route has a
use for one, and PostgreSQL cannot even compare a value holding a NUL
(psycopg raises, which was a 500). Bodies are checked by their models
(names.TEXT_PATTERN), and sign-in by auth.signin (a 401, as any bad password).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from broker_stub.api import problems
from broker_stub.values import names

_MSG = "String should not contain control characters"


class TextGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            faults = _faults(scope)
            if faults:
                await problems.invalid_request(faults)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _faults(scope: Scope) -> list[dict[str, object]]:
    faults: list[dict[str, object]] = []
    if not names.is_text(scope["path"]):
        faults.append({"loc": ("path",), "msg": _MSG, "type": "string_pattern_mismatch"})
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if not (names.is_text(key) and names.is_text(value)):
            where = key if names.is_text(key) else "?"
            faults.append({"loc": ("query", where), "msg": _MSG, "type": "string_pattern_mismatch"})
    return faults
