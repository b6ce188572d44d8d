"""The types every backend shares; `broker_stub.backends` is the public surface."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 1.0


def answers(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True if something accepts a TCP connection on host:port (a console's health probe)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class BackendError(Exception):
    """A backend action failed; the message says which machine and why."""


class NotSupported(BackendError):
    """The backend cannot do this action (static hosts cannot reset without a command)."""

    def __init__(self, action: str, backend: str, hint: str) -> None:
        super().__init__(f"the {backend} backend cannot {action} machines: {hint}")
        self.action = action
        self.hint = hint


class HypervisorUnavailable(BackendError):
    """The hypervisor cannot be reached, refused the broker, or did not answer in time."""


class PoolDegraded(HypervisorUnavailable):
    """Not tried: the pool is degraded (logged once, when it became so)."""


class Busy(BackendError):
    """Not tried: the pool's backend has as many calls under way as it may.

    Nothing is known to be wrong with the hypervisor: ask again in a moment.
    """


class MachineMissing(BackendError):
    """The hypervisor has no machine of that name."""


class NoConsole(BackendError):
    """The machine has no console (graphics device) for the protocol asked for."""


class SnapshotMissing(BackendError):
    """The snapshot a revert needs is not there."""


class StorageFull(BackendError):
    """The storage for a new machine's disk is full."""


class RecycleMode(StrEnum):
    """What happens to a floating machine between two users (the pool's `recycle`)."""

    NONE = "none"  # nothing: the next user gets it as it is
    POWEROFF = "poweroff"  # shut down (orderly, then hard); powered on at the next launch
    REVERT = "revert"  # back to the backend's named snapshot
    REBUILD = "rebuild"  # destroyed and made afresh (machines the broker made)


class PowerState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    SUSPENDED = "suspended"  # paused, or saved to disk
    UNKNOWN = "unknown"  # the backend cannot tell (a fixed host without a probe)


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
class Console:
    """Where a remote-display client connects for one protocol.

    `port` is None for a SPICE console that listens on its TLS port only;
    `ca` (PEM) and `host_subject` let a SPICE client check the TLS port's
    certificate.
    """

    host: str
    port: int | None
    tls_port: int | None = None
    ca: str | None = None
    host_subject: str | None = None
    # SPICE through an HTTP CONNECT proxy ("http://pve1.example.com:3128", Proxmox's
    # spiceproxy): the client reaches `host` (a name only the proxy knows) through it.
    # Always with its port: launchers refuse a proxy without one, so no default is guessed.
    proxy: str | None = None
    # RDP to Hyper-V's VM console: the VM's id, sent as the preconnection blob to
    # the host's VMConnect port (`host`:`port`, 2179) instead of the guest's own RDP.
    vmconnect: str | None = None

    def __post_init__(self) -> None:
        if self.proxy is not None:
            _proxy_address(self.proxy)  # a console the launcher would refuse is a bug here

    @property
    def probe_port(self) -> int:
        """The port a health probe knocks on (the proxy's, through a proxy)."""
        return self.probe_address[1]

    @property
    def probe_address(self) -> tuple[str, int]:
        """Where a health probe knocks: the console, or the proxy in front of it."""
        if self.proxy is not None:
            return _proxy_address(self.proxy)
        port = self.port if self.port is not None else self.tls_port
        assert port is not None, "a console has a port or a TLS port"
        return self.host, port


def _proxy_address(proxy: str) -> tuple[str, int]:
    """The host and port of an HTTP CONNECT proxy's URL; ValueError unless it is http://
    or https://, a host and a port, and nothing else (what launchers take)."""
    where = urlsplit(proxy)
    try:
        port = where.port  # ValueError past 65535 or for a bad [address]
    except ValueError:
        port = None
    if where.username is not None or where.password is not None:
        raise ValueError("a console's proxy URL holds no user or password")
    if (
        where.scheme not in ("http", "https")
        or not where.hostname
        or not port
        or where.path not in ("", "/")
        or where.query
        or where.fragment
    ):
        raise ValueError(
            "a console's proxy is an http:// or https:// URL with a host and a port and "
            f"nothing else, like http://pve1.example.com:3128; not {proxy!r}"
        )
    return where.hostname, port


@dataclass(frozen=True)
class ConsoleTicket:
    """The password a VNC or SPICE client needs, and when it stops working."""

    password: str | None = field(repr=False)
    expires_at: datetime | None = None
    # Where the password works, when getting it changed where to connect (a
    # Proxmox ticket names the proxy's target too); None: the console as it was.
    console: Console | None = None


class Backend(Protocol):
    """What the broker asks of a pool's machines. Every call may block.

    Calls that cannot apply to a backend raise NotSupported; the domain only
    makes `discover`, `provision` and `destroy` calls when the backend says it
    finds or makes machines (`BackendKind.discovers`, `clone_limit`).
    """

    def check(self) -> None:
        """Raise HypervisorUnavailable unless the hypervisor answers now."""
        ...

    def discover(self) -> Mapping[str, PowerState]:
        """The machines this pool has on the hypervisor now, by name, with their power."""
        ...

    def power_state(self, machine: MachineRef) -> PowerState: ...

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        """Make sure the machine runs; Power(running=False) while it starts."""
        ...

    def power_off(self, machine: MachineRef) -> None:
        """Shut the machine down: orderly first, hard once the backend's timeout passed."""
        ...

    def reset(self, machine: MachineRef) -> None:
        """Hard reset, like the reset button."""
        ...

    def restart(self, machine: MachineRef) -> None:
        """Orderly reboot of the guest."""
        ...

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        """Make a floating machine fit for the next user after a session ended."""
        ...

    def provision(self, name: str) -> None:
        """Make a new machine called `name` (a clone); it may stay powered off."""
        ...

    def destroy(self, machine: MachineRef) -> None:
        """Power off and delete a machine this backend made, with its disks."""
        ...

    def console(self, machine: MachineRef, protocol: str) -> Console:
        """Where the machine's console for `protocol` listens now."""
        ...

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        """The console password for one connection: where the backend can, a new one
        that stops working soon (it says when in the ticket)."""
        ...

    def close(self) -> None:
        """Let go of connections; the backend is not used after this."""
        ...


class Shared:
    """Things backends of one node share (one hypervisor connection per URI).

    `get(key, make)` makes the value once per key; `close()` calls each
    value's `close()`, if it has one, when the node stops.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._values:
                self._values[key] = make()
            return self._values[key]

    def close(self) -> None:
        with self._lock:
            values, self._values = list(self._values.values()), {}
        for value in values:
            close = getattr(value, "close", None)
            if callable(close):
                close()


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Context:
    """What a backend is made with besides its options.

    `changed()`: call it when the hypervisor tells the backend that the pool's
    machines came, went, started or stopped; the node then looks after the
    pool soon instead of at its next turn.
    """

    pool_id: str
    shared: Shared
    changed: Callable[[], None] = _nothing


@dataclass(frozen=True)
class BackendKind:
    """One kind of backend, as the pools file names it in `[pools.backend] type`.

    `options` checks the table (without `type`) and returns what is stored
    with the pool (plain JSON); it raises pydantic's ValidationError or
    ValueError with a message that says what to fix. `create` makes the
    backend from the stored options. `discovers`: the pool's machines come
    from the backend (`discover`, `provision`), not from [[pools.machines]].
    `clone_limit(options)`: how many machines the backend may make for the
    pool, or None if it makes none.
    """

    name: str
    options: Callable[[Mapping[str, Any]], dict[str, Any]]
    create: Callable[[Mapping[str, Any], Context], Backend]
    recycle_modes: frozenset[RecycleMode] = frozenset({RecycleMode.NONE})
    discovers: bool = False
    clone_limit: Callable[[Mapping[str, Any]], int | None] = lambda _options: None
