"""How uvicorn serves the broker: what `serve` adds to uvicorn's own HTTP protocol.

- A request uvicorn cannot even parse (a header with a DEL byte, say) gets a
  problem document like every other error, not uvicorn's plain text.
- Stopping is prompt. On SIGTERM uvicorn closes idle keep-alive connections
  and waits for them to go; over TLS a close waits for the client's
  close_notify, which an idle launcher never sends, so each such connection
  held the stop for asyncio's 30 s TLS shutdown timeout. Idle connections
  are dropped instead (nothing is lost: no request is under way on them,
  and clients open a new one), and requests still running get
  GRACEFUL_SHUTDOWN_S to finish.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from broker_stub.api.schemas import Problem

try:  # uvicorn's "auto": httptools where installed, else h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Protocol
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _Protocol,
    )

GRACEFUL_SHUTDOWN_S: Final = 10

_UNPARSABLE = Problem(
    type="urn:rubicon:problem:malformed_request",
    title="Malformed request",
    status=400,
    detail="The request is not valid HTTP (for example a header holds a character HTTP "
    "does not allow). Update the launcher or the tool that sent it.",
    code="malformed_request",
)


class BrokerProtocol(_Protocol):
    """uvicorn's HTTP/1.1 protocol, with the two changes the module docstring names."""

    def send_400_response(self, msg: str) -> None:
        # `msg` is the parser's complaint; it goes to the log, as uvicorn logs it.
        body = _UNPARSABLE.model_dump_json().encode()
        head = (
            "HTTP/1.1 400 Bad Request\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode("ascii")
        self.transport.write(head + body)
        self.transport.close()

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn settings every `serve` process uses."""
    protocol: type[asyncio.Protocol] = BrokerProtocol
    return {"http": protocol, "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S}
