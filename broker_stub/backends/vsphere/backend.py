"""The vSphere backend: VMs of a vCenter or a single ESXi host through pyVmomi.

Machines are VMs, known by name within the pool's scope (a folder, a resource
pool, or the whole inventory for name patterns, tags and clones). Each call
goes through the node's shared session (connection.py), which signs in again
when vCenter ended the session; faults are sorted into the backend error tree
(faults.py). Every task is waited for with `task_timeout`.

Consoles: VNC through the VM's `RemoteDisplay.vnc.*` settings, which the
broker writes before each power-on: a port from `vnc_ports` that no other
running VM on the same host has, and a new random password, so the password
a user got stops working when the VM next powers off (a recycle with
`poweroff`, `revert` to a powered-off snapshot or `rebuild` gives the next
user a new one). ESXi reads these settings at power-on; ESXi 7 and later
have no VNC server at all, so there the pool's protocol is RDP, to the
guest's address as VMware Tools report it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from broker_stub import log
from broker_stub.backends import common
from broker_stub.backends.base import (
    BackendError,
    Console,
    ConsoleTicket,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    SnapshotMissing,
)
from broker_stub.backends.vsphere import clones as clone_ops
from broker_stub.backends.vsphere.connection import Connection, vim, vmodl
from broker_stub.backends.vsphere.inventory import (
    MARK,
    VNC_ENABLED,
    VNC_PASSWORD,
    VNC_PORT,
    at_path,
    collect,
    extra_config,
    option_values,
    read,
    vm_named,
)
from broker_stub.backends.vsphere.options import VsphereOptions

# How soon a launcher asks again about a VM that is starting.
START_RETRY_AFTER_S = 1
# ... and about a running VM whose guest has no address yet (RDP).
ADDRESS_RETRY_AFTER_S = 2
# VNC uses the first 8 characters of a password; ESXi's server takes no more.
VNC_PASSWORD_LENGTH = 8
_SHUTDOWN_POLL_S = 0.5
_ALPHABET = string.ascii_letters + string.digits
_STATES = {
    "poweredOn": PowerState.RUNNING,
    "poweredOff": PowerState.STOPPED,
    "suspended": PowerState.SUSPENDED,
}
T = TypeVar("T")
# A guest that cannot reboot itself: no Tools, a state that refuses it, or a server
# without the call (vcsim).
_REBOOT_REFUSED = (
    (vim.fault.ToolsUnavailable, vim.fault.InvalidState, vmodl.fault.MethodNotFound)
    if vim is not None
    else ()
)


def random_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(VNC_PASSWORD_LENGTH))


def free_port(wanted: int | None, taken: set[int], first: int, last: int) -> int | None:
    """`wanted` if it is in [first, last] and not taken, else the lowest free port there."""
    if wanted is not None and first <= wanted <= last and wanted not in taken:
        return wanted
    return next((port for port in range(first, last + 1) if port not in taken), None)


def guest_address(guest: Any) -> str | None:
    """The guest's address as VMware Tools report it: IPv4 first, link-local never."""
    found = [guest.ipAddress] if guest is not None and guest.ipAddress else []
    for nic in (guest.net if guest is not None else None) or []:
        found += list(nic.ipAddress or [])
    usable = [a for a in found if a and not a.startswith(("fe80:", "169.254."))]
    return next((a for a in usable if ":" not in a), None) or next(iter(usable), None)


class VsphereBackend:
    name = "vsphere"

    def __init__(self, pool_id: str, options: VsphereOptions, connection: Connection) -> None:
        self.pool_id = pool_id
        self.options = options
        self._connection = connection
        self._known: dict[str, str] = {}  # name -> the VM's managed object id, found before
        self._known_lock = threading.Lock()
        shutdown = options.shutdown_timeout.total_seconds()
        task = options.task_timeout.total_seconds()
        # Calls that wait for tasks or a guest's shutdown may take that long, and then some.
        self.timeouts = {
            "power_on": 2 * task + 30,
            "power_off": shutdown + task + 30,
            "reset": task + 30,
            "restart": task + 30,
            "recycle": shutdown + 3 * task + 30,
            "provision": 2 * task + 60,
            "destroy": 2 * task + 30,
        }

    # Backend protocol

    def check(self) -> None:
        self._do("reach vSphere", lambda si: si.content.rootFolder.name)

    def discover(self) -> Mapping[str, PowerState]:
        options = self.options
        marked = options.tagged or options.clones is not None
        properties = ["name", "runtime.powerState", "config.template"]
        if marked:
            properties.append("config.extraConfig")

        def found(si: Any) -> dict[str, PowerState]:
            machines: dict[str, PowerState] = {}
            known: dict[str, Any] = {}
            for vm, values in collect(si, self._scope(si), properties):
                name = values.get("name")
                if not name or values.get("config.template"):
                    continue
                if options.name_pattern and not fnmatch.fnmatchcase(name, options.name_pattern):
                    continue
                if marked and extra_config(values.get("config.extraConfig")).get(MARK) != (
                    self.pool_id
                ):
                    continue
                machines[name] = _STATES.get(
                    str(values.get("runtime.powerState")), PowerState.UNKNOWN
                )
                known[name] = vm._moId
            with self._known_lock:
                self._known = known
            return machines

        return self._do("list the VMs", found)

    def power_state(self, machine: MachineRef) -> PowerState:
        return self._on(
            machine,
            "read the power state of",
            lambda vm: _power(vm.runtime.powerState),
        )

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        def start(si: Any) -> Power:
            vm = self._find(si, machine.name)
            state = vm.runtime.powerState
            if state == vim.VirtualMachinePowerState.poweredOn:
                if protocol == "rdp" and guest_address(vm.guest) is None:
                    return Power(running=False, retry_after=ADDRESS_RETRY_AFTER_S)
                return Power(running=True)
            if state == vim.VirtualMachinePowerState.poweredOff and protocol == "vnc":
                self._prepare_vnc(si, vm, machine.name)
            # Powered on meanwhile by another caller (the upkeep's spares, another node): fine.
            with contextlib.suppress(vim.fault.InvalidPowerState):
                self._wait(vm.PowerOnVM_Task(), f"power on {machine.name}")
            log.backend.info("pool %s: powered on %s", self.pool_id, machine.name)
            return Power(running=False, retry_after=START_RETRY_AFTER_S)

        return self._do(f"power on {machine.name}", start)

    def power_off(self, machine: MachineRef) -> None:
        self._on(machine, "power off", lambda vm: self._shut_down(vm, machine.name))

    def reset(self, machine: MachineRef) -> None:
        self._on(
            machine, "reset", lambda vm: self._wait(vm.ResetVM_Task(), f"reset {machine.name}")
        )

    def restart(self, machine: MachineRef) -> None:
        def reboot(vm: Any) -> None:
            if _tools_running(vm):
                try:
                    vm.RebootGuest()
                    return
                except (
                    vim.fault.ToolsUnavailable,
                    vim.fault.InvalidState,
                    vmodl.fault.MethodNotFound,
                ) as exc:
                    log.backend.info(
                        "pool %s: %s refused a guest reboot (%s); resetting it",
                        self.pool_id,
                        machine.name,
                        type(exc).__name__,
                    )
            else:
                log.backend.info(
                    "pool %s: VMware Tools are not running in %s; resetting it",
                    self.pool_id,
                    machine.name,
                )
            self._wait(vm.ResetVM_Task(), f"reset {machine.name}")

        self._on(machine, "restart", reboot)

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        def revert() -> None:
            self._do(
                f"revert {machine.name}",
                lambda si: self._revert(si, self._find(si, machine.name), machine.name),
            )

        common.recycle(self, machine, mode, revert=revert, clones=self.options.clones is not None)

    def provision(self, name: str) -> None:
        clones = self.options.clones
        if clones is None:
            raise NotSupported("make", self.name, common.NO_CLONES)
        self._do(
            f"make {name}",
            lambda si: clone_ops.make_clone(si, self.pool_id, clones, name, self._wait),
        )

    def destroy(self, machine: MachineRef) -> None:
        self._do(
            f"delete {machine.name}",
            lambda si: clone_ops.delete_clone(
                si, self._scope(si), self.pool_id, machine.name, self._wait
            ),
        )
        with self._known_lock:
            self._known.pop(machine.name, None)

    def console(self, machine: MachineRef, protocol: str) -> Console:
        if protocol == "rdp":

            def address(vm: Any) -> Console:
                found = guest_address(vm.guest)
                if found is None:
                    raise NoConsole(
                        f"{machine.name}: VMware Tools report no address for its guest yet; "
                        "are the Tools installed and running?"
                    )
                return Console(host=found, port=self.options.rdp_port)

            return self._on(machine, "read the guest address of", address)
        if protocol != "vnc":
            raise NoConsole(f"{machine.name}: vSphere gives VNC and RDP consoles, not {protocol}")

        def vnc(vm: Any) -> Console:
            config = extra_config(vm.config.extraConfig)
            port = config.get(VNC_PORT, "")
            if config.get(VNC_ENABLED, "").lower() != "true" or not port.isdigit():
                raise NoConsole(
                    f"{machine.name}: its VNC console is not enabled; the broker enables it "
                    "when it powers the VM on: power the VM off and launch again (ESXi 7 and "
                    "later have no VNC server: use RDP there)"
                )
            host = vm.runtime.host
            if host is None:
                raise NoConsole(f"{machine.name} runs on no host vSphere names")
            name = str(host.name)
            return Console(host=self.options.host_addresses.get(name, name), port=int(port))

        return self._on(machine, "read the console of", vnc)

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        if protocol != "vnc":
            return ConsoleTicket(password=None)

        def read(vm: Any) -> ConsoleTicket:
            password = extra_config(vm.config.extraConfig).get(VNC_PASSWORD)
            if not password:
                raise NoConsole(
                    f"{machine.name}: its VNC console has no password; power the VM off and "
                    "launch again, and the broker sets one"
                )
            # Set at power-on: it works until the VM next powers off (no sooner end is known).
            return ConsoleTicket(password=password)

        return self._on(machine, "read the console password of", read)

    def close(self) -> None:
        # The session is shared: the node closes it.
        with self._known_lock:
            self._known.clear()

    # VMs

    def _scope(self, si: Any) -> Any:
        options = self.options
        if options.folder is not None:
            return at_path(si, options.folder, "folder")
        if options.resource_pool is not None:
            return at_path(si, options.resource_pool, "resource pool")
        return si.content.rootFolder

    def _find(self, si: Any, name: str) -> Any:
        with self._known_lock:
            known = self._known.get(name)
        if known is not None:
            # Bound to this session: one the broker signed in again with may be new.
            vm = vim.VirtualMachine(known, si._stub)
            try:
                if vm.name == name:
                    return vm
            except vmodl.fault.ManagedObjectNotFound:
                pass  # deleted since: look again
        vm = vm_named(si, self._scope(si), name)
        if vm is None:
            raise MachineMissing(f"there is no VM {name!r} in the pool's part of vSphere")
        with self._known_lock:
            self._known[name] = vm._moId
        return vm

    def _prepare_vnc(self, si: Any, vm: Any, name: str) -> None:
        """A port no other running VM on the host has, and a new password, before power-on."""
        host = vm.runtime.host
        taken: set[int] = set()
        if host is not None:
            for other, values in collect(si, host, ["runtime.powerState", "config.extraConfig"]):
                if other == vm or values.get("runtime.powerState") != "poweredOn":
                    continue
                used = extra_config(values.get("config.extraConfig")).get(VNC_PORT, "")
                if used.isdigit():
                    taken.add(int(used))
        had = extra_config(vm.config.extraConfig).get(VNC_PORT, "")
        first, last = self.options.vnc_ports
        port = free_port(int(had) if had.isdigit() else None, taken, first, last)
        if port is None:
            raise BackendError(
                f"cannot power on {name}: every VNC port {first}-{last} on its host is taken; "
                "widen the pool's vnc_ports (and the host's firewall rule), or use RDP"
            )
        settings = {VNC_ENABLED: "true", VNC_PORT: str(port), VNC_PASSWORD: random_password()}
        spec = vim.vm.ConfigSpec(extraConfig=option_values(settings))
        self._wait(vm.ReconfigVM_Task(spec=spec), f"set the VNC console of {name}")

    def _shut_down(self, vm: Any, name: str) -> None:
        """The guest's own shutdown through VMware Tools; a hard power-off once
        `shutdown_timeout` passed, or at once without Tools."""
        state = vm.runtime.powerState
        if state == vim.VirtualMachinePowerState.poweredOff:
            return
        if state == vim.VirtualMachinePowerState.poweredOn and _tools_running(vm):
            try:
                vm.ShutdownGuest()
            except (vim.fault.ToolsUnavailable, vim.fault.InvalidState) as exc:
                log.backend.info("pool %s: %s refused a shutdown: %s", self.pool_id, name, exc.msg)
            else:
                deadline = time.monotonic() + self.options.shutdown_timeout.total_seconds()
                while time.monotonic() < deadline:
                    if vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOff:
                        log.backend.info("pool %s: %s shut down", self.pool_id, name)
                        return
                    time.sleep(_SHUTDOWN_POLL_S)
                log.backend.info(
                    "pool %s: %s did not shut down within %ss; powering it off",
                    self.pool_id,
                    name,
                    self.options.shutdown_timeout.total_seconds(),
                )
        with contextlib.suppress(vim.fault.InvalidPowerState):  # off meanwhile
            self._wait(vm.PowerOffVM_Task(), f"power off {name}")

    def _revert(self, si: Any, vm: Any, name: str) -> None:
        wanted = self.options.snapshot
        snapshots = read(si, vm, ["snapshot"]).get("snapshot")
        tree = None
        if snapshots is not None:
            nodes = clone_ops.walk(snapshots.rootSnapshotList)
            if wanted is None:
                tree = next((n for n in nodes if n.snapshot == snapshots.currentSnapshot), None)
            else:
                tree = next((n for n in nodes if n.name == wanted), None)
        if tree is None:
            which = f"snapshot {wanted!r}" if wanted else "current snapshot"
            raise SnapshotMissing(
                f"{name} has no {which} to revert to; take one (powered off, so each user "
                "gets a new console password) or change the pool's snapshot"
            )
        self._wait(tree.snapshot.RevertToSnapshot_Task(), f"revert {name} to {tree.name!r}")
        # The VM's power is the snapshot's; make sure of it (vcsim keeps it on).
        if tree.state == vim.VirtualMachinePowerState.poweredOff and (
            vm.runtime.powerState != vim.VirtualMachinePowerState.poweredOff
        ):
            self._wait(vm.PowerOffVM_Task(), f"power off {name}")
        log.backend.info("pool %s: reverted %s to %r", self.pool_id, name, tree.name)

    def _wait(self, task: Any, doing: str) -> Any:
        return self._connection.wait(task, doing)

    def _on(self, machine: MachineRef, doing: str, act: Callable[[Any], T]) -> T:
        return self._do(f"{doing} {machine.name}", lambda si: act(self._find(si, machine.name)))

    def _do(self, doing: str, act: Callable[[Any], T]) -> T:
        return self._connection.run(doing, act)


def _power(state: object) -> PowerState:
    return _STATES.get(str(state), PowerState.UNKNOWN)


def _tools_running(vm: Any) -> bool:
    guest = vm.guest
    return guest is not None and guest.toolsRunningStatus == "guestToolsRunning"
