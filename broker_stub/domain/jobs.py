"""Background jobs by key: at most one queued and one running per key.

A job handed over again while the same key's job waits is dropped: the one
waiting will see the same state. Handed over while it runs, it runs once more
afterwards (what the running one read may already be out of date), but
never twice at once: two upkeeps of one pool at the same time would both
count its spares and make twice as many.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

from broker_stub import log
from broker_stub.threads import DaemonPool


class Jobs:
    def __init__(self, *, workers: int, name: str) -> None:
        self._threads = DaemonPool(workers=workers, name=name)
        self._lock = threading.Lock()
        self._queued: set[Hashable] = set()
        self._running: set[Hashable] = set()
        self._again: set[Hashable] = set()
        self._under_way: list[Future[None]] = []

    def submit(self, key: Hashable, job: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if key in self._queued:
                return
            if key in self._running:
                self._again.add(key)
                return
            self._queued.add(key)
            self._under_way = [f for f in self._under_way if not f.done()]
            try:
                future = self._threads.submit(self._run, key, job, *args)
            except RuntimeError:  # shut down: the node is stopping
                self._queued.discard(key)
                return
            self._under_way.append(future)

    def wait(self, timeout: float = 60.0) -> None:
        """Until the jobs handed over so far, and those they queued again, are done."""
        while True:
            with self._lock:
                pending = [f for f in self._under_way if not f.done()]
            if not pending:
                return
            for future in pending:
                future.result(timeout=timeout)

    def close(self) -> None:
        self._threads.close()

    def _run(self, key: Hashable, job: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._queued.discard(key)
            self._running.add(key)
        try:
            job(*args)
        except Exception:
            # A database hiccup must not end the thread; the scheduler hands it over again.
            log.scheduler.exception("background job %s failed", key)
        finally:
            with self._lock:
                self._running.discard(key)
                again = key in self._again
                self._again.discard(key)
            if again:
                self.submit(key, job, *args)
