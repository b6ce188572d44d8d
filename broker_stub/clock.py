"""The broker's notion of now: always timezone-aware UTC.

Code that serves requests reads the time from the clock in ``app.state.clock``
(the ``Now`` dependency in broker_stub.api.deps), so tests can hand the app a
clock they move by hand instead of patching this module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

Clock: TypeAlias = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
