"""Tell the broker, now and then, that a desktop's client is still running.

A :class:`Heartbeat` calls ``beat`` every ``interval`` seconds (and once at
the start, with ``immediately``) on a thread of its own until
:meth:`Heartbeat.stop`. A failed beat is logged and the next
one tried as usual: a broker that restarts or a network that drops for a
minute must not end anything. A beat that raises :class:`StopBeating` ends
the ticker (the session is gone, or the broker takes no heartbeats).

:func:`for_session` builds the one the launcher uses: ``POST
/api/v1/sessions/{id}/heartbeat``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from launcher.core import log
from launcher.core.broker import BrokerClient, BrokerRejected, SessionExpired

__all__ = ["DEFAULT_INTERVAL", "Heartbeat", "StopBeating", "for_session"]

# The broker asks for one a minute; the first, sent as the client starts,
# makes a launched session active.
DEFAULT_INTERVAL = 60.0


class StopBeating(Exception):
    """Raised by a beat when there is no point in beating again."""


class Heartbeat:
    def __init__(
        self, beat: Callable[[], None], *, interval: float, name: str, immediately: bool = False
    ) -> None:
        if interval <= 0:
            raise ValueError("a heartbeat interval must be positive")
        self._beat = beat
        self.interval = interval
        self.name = name
        self.immediately = immediately
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)
        self.beats = 0
        self.failures = 0

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> None:
        """Stop beating; waits up to ``timeout`` for a beat under way to finish."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        delay = 0.0 if self.immediately else self.interval
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self._beat()
            except StopBeating as e:
                log.launch.info("heartbeat %s stops: %s", self.name, e)
                return
            except Exception as e:
                self.failures += 1
                # Say it once when it starts failing, not every interval.
                level = log.launch.debug if failing else log.launch.warning
                level("heartbeat %s failed (%d so far): %s", self.name, self.failures, e)
                failing = True
            else:
                self.beats += 1
                if failing:
                    log.launch.info("heartbeat %s works again", self.name)
                failing = False


def for_session(
    broker: BrokerClient, session_id: str, *, interval: float = DEFAULT_INTERVAL
) -> Heartbeat:
    """A heartbeat for ``session_id`` that beats as soon as it starts; not started."""

    def beat() -> None:
        try:
            broker.heartbeat(session_id)
        except SessionExpired as e:
            raise StopBeating("the sign-in is no longer valid") from e
        except BrokerRejected as e:
            if e.code in ("session_not_found", "session_ended"):
                raise StopBeating("the broker ended the session") from e
            if e.code in ("not_found", "method_not_allowed"):
                raise StopBeating("this broker does not take heartbeats") from e
            raise

    return Heartbeat(beat, interval=interval, name=session_id, immediately=True)
