"""Waiting for a machine that powers on: count down, ask again, or stop on Cancel.

A launch the user asked for is an :class:`Attempt` with one Idempotency-Key.
When the broker answers 202 (``DesktopStarting``), :meth:`StartWaiter.wait`
counts ``retry_after`` seconds down on a timer of the GUI thread (nothing
blocks) and then emits ``retry(attempt)``: the window launches again with
the same key, so the broker never claims a second machine. :meth:`cancel`
stops the countdown and sets the attempt's ``cancelled`` event, so a launch
already on its way starts no client.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from launcher.core.broker import new_idempotency_key
from launcher.core.models import Desktop, Protocol

# Give up on a machine that has not started after this long (seconds).
START_WAIT_LIMIT = 600.0


@dataclass(slots=True)
class Attempt:
    """One launch the user asked for."""

    desktop: Desktop
    protocol: Protocol | None = None
    key: str = field(default_factory=new_idempotency_key)
    cancelled: threading.Event = field(default_factory=threading.Event)
    began: float = field(default_factory=time.monotonic)
    seconds_left: int = 0


class StartWaiter(QObject):
    """Counts down to the next try of one attempt at a time."""

    waiting = Signal(object, int)  # Attempt, seconds until the next try (first 202)
    tick = Signal(object, int)  # Attempt, seconds left
    retry = Signal(object)  # Attempt: launch it again now, with the same key
    gave_up = Signal(object)  # Attempt: over the time limit
    cancelled = Signal(object)  # Attempt

    def __init__(self, *, limit: float = START_WAIT_LIMIT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._limit = limit
        self.current: Attempt | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def wait(self, attempt: Attempt, retry_after: int) -> bool:
        """Count ``retry_after`` seconds down for ``attempt``; False (and gave_up) if too long."""
        if time.monotonic() - attempt.began > self._limit:
            self.finish(attempt)
            self.gave_up.emit(attempt)
            return False
        first = self.current is not attempt
        if first and self.current is not None:
            self.cancel()  # one machine at a time; the newer click wins
        self.current = attempt
        attempt.seconds_left = max(1, retry_after)
        self._timer.start()
        if first:
            self.waiting.emit(attempt, attempt.seconds_left)
        self.tick.emit(attempt, attempt.seconds_left)
        return True

    def _tick(self) -> None:
        attempt = self.current
        if attempt is None:
            self._timer.stop()
            return
        attempt.seconds_left -= 1
        self.tick.emit(attempt, attempt.seconds_left)
        if attempt.seconds_left <= 0:
            self._timer.stop()
            self.retry.emit(attempt)

    def cancel(self) -> Attempt | None:
        """Stop waiting; the attempt's launch, if on its way, starts no client."""
        attempt, self.current = self.current, None
        self._timer.stop()
        if attempt is not None:
            attempt.cancelled.set()
            self.cancelled.emit(attempt)
        return attempt

    def finish(self, attempt: Attempt) -> None:
        """The attempt opened its desktop or failed for good: nothing more to wait for."""
        if self.current is attempt:
            self.current = None
            self._timer.stop()

    def is_waiting(self, desktop_id: str) -> bool:
        return self.current is not None and self.current.desktop.id == desktop_id
