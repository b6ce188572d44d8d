"""Backends act on machines: power on, recycle, reset, restart, console passwords.

A backend never touches the database. The domain hands it a `MachineRef`
(plain values copied from the machines table) and records what happened, so
the same calls fit fixed hosts (static.py) and hypervisors (libvirt, later).
Every call may block for a while (network, commands): call them outside a
database transaction.

    BackendError        the action failed; the message is for the admin's log
    └── NotSupported    this backend cannot do that at all

Each pool stores its backend options as JSON (`pools.backend`, from the
pools file's [pools.backend] table); `Backends.for_pool` turns them into a
backend, once per node.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol


class BackendError(Exception):
    """A backend action failed; the message says which machine and why."""


class NotSupported(BackendError):
    """The backend cannot do this action (static hosts cannot reset without a command)."""

    def __init__(self, action: str, backend: str, hint: str) -> None:
        super().__init__(f"the {backend} backend cannot {action} machines: {hint}")
        self.action = action
        self.hint = hint


@dataclass(frozen=True)
class MachineRef:
    """What a backend needs to know about one machine."""

    pool_id: str
    name: str
    host: str
    # Port per protocol ("vnc", "rdp", "spice", "spice_tls").
    ports: Mapping[str, int]
    mac: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Power:
    """Whether a machine can take a connection now; if not, when to ask again."""

    running: bool
    retry_after: int = 0


@dataclass(frozen=True)
class ConsoleTicket:
    """The password a VNC or SPICE client needs, and when it stops working."""

    password: str | None = field(repr=False)
    expires_at: datetime | None = None


class Backend(Protocol):
    name: str

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        """Make sure the machine runs; Power(running=False) while it starts."""
        ...

    def recycle(self, machine: MachineRef) -> None:
        """Make a floating machine fit for the next user after a session ended."""
        ...

    def reset(self, machine: MachineRef) -> None:
        """Hard reset, like the reset button; NotSupported if it cannot."""
        ...

    def restart(self, machine: MachineRef) -> None:
        """Orderly reboot of the guest; NotSupported if it cannot."""
        ...

    def console_password(self, machine: MachineRef, protocol: str, ttl: timedelta) -> ConsoleTicket:
        """The console password for one connection; one-time if the backend can."""
        ...

    def warm_up(self, machines: Sequence[MachineRef]) -> None:
        """Get these unassigned machines ready for the next launches (the pool's spares)."""
        ...


def make_backend(options: Mapping[str, Any]) -> Backend:
    """The backend `options` (a pool's stored `backend` JSON) describe."""
    kind = options.get("type", "static")
    if kind == "static":
        from broker_stub.backends.static import StaticBackend, StaticOptions

        return StaticBackend(StaticOptions.from_json(options))
    raise BackendError(f"unknown backend type {kind!r}; this broker knows: static")


class Backends:
    """One backend per pool and options, made on first use; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, tuple[Mapping[str, Any], Backend]] = {}

    def for_pool(self, pool_id: str, options: Mapping[str, Any]) -> Backend:
        with self._lock:
            known = self._made.get(pool_id)
            if known is not None and known[0] == options:
                return known[1]
            backend = make_backend(options)
            self._made[pool_id] = (dict(options), backend)
            return backend
