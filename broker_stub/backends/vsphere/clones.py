"""Linked clones: a child disk on the parent VM's snapshot, as Horizon's linked clones.

`CloneVM_Task` with `diskMoveType = createNewChildDiskBacking` and the
parent's snapshot gives each clone delta disks over the parent's: made in
seconds, with little room. Each clone carries Rubicon's mark (extraConfig
`rubicon.pool` = the pool's id); the broker deletes only VMs with its pool's
mark, never the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker_stub.backends.base import BackendError, MachineMissing, StorageFull
from broker_stub.backends.vsphere.connection import vim
from broker_stub.backends.vsphere.inventory import (
    MARK,
    VNC_ENABLED,
    at_path,
    extra_config,
    option_values,
    read,
    vm_named,
)
from broker_stub.backends.vsphere.options import CloneOptions

# (task, what it does) -> its result; raises its fault.
Wait = Callable[[Any, str], Any]


def marked_pool(vm: Any) -> str | None:
    """The pool Rubicon's mark on the VM names, or None."""
    config = vm.config
    return None if config is None else extra_config(config.extraConfig).get(MARK)


def make_clone(si: Any, pool_id: str, clones: CloneOptions, name: str, wait: Wait) -> None:
    """Make the VM `name` as a linked clone for the pool (powered off)."""
    parent = vm_named(si, si.content.rootFolder, clones.template)
    if parent is None:
        raise BackendError(f"the clone template {clones.template!r} is not a VM in vSphere")
    snapshot = parent_snapshot(read(si, parent, ["snapshot"]).get("snapshot"), clones)
    folder = at_path(si, clones.folder, "folder") if clones.folder else parent.parent
    pool = (
        at_path(si, clones.resource_pool, "resource pool")
        if clones.resource_pool
        else parent.resourcePool
    )
    if pool is None:
        raise BackendError(
            f"the clone template {clones.template!r} is a vSphere template, which has no "
            "resource pool: give clones.resource_pool"
        )
    datastore = _datastore(parent, clones)
    free = datastore.summary.freeSpace
    if free < clones.min_free:
        raise StorageFull(
            f"datastore {datastore.name!r} has {free >> 20} MiB free, less than the "
            f"pool's min_free of {clones.min_free >> 20} MiB: free some room or lower min_free"
        )
    _remove_leftover(si, folder, pool_id, name, wait)
    spec = vim.vm.CloneSpec(
        location=vim.vm.RelocateSpec(
            diskMoveType="createNewChildDiskBacking", pool=pool, datastore=datastore
        ),
        snapshot=snapshot,
        powerOn=False,
        template=False,
        # The parent's console settings are not the clone's: power_on sets its own.
        config=vim.vm.ConfigSpec(extraConfig=option_values({MARK: pool_id, VNC_ENABLED: "false"})),
    )
    wait(parent.CloneVM_Task(folder=folder, name=name, spec=spec), f"clone {name}")


def delete_clone(si: Any, root: Any, pool_id: str, name: str, wait: Wait) -> None:
    """Power off and delete a clone the broker made for the pool, with its disks."""
    vm = vm_named(si, root, name)
    if vm is None:
        raise MachineMissing(f"there is no VM {name!r} to delete")
    _delete(vm, pool_id, name, wait)


def parent_snapshot(snapshots: Any, clones: CloneOptions) -> Any:
    """The snapshot clones are made from, out of the parent's snapshot info."""
    if snapshots is None or snapshots.currentSnapshot is None:
        raise BackendError(
            f"the clone template {clones.template!r} has no snapshot; linked clones are "
            "children of one: take a snapshot of it (powered off)"
        )
    if clones.snapshot is None:
        return snapshots.currentSnapshot
    for tree in walk(snapshots.rootSnapshotList):
        if tree.name == clones.snapshot:
            return tree.snapshot
    raise BackendError(
        f"the clone template {clones.template!r} has no snapshot {clones.snapshot!r}"
    )


def walk(trees: Any) -> list[Any]:
    """Every node of a VM's snapshot trees, parents first."""
    found = []
    for tree in trees or []:
        found.append(tree)
        found += walk(tree.childSnapshotList)
    return found


def _datastore(parent: Any, clones: CloneOptions) -> Any:
    stores = list(parent.datastore or [])
    if clones.datastore is None:
        if not stores:
            raise BackendError(f"the clone template {clones.template!r} is on no datastore")
        return stores[0]
    for host in {h.key for store in stores for h in store.host or []}:
        for store in host.datastore:
            if store.name == clones.datastore:
                return store
    raise BackendError(
        f"there is no datastore {clones.datastore!r} on the clone template's hosts; "
        "linked clones need a datastore those hosts share with the template's disks"
    )


def _remove_leftover(si: Any, folder: Any, pool_id: str, name: str, wait: Wait) -> None:
    """A clone of that name that a node made and then died before it was recorded."""
    vm = vm_named(si, folder, name)
    if vm is not None:
        _delete(vm, pool_id, name, wait)  # refuses a VM that is not ours


def _delete(vm: Any, pool_id: str, name: str, wait: Wait) -> None:
    owner = marked_pool(vm)
    if owner != pool_id:
        raise BackendError(
            f"the broker deletes only VMs it made for pool {pool_id!r}, and {name!r} "
            + ("is not one" if owner is None else f"belongs to pool {owner!r}")
        )
    if vm.runtime.powerState != vim.VirtualMachinePowerState.poweredOff:
        wait(vm.PowerOffVM_Task(), f"power off {name}")
    wait(vm.Destroy_Task(), f"delete {name}")
