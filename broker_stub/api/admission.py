"""At most as many requests at work as the database pool has connections.

Routes run on a pool of 40 threads, and a request takes a database connection
in one thread (its token) and goes on in another (the route). With more
requests in flight than connections, every thread can end up waiting for a
connection held by a request that is itself waiting for a thread: nothing
moves until the pool's timeout fails them all. Requests past the limit wait
here instead, on the event loop, first come first served, where waiting costs
nothing and holds nothing.

A request that waits on a hypervisor (broker_stub.backends.calls) holds no
connection meanwhile: through broker_stub.waits it gives its place back for
the wait and queues for one again after, so a hung hypervisor cannot fill
the gate.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from broker_stub import waits


class AdmissionGate:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.app = app
        self.limit = limit
        self.in_flight = 0  # requests past the gate now, not counting those stepped out
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        place = _Place(self)
        await place.take()
        token = waits.install(place)
        try:
            await self.app(scope, receive, send)
        finally:
            waits.uninstall(token)
            place.give_back()


class _Place:
    """One request's place at the gate; a `waits.Hook` for its route's thread."""

    def __init__(self, gate: AdmissionGate) -> None:
        self._gate = gate
        self._loop = asyncio.get_running_loop()
        self._held = False

    async def take(self) -> None:
        await self._gate._slots.acquire()
        self._held = True
        self._gate.in_flight += 1

    def give_back(self) -> None:
        """On the event loop: release the place if this request holds one."""
        if self._held:
            self._held = False
            self._gate.in_flight -= 1
            self._gate._slots.release()

    # waits.Hook, called from the route's worker thread

    def leave(self) -> bool:
        if not self._held or self._on_loop():
            return False  # an async route would block the loop by waiting here
        self._loop.call_soon_threadsafe(self.give_back)
        return True

    def back(self) -> None:
        asyncio.run_coroutine_threadsafe(self.take(), self._loop).result()

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:  # no loop runs in this thread: a worker thread
            return False
