"""The libvirt backend: KVM/QEMU and Xen machines through libvirt-python.

Machines are libvirt domains, known by name. Every call looks the domain up
afresh on the node's shared connection (connection.py), so a domain that was
redefined or a connection that was reopened needs nothing special. libvirt's
errors are sorted into the backend error tree: a domain that is not there is
MachineMissing; a connection that failed is HypervisorUnavailable (and the
connection is reopened at the next call).

Consoles are read from the live domain XML at each launch (ports picked by
`autoport`, the listen address; 0.0.0.0 is given as the pool's `address`).
Before each connection a new random console password is set on the running
domain with a short `passwdValidTo`, so what a launcher holds stops working
within `console_ttl`. QEMU accepts a password at run time only if the
display started with one, so the broker puts an initial password into the
domain's configuration before it powers the domain on.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from broker_stub import log
from broker_stub.backends import common
from broker_stub.backends.base import (
    BackendError,
    Console,
    ConsoleTicket,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    SnapshotMissing,
    StorageFull,
)
from broker_stub.backends.libvirt import domxml
from broker_stub.backends.libvirt.clones import delete_clone, make_clone, tagged_pool
from broker_stub.backends.libvirt.connection import Connection, libvirt
from broker_stub.backends.libvirt.options import LibvirtOptions, read_ca
from broker_stub.clock import utcnow

# How soon a launcher asks again about a domain that is starting.
START_RETRY_AFTER_S = 1
_SHUTDOWN_POLL_S = 0.5
T = TypeVar("T")

# Errors that mean the connection (not the request) failed.
_CONNECTION_ERRORS = {
    "VIR_ERR_NO_CONNECT",
    "VIR_ERR_INVALID_CONN",
    "VIR_ERR_SYSTEM_ERROR",  # from the RPC layer only (_is_connection_error)
    "VIR_ERR_RPC",
    "VIR_ERR_AUTH_FAILED",
    "VIR_ERR_AUTH_CANCELLED",
    "VIR_ERR_AUTH_UNAVAILABLE",
    "VIR_ERR_OPERATION_TIMEOUT",
}
_STATES = {
    "VIR_DOMAIN_RUNNING": PowerState.RUNNING,
    "VIR_DOMAIN_BLOCKED": PowerState.RUNNING,
    "VIR_DOMAIN_SHUTDOWN": PowerState.RUNNING,  # shutting down: still running for now
    "VIR_DOMAIN_PAUSED": PowerState.SUSPENDED,
    "VIR_DOMAIN_PMSUSPENDED": PowerState.SUSPENDED,
    "VIR_DOMAIN_SHUTOFF": PowerState.STOPPED,
    "VIR_DOMAIN_CRASHED": PowerState.STOPPED,
}


class LibvirtBackend:
    name = "libvirt"

    def __init__(
        self,
        pool_id: str,
        options: LibvirtOptions,
        connection: Connection,
        *,
        changed: Callable[[], None],
    ) -> None:
        self.pool_id = pool_id
        self.options = options
        self._connection = connection
        self._changed = changed
        connection.listen(self._event)
        shutdown = options.shutdown_timeout.total_seconds()
        # Calls that wait for a guest to shut down may take that long, and then some.
        self.timeouts = {"power_off": shutdown + 60, "recycle": shutdown + 600}

    # Backend protocol

    def check(self) -> None:
        self._do("reach the hypervisor", lambda conn: conn.getLibVersion())

    def discover(self) -> Mapping[str, PowerState]:
        def found(conn: Any) -> dict[str, PowerState]:
            machines = {}
            for domain in conn.listAllDomains(0):
                try:
                    name = domain.name()
                    if self._selects(domain, name):
                        machines[name] = self._power(domain)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        raise
                    # Undefined since the list was made: it is not the pool's any more.
            return machines

        return self._do("list the domains", found)

    def power_state(self, machine: MachineRef) -> PowerState:
        return self._on(machine, "read the power state of", self._power)

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        def start(domain: Any) -> Power:
            state, reason = domain.state()
            if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
                return Power(running=True)
            if state == libvirt.VIR_DOMAIN_PAUSED:
                if reason == libvirt.VIR_DOMAIN_PAUSED_STARTING_UP:
                    # libvirt starts QEMU paused: another caller is starting it right now.
                    return Power(running=False, retry_after=START_RETRY_AFTER_S)
                domain.resume()
                log.backend.info("pool %s: resumed %s", self.pool_id, machine.name)
                return Power(running=True)
            if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
                domain.pMWakeup(0)  # libvirt-python's spelling of virDomainPMWakeup
            elif state == libvirt.VIR_DOMAIN_SHUTOFF or state == libvirt.VIR_DOMAIN_CRASHED:
                if state == libvirt.VIR_DOMAIN_CRASHED:
                    domain.destroy()
                self._protect_consoles(domain)
                try:
                    domain.create()
                except libvirt.libvirtError as exc:
                    # Started meanwhile by another caller (the upkeep's spares, another node).
                    if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                        raise
                    if domain.isActive():
                        return Power(running=True)
                    raise
            # VIR_DOMAIN_SHUTDOWN: still shutting down; ask again shortly.
            log.backend.info("pool %s: starting %s", self.pool_id, machine.name)
            return Power(running=False, retry_after=START_RETRY_AFTER_S)

        return self._on(machine, "start", start)

    def power_off(self, machine: MachineRef) -> None:
        self._on(machine, "power off", self._shut_down)

    def reset(self, machine: MachineRef) -> None:
        self._on(machine, "reset", lambda domain: domain.reset(0))

    def restart(self, machine: MachineRef) -> None:
        self._on(machine, "restart", lambda domain: domain.reboot(0))

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        def revert() -> None:
            self._on(machine, "revert", self._revert)

        common.recycle(self, machine, mode, revert=revert, clones=self.options.clones is not None)

    def provision(self, name: str) -> None:
        clones = self.options.clones
        if clones is None:
            raise NotSupported("make", self.name, common.NO_CLONES)
        self._do(f"make {name}", lambda conn: make_clone(conn, self.pool_id, clones, name))

    def destroy(self, machine: MachineRef) -> None:
        self._do(
            f"delete {machine.name}", lambda conn: delete_clone(conn, self.pool_id, machine.name)
        )

    def console(self, machine: MachineRef, protocol: str) -> Console:
        if protocol not in ("vnc", "spice"):
            raise NoConsole(f"{machine.name}: libvirt gives VNC and SPICE consoles, not {protocol}")
        xml = self._on(machine, "read the console of", lambda domain: domain.XMLDesc(0))
        for device in domxml.graphics(xml):
            if device.protocol != protocol:
                continue
            host = self._host(machine, device)  # first: a socket console has no port either
            if device.port is None and device.tls_port is None:
                raise NoConsole(
                    f"{machine.name}: its {protocol} console has no port (not running?)"
                )
            tls = device.tls_port is not None and protocol == "spice"
            options = self.options
            return Console(
                host=host,
                port=device.port,
                tls_port=device.tls_port,
                ca=read_ca(options.spice_ca_file) if tls and options.spice_ca_file else None,
                host_subject=options.spice_host_subject if tls else None,
            )
        raise NoConsole(f"{machine.name} has no {protocol} graphics device")

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        if protocol not in ("vnc", "spice"):
            return ConsoleTicket(password=None)
        length = domxml.VNC_PASSWORD_LENGTH if protocol == "vnc" else domxml.SPICE_PASSWORD_LENGTH
        password = domxml.random_password(length)
        valid_to = (utcnow() + self.options.console_ttl).replace(microsecond=0)

        def set_password(domain: Any) -> None:
            xml = domain.XMLDesc(0)
            try:
                update = domxml.password_update(xml, protocol, password, valid_to)
            except domxml.DomainXmlError as exc:
                raise NoConsole(f"{machine.name}: {exc}") from None
            try:
                domain.updateDeviceFlags(update, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except libvirt.libvirtError as exc:
                if "set_password" in (exc.get_error_message() or ""):
                    # Started without password authentication: protect the next start.
                    self._protect_consoles(domain)
                    raise NoConsole(
                        f"{machine.name}: its {protocol} console was started without a "
                        "password, so none can be set now; the broker set one in its "
                        "configuration: power the machine off and on once"
                    ) from None
                raise

        self._on(machine, "set the console password of", set_password)
        return ConsoleTicket(password=password, expires_at=valid_to)

    def close(self) -> None:
        # The connection is shared: the node closes it; this pool stops listening.
        self._connection.unlisten(self._event)

    def _event(self, name: str) -> None:
        """A domain on the host came, went, started or stopped."""
        options = self.options
        if options.domains is not None and name not in options.domains:
            return
        if options.name_pattern is not None and not fnmatch.fnmatchcase(name, options.name_pattern):
            return
        self._changed()  # tagged and clone pools cannot tell without asking: look

    # Domains

    def _selects(self, domain: Any, name: str) -> bool:
        options = self.options
        if options.domains is not None:
            return name in options.domains
        if options.name_pattern is not None:
            return fnmatch.fnmatchcase(name, options.name_pattern)
        return tagged_pool(domain) == self.pool_id

    @staticmethod
    def _power(domain: Any) -> PowerState:
        state = domain.state()[0]
        for constant, power in _STATES.items():
            if state == getattr(libvirt, constant):
                return power
        return PowerState.UNKNOWN

    def _shut_down(self, domain: Any) -> None:
        """ACPI shutdown; a hard power-off once `shutdown_timeout` passed (a guest
        without an OS ignores ACPI)."""
        if not domain.isActive():
            return
        name = domain.name()
        try:
            domain.shutdown()
        except libvirt.libvirtError as exc:
            log.backend.info("pool %s: %s refused a shutdown: %s", self.pool_id, name, exc)
        deadline = time.monotonic() + self.options.shutdown_timeout.total_seconds()
        while time.monotonic() < deadline:
            if not domain.isActive():
                log.backend.info("pool %s: %s shut down", self.pool_id, name)
                return
            time.sleep(_SHUTDOWN_POLL_S)
        if domain.isActive():
            log.backend.info(
                "pool %s: %s did not shut down within %ss; powering it off",
                self.pool_id,
                name,
                self.options.shutdown_timeout.total_seconds(),
            )
            domain.destroy()

    def _revert(self, domain: Any) -> None:
        wanted = self.options.snapshot
        try:
            if wanted is None:
                snapshot = domain.snapshotCurrent(0)
            else:
                snapshot = domain.snapshotLookupByName(wanted, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                which = f"snapshot {wanted!r}" if wanted else "current snapshot"
                raise SnapshotMissing(
                    f"{domain.name()} has no {which} to revert to; make one "
                    f"(virsh snapshot-create-as {domain.name()} NAME) or fix the pool's snapshot"
                ) from None
            raise
        domain.revertToSnapshot(snapshot, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE)
        log.backend.info(
            "pool %s: %s reverted to %s", self.pool_id, domain.name(), snapshot.getName()
        )

    def _protect_consoles(self, domain: Any) -> None:
        """Give the consoles in the domain's configuration a password if they have none."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        xml = domain.XMLDesc(flags)
        initial = domxml.random_password(domxml.VNC_PASSWORD_LENGTH)
        for device in domxml.graphics(xml):
            if not device.has_password:
                update = domxml.password_update(xml, device.protocol, initial, None)
                domain.updateDeviceFlags(update, libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    def _host(self, machine: MachineRef, device: domxml.Graphics) -> str:
        """The address a launcher connects to for a console listening on `device.listen`."""
        if device.listen_kind not in ("address", "network"):
            where = "on a UNIX socket" if device.listen_kind == "socket" else "nowhere"
            raise NoConsole(
                f"{machine.name}: its {device.protocol} console listens {where}, "
                "not on a network address; give it <listen type='address' address='0.0.0.0'/>"
            )
        remote = self.options.remote_host
        if domxml.is_any_address(device.listen):
            return self.options.address or remote or "127.0.0.1"
        assert device.listen is not None
        if remote is not None and domxml.is_loopback(device.listen):
            raise NoConsole(
                f"{machine.name}: its {device.protocol} console listens on {device.listen} "
                f"of {remote}, which launchers cannot reach; listen on 0.0.0.0 or the host's "
                "address instead"
            )
        return device.listen

    # Calls

    def _on(self, machine: MachineRef, doing: str, act: Callable[[Any], T]) -> T:
        """Run `act` on the machine's domain; libvirt's errors in the backend's words."""

        def on_domain(conn: Any) -> T:
            try:
                domain = conn.lookupByName(machine.name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    raise MachineMissing(
                        f"libvirt at {self.options.uri} has no domain {machine.name!r}"
                    ) from None
                raise
            return act(domain)

        return self._do(f"{doing} {machine.name}", on_domain)

    def _do(self, doing: str, act: Callable[[Any], T]) -> T:
        conn = self._connection.get()
        try:
            return act(conn)
        except BackendError:
            raise
        except libvirt.libvirtError as exc:
            message = exc.get_error_message() or str(exc)
            if _is_connection_error(exc) or not _alive(conn):
                self._connection.broken()
                raise HypervisorUnavailable(
                    f"libvirt at {self.options.uri} failed to {doing}: {message}"
                ) from None
            if "No space left" in message:
                raise StorageFull(f"cannot {doing}: {message}") from None
            raise BackendError(f"cannot {doing}: {message}") from None


def _is_connection_error(exc: Any) -> bool:
    code = exc.get_error_code()
    if code == libvirt.VIR_ERR_SYSTEM_ERROR:
        # A system error is the connection's only when it comes from the RPC layer; the
        # driver reports a disk that is missing or full with the same code.
        return exc.get_error_domain() in (libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE)
    return any(code == getattr(libvirt, name, None) for name in _CONNECTION_ERRORS)


def _alive(conn: Any) -> bool:
    try:
        return bool(conn.isAlive())
    except libvirt.libvirtError:
        return False
