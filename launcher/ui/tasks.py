"""Run blocking work off the GUI thread; deliver the outcome on it.

``run(owner, work, on_success=..., on_failure=...)``: ``work`` runs in Qt's
thread pool; exactly one of the callbacks is then called on the GUI thread.
If ``owner`` is destroyed first, neither is called. :func:`finish` waits for
what is still running when the event loop has ended, before the windows go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from launcher.core import log


class _Relay(QObject):
    """Lives on the GUI thread; a signal emitted from a worker is queued to it."""

    finished = Signal(object, object)  # result, exception

    def __init__(
        self,
        owner: QObject,
        on_success: Callable[[Any], None],
        on_failure: Callable[[Exception], None],
    ) -> None:
        super().__init__(owner)
        self._on_success = on_success
        self._on_failure = on_failure
        self.finished.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result: Any, error: Exception | None) -> None:
        try:
            if error is None:
                self._on_success(result)
            else:
                self._on_failure(error)
        finally:
            self.setParent(None)
            self.deleteLater()


class _Job(QRunnable):
    def __init__(self, work: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._work = work
        self._relay = relay

    def run(self) -> None:
        try:
            outcome: tuple[Any, Exception | None] = (self._work(), None)
        except Exception as e:  # on_failure decides what the user sees
            log.ui.debug("background task failed", exc_info=True)
            outcome = (None, e)
        # RuntimeError: the owner, and with it the relay, is gone: nobody to tell.
        with contextlib.suppress(RuntimeError):
            self._relay.finished.emit(*outcome)


def run(
    owner: QObject,
    work: Callable[[], Any],
    *,
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None],
) -> None:
    QThreadPool.globalInstance().start(_Job(work, _Relay(owner, on_success, on_failure)))


def finish(*, timeout_ms: int = 5000) -> bool:
    """Wait for the work still running (the event loop has ended); False if some
    is still running after ``timeout_ms``.

    Called while the windows still exist: a worker that ends later would
    report to objects Python is tearing down, which can crash the process at
    exit. Callbacks are not called any more (no event loop runs them).
    """
    done = QThreadPool.globalInstance().waitForDone(timeout_ms)
    if not done:
        log.ui.warning("background work still running at exit; leaving it")
    return done
