"""The Hyper-V backend: VMs on one Hyper-V host, through PowerShell remoting.

Every action is a short list of statements (commands.py) that a runner
(runner.py) runs on the host. A call finds its VM by exact name first (one
`Get-VM -Name`), then acts on it by its Id, so a name with wildcard
characters or a second VM of the same name is never acted on by mistake.
Cmdlets' error records are sorted into the backend error tree here.

Consoles are RDP: to the guest's own address (what its integration services
report, IPv4 first), or with `console = "vmconnect"` to the VM's console
through the host's VMConnect port 2179, where the VM's Id goes as the
preconnection blob and the user signs in to the Hyper-V host.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

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
from broker_stub.backends.hyperv import clones, commands
from broker_stub.backends.hyperv.commands import Statement
from broker_stub.backends.hyperv.options import VMCONNECT_PORT, HyperVOptions
from broker_stub.backends.hyperv.runner import (
    INVALID_ARGUMENT,
    OBJECT_NOT_FOUND,
    PERMISSION_DENIED,
    CallTimedOut,
    ErrorInfo,
    PowerShellFailed,
    Runner,
)

# How soon a launcher asks again about a VM that is starting.
START_RETRY_AFTER_S = 1
# ... and about one that runs but whose guest has not reported an address yet.
ADDRESS_RETRY_AFTER_S = 2
HYPERV_ADMINS = "Hyper-V Administrators"

# Microsoft.HyperV.PowerShell.VMState names, as the objects' ToString gives them.
_RUNNING = {"Running", "RunningCritical"}
_STOPPED = {"Off", "OffCritical"}
_SUSPENDED = {"Paused", "PausedCritical", "Saved", "SavedCritical", "FastSaved"}
_DISK_FULL = ("not enough space on the disk", "0x80070070")


class HyperVBackend:
    name = "hyperv"

    def __init__(self, pool_id: str, options: HyperVOptions, runner: Runner) -> None:
        self.pool_id = pool_id
        self.options = options
        self._runner = runner
        shutdown = options.shutdown_timeout.total_seconds()
        self._operation = options.operation_timeout.total_seconds()
        # A call may run several cmdlets, each allowed `operation_timeout`.
        operation = self._operation
        self.timeouts = {
            "check": operation,
            "discover": 2 * operation,
            "power_state": 2 * operation,
            "power_on": 4 * operation,
            "reset": 3 * operation,
            "console": 3 * operation,
            "power_off": shutdown + 3 * operation,
            "restart": shutdown + 4 * operation,
            "recycle": shutdown + 600,
        }

    # Backend protocol

    def check(self) -> None:
        self.run("reach the host", commands.host())

    def discover(self) -> Mapping[str, PowerState]:
        return {
            vm["Name"]: power_state(vm["State"])
            for vm in self.run("list the VMs", commands.list_vms())
            if self._selects(vm)
        }

    def power_state(self, machine: MachineRef) -> PowerState:
        return power_state(self.find(machine.name)["State"])

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        vm = self.find(machine.name)
        state = str(vm["State"])
        if state in _RUNNING:
            if self._guest_console(protocol) and self._address(vm) is None:
                # Up, but its integration services have not said its address yet.
                return Power(running=False, retry_after=ADDRESS_RETRY_AFTER_S)
            return Power(running=True)
        if state.startswith("Paused"):
            self.run(f"resume {machine.name}", commands.resume(vm["Id"]))
            log.backend.info("pool %s: resumed %s", self.pool_id, machine.name)
        elif state in _STOPPED or state.startswith("Saved") or state == "FastSaved":
            self.run(f"start {machine.name}", commands.start(vm["Id"]))
            log.backend.info("pool %s: started %s", self.pool_id, machine.name)
        # Starting, Stopping, Saving, Resuming ...: ask again shortly.
        return Power(running=False, retry_after=START_RETRY_AFTER_S)

    def power_off(self, machine: MachineRef) -> None:
        self.shut_down(self.find(machine.name))

    def reset(self, machine: MachineRef) -> None:
        vm = self.find(machine.name)
        self.run(f"reset {machine.name}", commands.reset(vm["Id"]))

    def restart(self, machine: MachineRef) -> None:
        # Hyper-V's Restart-VM is a hard reset; an orderly one is a shutdown and a start.
        vm = self.find(machine.name)
        self.shut_down(vm)
        self.run(f"start {machine.name}", commands.start(vm["Id"]))

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        made = self.options.clones is not None
        common.recycle(
            self, machine, mode, clones=made, revert=lambda: self._revert(self.find(machine.name))
        )

    def provision(self, name: str) -> None:
        if self.options.clones is None:
            raise NotSupported("make", self.name, common.NO_CLONES)
        clones.make(self, self.options.clones, name)

    def destroy(self, machine: MachineRef) -> None:
        if self.options.clones is None:
            raise NotSupported("delete", self.name, common.NO_CLONES)
        clones.delete(self, self.options.clones, self.find(machine.name))

    def console(self, machine: MachineRef, protocol: str) -> Console:
        if protocol != "rdp":
            raise NoConsole(f"{machine.name}: Hyper-V gives RDP consoles, not {protocol}")
        vm = self.find(machine.name)
        if self.options.console == "vmconnect":
            return Console(host=self.options.host, port=VMCONNECT_PORT, vmconnect=vm["Id"])
        address = self._address(vm)
        if address is None:
            raise NoConsole(
                f"{machine.name} reports no IP address: are its integration services "
                "(the Data Exchange service) running in the guest?"
            )
        return Console(host=address, port=self.options.rdp_port)

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        return ConsoleTicket(password=None)  # RDP: the user signs in to the desktop

    def close(self) -> None:
        return None  # the runner is the node's, shared by the host's pools

    # Helpers (clones.py uses them too)

    def run(
        self, doing: str, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[Any]:
        """The statements' output; their error records in the backend's words."""
        try:
            return self._runner.run(statements, timeout=timeout or self._operation)
        except PowerShellFailed as exc:
            raise self._sorted(doing, exc.errors) from None

    def find(self, name: str) -> dict[str, Any]:
        """The VM called exactly `name`: Name, Id, State, Notes."""
        found = [
            vm
            for vm in self.run(f"find {name}", commands.find_vm(name))
            if isinstance(vm, dict) and vm.get("Name") == name
        ]
        if not found:
            raise MachineMissing(f"the Hyper-V host {self.options.host} has no VM {name!r}")
        if len(found) > 1:
            raise BackendError(
                f"the Hyper-V host {self.options.host} has {len(found)} VMs called {name!r}; "
                "rename all but one"
            )
        return found[0]

    def shut_down(self, vm: Mapping[str, Any]) -> None:
        """Orderly shutdown; a hard power-off once it failed or `shutdown_timeout` passed
        (a guest without the shutdown integration service ignores the request)."""
        state, name = str(vm["State"]), vm["Name"]
        if state in _STOPPED:
            return
        if not state.startswith("Saved"):  # a saved VM has no guest running to ask
            try:
                self.run(
                    f"shut down {name}",
                    commands.shut_down(vm["Id"]),
                    timeout=self.options.shutdown_timeout.total_seconds(),
                )
                log.backend.info("pool %s: %s shut down", self.pool_id, name)
                return
            except MachineMissing:
                raise
            except HypervisorUnavailable as exc:
                if not isinstance(exc, CallTimedOut):
                    raise  # the host is away: turning off would fail the same way
                log.backend.info(
                    "pool %s: %s did not shut down (%s); turning it off", self.pool_id, name, exc
                )
            except BackendError as exc:
                log.backend.info(
                    "pool %s: %s did not shut down (%s); turning it off", self.pool_id, name, exc
                )
        self.run(f"turn off {name}", commands.turn_off(vm["Id"]))

    # Inside

    def _guest_console(self, protocol: str) -> bool:
        return protocol == "rdp" and self.options.console == "guest"

    def _selects(self, vm: Mapping[str, Any]) -> bool:
        if self.options.name_pattern is not None:
            return fnmatch.fnmatchcase(str(vm.get("Name")), self.options.name_pattern)
        return clones.marked(vm) == self.pool_id

    def _address(self, vm: Mapping[str, Any]) -> str | None:
        adapters = self.run(f"read the addresses of {vm['Name']}", commands.addresses(vm["Id"]))
        found = [a for adapter in adapters for a in (adapter.get("IPAddresses") or [])]
        return best_address(found)

    def _revert(self, vm: Mapping[str, Any]) -> None:
        name, wanted = vm["Name"], self.options.checkpoint
        found = self.run(f"list the checkpoints of {name}", commands.checkpoints(vm["Id"]))
        if wanted is not None:
            found = [c for c in found if c.get("Name") == wanted]
        if not found:
            which = f"checkpoint {wanted!r}" if wanted else "checkpoint"
            raise SnapshotMissing(
                f"{name} has no {which} to restore; make one (Checkpoint-VM -Name {name} "
                "-SnapshotName NAME) or fix the pool's checkpoint"
            )
        newest = max(found, key=lambda c: _when(c.get("CreationTime")))
        self.run(f"restore {name}", commands.restore(vm["Id"], newest["Name"]))
        log.backend.info("pool %s: %s restored to %s", self.pool_id, name, newest["Name"])

    def _sorted(self, doing: str, errors: Sequence[ErrorInfo]) -> BackendError:
        first = errors[0] if errors else ErrorInfo("", 0, "no error record")
        said = f"{first.message} ({first.error_id})" if first.error_id else first.message
        where = f"the Hyper-V host {self.options.host}"
        if first.category == PERMISSION_DENIED or first.error_id.startswith("AccessDenied"):
            return BackendError(
                f"{where} does not let the broker's account {doing}: {said}. Add the account "
                f"to the host's local group {HYPERV_ADMINS!r}"
            )
        if first.error_id.startswith("CommandNotFoundException"):
            return BackendError(
                f"{where} has no Hyper-V PowerShell module: {said}. Install it there "
                "(Install-WindowsFeature Hyper-V-PowerShell)"
            )
        if any(text in first.message.lower() for text in _DISK_FULL):
            return StorageFull(f"{where} cannot {doing}: {said}")
        missing = first.category in (OBJECT_NOT_FOUND, INVALID_ARGUMENT)
        if missing and first.error_id.endswith(".GetVM"):
            return MachineMissing(f"{where} cannot {doing}: {said}")
        if missing and first.error_id.endswith((".GetVMSnapshot", ".GetVMCheckpoint")):
            return SnapshotMissing(f"{where} cannot {doing}: {said}")
        return BackendError(f"{where} cannot {doing}: {said}")


def power_state(state: Any) -> PowerState:
    text = str(state)
    if text in _RUNNING or text in ("Starting", "Stopping", "Saving", "Pausing", "Resuming"):
        return PowerState.RUNNING
    if text in _STOPPED:
        return PowerState.STOPPED
    if text in _SUSPENDED:
        return PowerState.SUSPENDED
    return PowerState.UNKNOWN


def best_address(addresses: Sequence[str]) -> str | None:
    """Where to reach the guest: a routable IPv4 address first, then IPv6 (not link-local)."""
    ranked = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.is_link_local or address.is_unspecified:
            continue
        ranked.append((address.version, text))
    return sorted(ranked, key=lambda r: r[0])[0][1] if ranked else None


def _when(value: Any) -> datetime:
    """A .NET DateTime as CLIXML writes it (seven decimals) as a datetime."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(value or "")).replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)
