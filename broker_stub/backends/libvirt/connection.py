"""One libvirt connection per URI on each broker node: kept alive, reopened after it broke.

libvirt's keep-alive needs an event loop: the first connection registers
libvirt's default one and runs it on a daemon thread, which also delivers
domain events. A connection that closes (libvirtd restarted, network gone)
is noticed by its close callback or by the next call, and the next `get()`
opens a new one. Pools on the same URI share the connection (through the
backends' `Shared`), and each pool listens to domain events through it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from broker_stub import log
from broker_stub.backends.base import HypervisorUnavailable

try:
    import libvirt
except ImportError:  # the libvirt extra is not installed; KIND.options says so
    libvirt = None

__all__ = ["Connection", "DomainListener", "libvirt"]

# Keep-alive: a probe every 5 s, the connection given up after 3 unanswered.
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
_LOOP_PAUSE_S = 0.1

# Told the name of a domain that was defined, undefined, started or stopped.
DomainListener = Callable[[str], None]

_loop_lock = threading.Lock()
_loop_started = False


def _ignore_error(_context: object, _error: object) -> None:
    return None


def _start_event_loop() -> None:
    """libvirt's default event loop on a daemon thread, once per process."""
    global _loop_started
    with _loop_lock:
        if _loop_started:
            return
        # libvirt prints every error to stderr unless told otherwise; ours are raised.
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except libvirt.libvirtError:
                    # One iteration failed (a daemon went away mid-event): the loop, which
                    # every connection of this process shares, must go on.
                    time.sleep(_LOOP_PAUSE_S)

        threading.Thread(target=run, name="rubicon-libvirt-events", daemon=True).start()
        _loop_started = True


class Connection:
    """The node's connection to one libvirt URI."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._lock = threading.Lock()
        self._conn: Any = None
        self._callback_id: int | None = None
        self._dead = False
        self._listeners: list[DomainListener] = []

    def get(self) -> Any:
        """An open `virConnect`; HypervisorUnavailable if libvirt cannot be reached."""
        with self._lock:
            if self._conn is not None and not self._dead and self._alive(self._conn):
                return self._conn
            self._drop()
            self._dead = False
            _start_event_loop()
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise HypervisorUnavailable(
                    f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()}"
                ) from None
            # A local (not remote) driver has no keep-alive and needs none.
            with contextlib.suppress(libvirt.libvirtError):
                conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
            conn.registerCloseCallback(self._closed, None)
            self._callback_id = self._watch(conn)
            self._conn = conn
            log.backend.info("connected to libvirt at %s", self.uri)
            return conn

    def listen(self, listener: DomainListener) -> None:
        """Hear about domains that come, go, start and stop."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: DomainListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def broken(self) -> None:
        """A call failed as if the connection were gone: open a new one next time."""
        with self._lock:
            self._drop()

    def close(self) -> None:
        with self._lock:
            self._drop()

    # Inside the lock

    @staticmethod
    def _alive(conn: Any) -> bool:
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        callback_id, self._callback_id = self._callback_id, None
        if conn is None:
            return
        # Each may fail on a connection that is already gone; that is fine.
        if callback_id is not None:
            with contextlib.suppress(libvirt.libvirtError):
                conn.domainEventDeregisterAny(callback_id)
        with contextlib.suppress(libvirt.libvirtError):
            conn.unregisterCloseCallback()
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()

    def _watch(self, conn: Any) -> int | None:
        try:
            callback_id: int = conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._event, None
            )
        except libvirt.libvirtError as exc:
            log.backend.info("libvirt at %s sends no domain events: %s", self.uri, exc)
            return None
        return callback_id

    # On libvirt's event thread

    def _closed(self, _conn: Any, reason: int, _opaque: object) -> None:
        # No lock here: a thread holding it may be waiting on libvirt, which waits on us.
        # The next get() sees the flag, closes it from a normal thread and opens a new one.
        self._dead = True
        log.backend.warning("the connection to libvirt at %s closed (reason %s)", self.uri, reason)

    def _event(self, _conn: Any, domain: Any, _event: int, _detail: int, _opaque: object) -> None:
        try:
            name = domain.name()
        except libvirt.libvirtError:
            return
        for listener in list(self._listeners):
            try:
                listener(name)
            except Exception:
                log.backend.exception("a libvirt event listener failed")
