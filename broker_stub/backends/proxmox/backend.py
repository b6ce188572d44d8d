"""The Proxmox VE backend: QEMU VMs of a cluster through its API, with an API token.

Machines are VMs known by name, looked up afresh in `/cluster/resources` at
each call (so a VM that migrated to another node needs nothing special).
Containers and templates are never machines. Power actions, rollbacks,
clones and deletions are PVE tasks: each is awaited (`task_timeout`) and its
exit status checked.

Consoles: SPICE through the cluster's SPICE proxy. `console()` names the
proxy (what the health probe knocks on) without spending a ticket; the
ticket from `spiceproxy` names where it works (`ConsoleTicket.console`).
VNC: PVE's `vncproxy` opens a port on the node for one connection within
10 s, speaks TLS from the first byte (pveproxy's certificate) and only then
VNC, with a generated password. No native VNC client (TigerVNC's vncviewer,
remote-viewer) speaks VNC inside plain TLS: they know VeNCrypt, which
negotiates TLS inside RFB. So VNC pools raise NoConsole saying so.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from broker_stub.backends.proxmox import spice
from broker_stub.backends.proxmox.api import Api
from broker_stub.backends.proxmox.options import ProxmoxOptions, pool_tag
from broker_stub.clock import utcnow

# How soon a launcher asks again about a VM that is starting.
START_RETRY_AFTER_S = 1
# Another broker node took the id /cluster/nextid gave: ask again, this often.
NEXTID_ATTEMPTS = 5
VNC_HINT = (
    "Proxmox's vncproxy wraps VNC in TLS from its first byte, which no native VNC "
    'client (TigerVNC, remote-viewer) speaks; use protocol = "spice" for Proxmox pools'
)


@dataclass(frozen=True)
class Vm:
    """One QEMU VM as /cluster/resources lists it."""

    vmid: int
    node: str
    name: str
    status: str
    tags: frozenset[str]
    resource_pool: str | None
    template: bool

    @property
    def path(self) -> str:
        return f"nodes/{self.node}/qemu/{self.vmid}"

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Vm:
        tags = str(item.get("tags") or "").replace(",", ";").replace(" ", ";")
        return cls(
            vmid=int(item["vmid"]),
            node=str(item["node"]),
            name=str(item.get("name") or ""),
            status=str(item.get("status") or "unknown"),
            tags=frozenset(t for t in tags.split(";") if t),
            resource_pool=item.get("pool") or None,
            template=bool(item.get("template")),
        )


class ProxmoxBackend:
    name = "proxmox"

    def __init__(self, pool_id: str, options: ProxmoxOptions, api: Api) -> None:
        self.pool_id = pool_id
        self.options = options
        self._api = api
        self._task_s = options.task_timeout.total_seconds()
        shutdown = options.shutdown_timeout.total_seconds()
        # Calls that wait for tasks may take that long, and then some.
        self.timeouts = {
            "power_on": self._task_s + 30,
            "power_off": shutdown + 2 * self._task_s + 30,
            "reset": self._task_s + 30,
            "restart": self._task_s + 30,
            "recycle": shutdown + 4 * self._task_s + 60,
            "provision": 3 * self._task_s + 60,
            "destroy": 2 * self._task_s + 60,
        }

    # Backend protocol

    def check(self) -> None:
        self._api.get("version", "reach the API")

    def discover(self) -> Mapping[str, PowerState]:
        return {vm.name: _power_of(vm.status) for vm in self._vms()}

    def power_state(self, machine: MachineRef) -> PowerState:
        vm = self._vm(machine)
        current = self._api.get(f"{vm.path}/status/current", f"read the power of {vm.name}")
        return _power_of(str(current.get("qmpstatus") or current.get("status")), current)

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        vm = self._vm(machine)
        if protocol == "vnc":
            raise NoConsole(f"{vm.name}: {VNC_HINT}")
        current = self._api.get(f"{vm.path}/status/current", f"read the power of {vm.name}")
        qmp = str(current.get("qmpstatus") or current.get("status"))
        if qmp == "running":
            return Power(running=True)
        if qmp in ("paused", "suspended") and current.get("status") == "running":
            self._task(vm, "status/resume", "resume")
            log.backend.info("pool %s: resumed %s", self.pool_id, vm.name)
            return Power(running=True)
        if current.get("status") == "stopped":
            try:
                self._task(vm, "status/start", "start")
            except BackendError as exc:
                # Started meanwhile by another caller (the upkeep's spares, another node).
                if "already running" not in str(exc):
                    raise
            log.backend.info("pool %s: starting %s", self.pool_id, vm.name)
        # Still stopping or starting: ask again shortly.
        return Power(running=False, retry_after=START_RETRY_AFTER_S)

    def power_off(self, machine: MachineRef) -> None:
        self._shut_down(self._vm(machine))

    def reset(self, machine: MachineRef) -> None:
        self._task(self._vm(machine), "status/reset", "reset")

    def restart(self, machine: MachineRef) -> None:
        self._task(self._vm(machine), "status/reboot", "restart")

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        made = self.options.clones is not None
        common.recycle(
            self, machine, mode, clones=made, revert=lambda: self._roll_back(self._vm(machine))
        )

    def provision(self, name: str) -> None:
        clones = self.options.clones
        if clones is None:
            raise NotSupported("make", self.name, common.NO_CLONES)
        everything = self._resources()
        template = self._template(everything)
        for vm in everything:
            if vm.name == name and not vm.template:
                self._delete(vm)  # a clone a node made and then died before it was recorded
        data: dict[str, Any] = {
            "name": name,
            "full": 0,
            "description": f"Made by Rubicon for pool {self.pool_id}.",
        }
        if clones.node is not None and clones.node != template.node:
            data["target"] = clones.node
        if clones.resource_pool is not None:
            data["pool"] = clones.resource_pool
        vm = self._clone(template, name, data)
        tags = sorted({*_config_tags(vm, self._api), pool_tag(self.pool_id)})
        self._api.put(f"{vm.path}/config", f"tag {name}", tags=";".join(tags))
        log.backend.info("pool %s: made %s (VM %s on %s)", self.pool_id, name, vm.vmid, vm.node)

    def destroy(self, machine: MachineRef) -> None:
        found = [vm for vm in self._resources() if vm.name == machine.name and not vm.template]
        if not found:
            raise MachineMissing(f"Proxmox VE has no VM {machine.name!r} to delete")
        for vm in found:
            self._delete(vm)

    def console(self, machine: MachineRef, protocol: str) -> Console:
        vm = self._vm(machine)
        if protocol == "vnc":
            raise NoConsole(f"{vm.name}: {VNC_HINT}")
        if protocol != "spice":
            raise NoConsole(f"{vm.name}: Proxmox gives SPICE consoles, not {protocol}")
        config = self._api.get(f"{vm.path}/config", f"read the configuration of {vm.name}")
        if not str(config.get("vga") or "").startswith("qxl"):
            raise NoConsole(
                f"{vm.name}: its display is not SPICE; set Hardware > Display to SPICE (qxl)"
            )
        # Where the launcher will connect comes with the ticket; the proxy is known now.
        return Console(host=vm.node, port=None, proxy=spice.proxy_url(self._proxy_host(vm)))

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        if protocol != "spice":
            return ConsoleTicket(password=None)
        vm = self._vm(machine)
        data = {} if self.options.spice_proxy is None else {"proxy": self._proxy_host(vm)}
        issued = utcnow()
        answer = self._api.post(f"{vm.path}/spiceproxy", f"open the console of {vm.name}", **data)
        if not isinstance(answer, Mapping):
            raise NoConsole(f"{vm.name}: Proxmox's spiceproxy answered {type(answer).__name__}")
        console, password = spice.console_of(answer, vm=vm.name)
        expires = (issued + timedelta(seconds=spice.TICKET_TTL_S)).replace(microsecond=0)
        return ConsoleTicket(password=password, expires_at=expires, console=console)

    def close(self) -> None:
        return None  # the session is shared: the node closes it

    # VMs

    def _resources(self) -> list[Vm]:
        items = self._api.get("cluster/resources", "list the VMs", type="vm")
        return [Vm.of(item) for item in items if item.get("type") == "qemu"]

    def _vms(self) -> list[Vm]:
        return [vm for vm in self._resources() if not vm.template and self._selects(vm)]

    def _selects(self, vm: Vm) -> bool:
        options = self.options
        if options.resource_pool is not None:
            return vm.resource_pool == options.resource_pool
        if options.tag is not None:
            return options.tag in vm.tags
        if options.name_pattern is not None:
            return fnmatch.fnmatchcase(vm.name, options.name_pattern)
        return pool_tag(self.pool_id) in vm.tags

    def _vm(self, machine: MachineRef) -> Vm:
        found = [vm for vm in self._vms() if vm.name == machine.name]
        if not found:
            raise MachineMissing(
                f"Proxmox VE at {self.options.url} has no VM {machine.name!r} in this pool"
            )
        if len(found) > 1:
            ids = ", ".join(str(vm.vmid) for vm in found)
            raise BackendError(
                f"Proxmox VE has {len(found)} VMs named {machine.name!r} in this pool "
                f"(VMIDs {ids}); rename all but one"
            )
        return found[0]

    def _template(self, everything: list[Vm]) -> Vm:
        clones = self.options.clones
        assert clones is not None
        wanted = clones.template
        found = [
            vm
            for vm in everything
            if (vm.vmid == wanted if isinstance(wanted, int) else vm.name == wanted)
        ]
        if len(found) != 1:
            raise BackendError(
                f"the clone template {wanted!r} is "
                + ("not a VM of this cluster" if not found else f"the name of {len(found)} VMs")
            )
        if not found[0].template:
            raise BackendError(
                f"the clone template {wanted!r} (VM {found[0].vmid}) is not a template: "
                "linked clones need one (More > Convert to template)"
            )
        return found[0]

    def _clone(self, template: Vm, name: str, data: dict[str, Any]) -> Vm:
        """Clone with a new VMID; another node may take the id first: then the next."""
        for _ in range(NEXTID_ATTEMPTS):
            newid = int(self._api.get("cluster/nextid", "pick a VMID"))
            try:
                self._task(
                    template, "clone", f"clone {template.name} as {name}", newid=newid, **data
                )
            except BackendError as exc:
                if "already exists" in str(exc):
                    continue
                raise
            node = data.get("target", template.node)
            return Vm(newid, node, name, "stopped", frozenset(), data.get("pool"), False)
        raise BackendError(
            f"cannot clone {template.name} as {name}: {NEXTID_ATTEMPTS} VMIDs in a row were "
            "taken before the clone began"
        )

    def _delete(self, vm: Vm) -> None:
        """Stop and delete a VM the broker made for this pool, with its disks."""
        if pool_tag(self.pool_id) not in vm.tags:
            config = self._api.get(f"{vm.path}/config", f"read the configuration of {vm.name}")
            if f"for pool {self.pool_id}." not in str(config.get("description") or ""):
                raise BackendError(
                    f"the broker deletes only VMs it made for pool {self.pool_id!r} (tagged "
                    f"{pool_tag(self.pool_id)}), and {vm.name!r} (VM {vm.vmid}) is not one"
                )
        if vm.status == "running":
            self._task(vm, "status/stop", f"stop {vm.name}")
        self._task(
            vm,
            "",
            f"delete {vm.name}",
            method="DELETE",
            purge=1,
            **{"destroy-unreferenced-disks": 1},
        )
        log.backend.info("pool %s: deleted %s (VM %s)", self.pool_id, vm.name, vm.vmid)

    def _shut_down(self, vm: Vm) -> None:
        """ACPI shutdown; a hard stop once `shutdown_timeout` passed (a guest without
        ACPI handling ignores it)."""
        if vm.status != "running":
            return
        seconds = int(self.options.shutdown_timeout.total_seconds())
        try:
            self._task(
                vm, "status/shutdown", f"shut down {vm.name}", wait=seconds + 30, timeout=seconds
            )
        except BackendError as exc:
            log.backend.info("pool %s: %s did not shut down: %s", self.pool_id, vm.name, exc)
        current = self._api.get(f"{vm.path}/status/current", f"read the power of {vm.name}")
        if current.get("status") != "stopped":
            log.backend.info(
                "pool %s: %s did not shut down within %ss; stopping it",
                self.pool_id,
                vm.name,
                seconds,
            )
            self._task(vm, "status/stop", f"stop {vm.name}")

    def _roll_back(self, vm: Vm) -> None:
        snapshots = self._api.get(f"{vm.path}/snapshot", f"list the snapshots of {vm.name}")
        taken = [s for s in snapshots if s.get("name") != "current"]
        wanted = self.options.snapshot
        if wanted is not None:
            taken = [s for s in taken if s.get("name") == wanted]
        if not taken:
            which = f"snapshot {wanted!r}" if wanted else "snapshot"
            raise SnapshotMissing(
                f"{vm.name} (VM {vm.vmid}) has no {which} to roll back to; take one "
                f"(qm snapshot {vm.vmid} NAME) or fix the pool's snapshot"
            )
        name = str(max(taken, key=lambda s: int(s.get("snaptime") or 0))["name"])
        self._task(vm, f"snapshot/{name}/rollback", f"roll {vm.name} back to {name}")
        log.backend.info("pool %s: %s rolled back to %s", self.pool_id, vm.name, name)

    def _proxy_host(self, vm: Vm) -> str:
        template = self.options.spice_proxy
        return vm.node if template is None else template.replace("{node}", vm.node)

    def _task(
        self,
        vm: Vm,
        action: str,
        doing: str,
        *,
        method: str = "POST",
        wait: float | None = None,
        **data: Any,
    ) -> str:
        path = f"{vm.path}/{action}" if action else vm.path
        return self._api.run(
            method, path, node=vm.node, doing=doing, wait=wait or self._task_s, **data
        )


def _power_of(status: str, current: Mapping[str, Any] | None = None) -> PowerState:
    if current is not None and current.get("lock") == "suspended":
        return PowerState.SUSPENDED  # hibernated to disk
    if status == "running":
        return PowerState.RUNNING
    if status in ("paused", "suspended", "prelaunch"):
        return PowerState.SUSPENDED
    if status == "stopped":
        return PowerState.STOPPED
    return PowerState.UNKNOWN  # "unknown": its node is offline


def _config_tags(vm: Vm, api: Api) -> list[str]:
    config = api.get(f"{vm.path}/config", f"read the configuration of {vm.name}")
    tags = str(config.get("tags") or "").replace(",", ";").replace(" ", ";")
    return [t for t in tags.split(";") if t]
