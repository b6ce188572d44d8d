"""A clock that stands still until a test moves it, for `app.state.clock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Call it for now; `advance()` moves it. Starts at a fixed, aware UTC time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move on by `delta` or by timedelta(**kwargs); return the new now."""
        self.now += delta if delta is not None else timedelta(**kwargs)
        return self.now
