"""One launch flow for both windows: start, wait, cancel and reconnect.

The main window and the kiosk open desktops the same way, through a
:class:`LaunchFlow` over their :class:`~launcher.ui.controller.SessionController`::

    open(desktop) ──▶ asking ──▶ broker 200 ──▶ client started ──▶ opened
         │              ▲   │
         │              │   └─ 202 (machine powers on) ──▶ waiting, tick … ─┐
         │              └──────────── same Idempotency-Key ◀────────────────┘
         │                  the limit passed ──▶ gave_up     cancel() ──▶ cancelled
         │                  any other failure ──▶ failed
         └─ its client still runs ──▶ already_open (its window brought to the front)

A click (a link, auto-connect) is one :class:`~launcher.ui.poweron.Attempt`
with one Idempotency-Key, sent again at every try while the broker answers
202, so the broker never claims a second machine; the
:class:`~launcher.ui.poweron.StartWaiter` counts down on a GUI-thread timer
and gives up after ``limit`` seconds. :meth:`LaunchFlow.cancel` stops the
countdown and sets the attempt's ``cancelled`` event: a launch already on
its way then starts no client (``launching.LaunchCancelled``). Reconnect is
the same call: the broker hands back the user's session in that pool. A
desktop whose client still runs is not launched again; its window is
brought to the front where the platform lets a program do that
(``supervisor.RunningClient.bring_to_front``, off the GUI thread).

The windows render the flow's signals; only the flow calls
``SessionController.connect_desktop``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from launcher.core import log
from launcher.core.broker import DesktopStarting
from launcher.core.launching import LaunchCancelled, OpenedDesktop
from launcher.core.models import Desktop, Protocol
from launcher.ui import tasks
from launcher.ui.controller import SessionController
from launcher.ui.poweron import START_WAIT_LIMIT, Attempt, StartWaiter

__all__ = ["LaunchFlow"]


class LaunchFlow(QObject):
    """Opens desktops for one window; one attempt per desktop at a time."""

    asking = Signal(object)  # Attempt: a launch is on its way to the broker (each try)
    waiting = Signal(object, int)  # Attempt, seconds to the next try: its machine powers on
    tick = Signal(object, int)  # Attempt, seconds left until the next try
    opened = Signal(object, object)  # Attempt, OpenedDesktop: its client started
    failed = Signal(object, object)  # Attempt, Exception: for good (not a 202, not cancelled)
    gave_up = Signal(object)  # Attempt: its machine did not start within the limit
    cancelled = Signal(object)  # Attempt: the user stopped waiting
    already_open = Signal(object, bool)  # OpenedDesktop, whether its window came to the front

    def __init__(
        self,
        session: SessionController,
        *,
        limit: float = START_WAIT_LIMIT,
        longest_wait: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``limit``: seconds to wait for a machine that powers on; ``longest_wait``: the
        most seconds between two tries, whatever the broker's Retry-After says."""
        super().__init__(parent)
        self._session = session
        self._longest_wait = longest_wait
        self._attempts: dict[str, Attempt] = {}  # desktop id -> the launch under way
        self.waiter = StartWaiter(limit=limit, parent=self)
        self.waiter.waiting.connect(self.waiting)
        self.waiter.tick.connect(self.tick)
        self.waiter.retry.connect(self._try)
        self.waiter.gave_up.connect(self._gave_up)
        session.launch_failed.connect(self._launch_failed)
        session.client_started.connect(self._client_started)

    # -- what is under way -------------------------------------------------------

    def attempt(self, desktop_id: str) -> Attempt | None:
        """The launch of ``desktop_id`` under way (asking, or waiting for its machine)."""
        return self._attempts.get(desktop_id)

    @property
    def busy(self) -> bool:
        """Some launch is under way."""
        return bool(self._attempts)

    @property
    def waiting_for(self) -> Attempt | None:
        """The attempt whose machine is powering on, counting down to its next try."""
        return self.waiter.current

    # -- intents -------------------------------------------------------------------

    def open(self, desktop: Desktop, protocol: Protocol | None = None) -> Attempt | None:
        """Open (or reconnect to) ``desktop``: the new attempt, or None when nothing starts.

        Nothing starts while a launch of it is under way or nobody is signed in;
        a desktop whose client still runs is brought to the front (``already_open``).
        """
        running = self._session.running(desktop.id)
        if running is not None:
            self._bring_to_front(running)
            return None
        if desktop.id in self._attempts:
            return None
        attempt = Attempt(desktop, protocol)
        return attempt if self._try(attempt) else None

    def cancel(self) -> Attempt | None:
        """Stop waiting for the machine that powers on; ``cancelled`` follows."""
        attempt = self.waiter.cancel()
        if attempt is not None:
            self._attempts.pop(attempt.desktop.id, None)
            log.ui.info("stopped waiting for %s", attempt.desktop.id)
            self.cancelled.emit(attempt)
        return attempt

    def cancel_all(self) -> None:
        """Sign-out, close: every attempt is cancelled, quietly; no client will start."""
        waiting = self.waiter.current
        if waiting is not None:
            self.waiter.finish(waiting)
        for attempt in self._attempts.values():
            attempt.cancelled.set()
        self._attempts.clear()

    # -- the steps -------------------------------------------------------------------

    def _try(self, attempt: Attempt) -> bool:
        if attempt.cancelled.is_set():
            return False
        started = self._session.connect_desktop(
            attempt.desktop,
            attempt.protocol,
            idempotency_key=attempt.key,
            cancelled=attempt.cancelled,
        )
        if not started:
            # Signed out meanwhile, or its client runs after all: nothing to wait for.
            self._drop(attempt)
            return False
        self._attempts[attempt.desktop.id] = attempt
        self.asking.emit(attempt)
        return True

    def _drop(self, attempt: Attempt) -> None:
        if self._attempts.get(attempt.desktop.id) is attempt:
            del self._attempts[attempt.desktop.id]
        self.waiter.finish(attempt)

    def _launch_failed(self, desktop: Desktop, error: Exception) -> None:
        attempt = self._attempts.get(desktop.id)
        if attempt is None or attempt.cancelled.is_set() or isinstance(error, LaunchCancelled):
            return  # cancelled: nobody wants to hear about it
        if isinstance(error, DesktopStarting):
            wait = error.retry_after
            if self._longest_wait is not None:
                wait = min(wait, self._longest_wait)
            self.waiter.wait(attempt, wait)  # or gave_up
            return
        self._drop(attempt)
        self.failed.emit(attempt, error)

    def _gave_up(self, attempt: Attempt) -> None:
        self._drop(attempt)
        log.ui.warning("%s did not start in time; gave up", attempt.desktop.id)
        self.gave_up.emit(attempt)

    def _client_started(self, opened: OpenedDesktop) -> None:
        attempt = self._attempts.get(opened.desktop.id)
        if attempt is None or attempt.cancelled.is_set():
            # Cancelled (or signed out) while the client was already starting.
            log.ui.info("%s started after its launch was cancelled; stopping it", opened.desktop.id)
            self._session.stop_client(opened.desktop.id)
            return
        self._drop(attempt)
        self.opened.emit(attempt, opened)

    def _bring_to_front(self, opened: OpenedDesktop) -> None:
        tasks.run(
            self,
            opened.client.bring_to_front,
            on_success=lambda brought: self.already_open.emit(opened, bool(brought)),
            on_failure=lambda _error: self.already_open.emit(opened, False),
        )
