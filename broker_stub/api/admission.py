"""At most as many requests at work as the database pool has connections.

Routes run on a pool of 40 threads, and a request takes a database connection
in one thread (its token) and goes on in another (the route). With more
requests in flight than connections, every thread can end up waiting for a
connection held by a request that is itself waiting for a thread: nothing
moves until the pool's timeout fails them all. Requests past the limit wait
here instead, on the event loop, first come first served, where waiting costs
nothing and holds nothing.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class AdmissionGate:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.app = app
        self.limit = limit
        self.in_flight = 0  # requests past the gate now
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._slots:
            self.in_flight += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= 1
