"""Let a request give back its admission while it waits on something slow.

The API admits as many requests at once as the database has connections
(broker_stub.api.admission). A request that waits on a hypervisor holds no
connection meanwhile, so it should not hold a place either: the gate puts a
`Hook` in this context variable, and code about to block on an outside system
wraps the wait in `away()`. Outside a request (the scheduler) there is no
hook and `away()` does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Protocol


class Hook(Protocol):
    def leave(self) -> bool:
        """Give the place back; False if that cannot be done from this thread."""
        ...

    def back(self) -> None:
        """Wait for a place again."""
        ...


_current: ContextVar[Hook | None] = ContextVar("rubicon_waits_hook", default=None)


def install(hook: Hook) -> Token[Hook | None]:
    return _current.set(hook)


def uninstall(token: Token[Hook | None]) -> None:
    _current.reset(token)


@contextmanager
def away() -> Iterator[None]:
    """Out of the gate for the duration of the block, back in before it ends."""
    hook = _current.get()
    if hook is None or not hook.leave():
        yield
        return
    try:
        yield
    finally:
        hook.back()
