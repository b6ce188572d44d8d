"""Call a pool's backend on threads of its own, each call with a timeout.

A hypervisor that hangs must not slow another pool or the API. So each
pool's backend gets a small pool of threads, and a caller waits for its call
at most the call's timeout. A call that times out keeps its thread until the
hypervisor lets go, and at most `WORKERS + WAITING` calls may be under way at
once: past that a call fails at once (Busy) instead of queueing behind hung
ones, and a launch tells its launcher to ask again in a moment.

While a request waits for a slow call it holds no database connection, so it
steps out of the API's admission gate (broker_stub.waits) and other requests
take its place.

A backend may say which calls never wait on anything (`runs_inline(call,
machine)`: the static backend's consoles and passwords come from the pools
file); those run on the caller's thread, without the hop to a backend thread
and back.

Health: `FAILURES_TO_DEGRADE` calls in a row that could not reach the
hypervisor make the pool *degraded* on this node. Then calls fail at once
(HypervisorUnavailable) except `check`, which the scheduler runs every few
seconds; the first call that succeeds makes the pool healthy again. Each change
is reported once to `on_health` (the app writes it to the database, the log
and the audit log).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from broker_stub import log, waits
from broker_stub.backends.base import (
    Backend,
    BackendError,
    Busy,
    Console,
    ConsoleTicket,
    HypervisorUnavailable,
    MachineRef,
    PoolDegraded,
    Power,
    PowerState,
    RecycleMode,
)
from broker_stub.threads import DaemonPool

WORKERS = 4
WAITING = 8
FAILURES_TO_DEGRADE = 3
# A call that takes longer than this waits outside the API's admission gate;
# quicker ones are not worth the two hops to the event loop and back.
STEP_OUT_AFTER_S = 0.05
# Seconds a caller waits per call, unless the backend's `timeouts` says otherwise.
TIMEOUTS: Mapping[str, float] = {
    "check": 10.0,
    "discover": 30.0,
    "power_state": 15.0,
    "power_on": 60.0,
    "power_off": 180.0,
    "reset": 60.0,
    "restart": 60.0,
    "recycle": 600.0,
    "provision": 600.0,
    "destroy": 300.0,
    "console": 15.0,
    "console_password": 15.0,
}

# Told (pool id, reason) when a pool becomes degraded, (pool id, None) when it recovers.
HealthListener = Callable[[str, str | None], None]
T = TypeVar("T")


class Calls:
    """A pool's backend, called through its own threads with a timeout per call.

    It has the Backend protocol's methods, so callers use it as the backend.
    """

    def __init__(
        self,
        pool_id: str,
        backend: Backend,
        *,
        on_health: HealthListener | None = None,
        workers: int = WORKERS,
        waiting: int = WAITING,
    ) -> None:
        self.pool_id = pool_id
        self.backend = backend
        self._threads = DaemonPool(workers=workers, name=f"rubicon-backend-{pool_id}")
        self._limit = workers + waiting
        self._timeouts = {**TIMEOUTS, **getattr(backend, "timeouts", {})}
        self._runs_inline: Callable[[str, MachineRef | None], bool] | None = getattr(
            backend, "runs_inline", None
        )
        self._on_health = on_health
        self._lock = threading.Lock()
        self._under_way = 0
        self._failures = 0
        self.degraded: str | None = None  # why, while degraded

    @property
    def under_way(self) -> int:
        """Calls started and not yet returned by the backend (hung ones included)."""
        with self._lock:
            return self._under_way

    # The Backend protocol

    def check(self) -> None:
        self._call("check", self.backend.check)

    def discover(self) -> Mapping[str, PowerState]:
        return self._call("discover", self.backend.discover)

    def power_state(self, machine: MachineRef) -> PowerState:
        return self._call("power_state", self.backend.power_state, machine)

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        return self._call("power_on", self.backend.power_on, machine, protocol)

    def power_off(self, machine: MachineRef) -> None:
        self._call("power_off", self.backend.power_off, machine)

    def reset(self, machine: MachineRef) -> None:
        self._call("reset", self.backend.reset, machine)

    def restart(self, machine: MachineRef) -> None:
        self._call("restart", self.backend.restart, machine)

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        self._call("recycle", self.backend.recycle, machine, mode)

    def provision(self, name: str) -> None:
        self._call("provision", self.backend.provision, name)

    def destroy(self, machine: MachineRef) -> None:
        self._call("destroy", self.backend.destroy, machine)

    def console(self, machine: MachineRef, protocol: str) -> Console:
        return self._call("console", self.backend.console, machine, protocol)

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        return self._call("console_password", self.backend.console_password, machine, protocol)

    def close(self) -> None:
        self._threads.close()
        try:
            self.backend.close()
        except Exception:
            log.backend.exception("pool %s: closing its backend failed", self.pool_id)

    # The machinery

    def _call(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        degraded = self.degraded
        if degraded is not None and name != "check":
            raise PoolDegraded(
                f"pool {self.pool_id} is degraded ({degraded}); "
                "the broker checks its hypervisor again every few seconds"
            )
        if self._runs_inline is not None:
            machine = args[0] if args and isinstance(args[0], MachineRef) else None
            if self._runs_inline(name, machine):
                return self._outcome(name, lambda: fn(*args))
        with self._lock:
            if self._under_way >= self._limit:
                raise Busy(
                    f"pool {self.pool_id}: {self._under_way} calls to its hypervisor are "
                    "under way, as many as it may have; ask again in a moment"
                )
            self._under_way += 1
        try:
            future = self._threads.submit(fn, *args)
        except RuntimeError:  # shut down: the node is stopping
            self._done(None)
            raise HypervisorUnavailable(f"pool {self.pool_id}: the broker is stopping") from None
        future.add_done_callback(self._done)
        timeout = self._timeouts[name]
        return self._outcome(name, lambda: self._wait(future, timeout), timeout=timeout)

    def _outcome(self, name: str, result: Callable[[], T], *, timeout: float | None = None) -> T:
        """`result()`, with the pool's health updated by how it went; `timeout`
        is how long a call on a backend thread was waited for."""
        try:
            value = result()
        except FutureTimeout:
            if timeout is None:
                raise self._fault(name) from None
            self._failed(f"{name} did not answer within {timeout:g}s")
            raise HypervisorUnavailable(
                f"pool {self.pool_id}: the hypervisor did not answer {name} within {timeout:g}s"
            ) from None
        except HypervisorUnavailable as exc:
            self._failed(str(exc))
            raise
        except BackendError:
            self._succeeded()  # the hypervisor answered; the machine or request was wrong
            raise
        except Exception:
            raise self._fault(name) from None
        self._succeeded()
        return value

    def _fault(self, name: str) -> BackendError:
        """A fault in the backend's own code: say which call, keep the traceback in the log."""
        exc = sys.exc_info()[1]
        log.backend.exception("pool %s: %s raised", self.pool_id, name)
        self._failed(f"{name} raised {type(exc).__name__}")
        return BackendError(f"{name} failed: {type(exc).__name__}: {exc}")

    @staticmethod
    def _wait(future: Future[T], timeout: float) -> T:
        """The call's result; a call that is not done at once waits outside the gate."""
        try:
            return future.result(timeout=min(STEP_OUT_AFTER_S, timeout))
        except FutureTimeout:
            if timeout <= STEP_OUT_AFTER_S:
                raise
        with waits.away():
            return future.result(timeout=timeout - STEP_OUT_AFTER_S)

    def _done(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self._under_way -= 1

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            newly = self.degraded is None and self._failures >= FAILURES_TO_DEGRADE
            if newly:
                self.degraded = reason
        if newly:
            self._tell(reason)

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            recovered = self.degraded is not None
            self.degraded = None
        if recovered:
            self._tell(None)

    def _tell(self, reason: str | None) -> None:
        if self._on_health is None:
            return
        try:
            self._on_health(self.pool_id, reason)
        except Exception:
            log.backend.exception("pool %s: recording its health failed", self.pool_id)
