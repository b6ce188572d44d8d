"""A small pool of daemon threads with futures, for calls that may never return.

concurrent.futures' ThreadPoolExecutor joins its threads when Python exits,
so one call stuck on a hypervisor that hangs would keep the broker from
stopping. These threads are daemons: a stopping broker leaves a stuck call
behind. Threads start with the first calls, up to `workers`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class DaemonPool:
    def __init__(self, *, workers: int, name: str) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._workers = workers
        self._name = name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run `fn(*args)` on one of the threads; RuntimeError once closed."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name}: closed")
            self._queue.put((future, fn, args))
            # A thread per call until there are `workers`; then they take turns.
            if self._threads < self._workers:
                self._threads += 1
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{self._threads}", daemon=True
                )
                thread.start()
        return future

    def close(self) -> None:
        """No more work; what waits is cancelled, what runs is left to finish (or hang)."""
        with self._lock:
            self._closed = True
            threads = self._threads
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                break
            if work is not None:
                work[0].cancel()
        for _ in range(threads):
            self._queue.put(None)

    def _work(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            future, fn, args = work
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # the caller gets it from the future
                    future.set_exception(exc)
