"""Clones: a differencing disk on the golden VHDX, and a VM shaped like the template.

A clone gets the template's generation, startup memory, processor count and
virtual switch, its own disk `{folder}\\{name}.vhdx` whose parent is the
golden disk, and a line `rubicon-pool:{pool}` in its Notes. The broker
deletes only VMs whose Notes name the same pool, and of their disks only the
one it made, never the parent.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from broker_stub.backends.base import BackendError, MachineMissing
from broker_stub.backends.hyperv import commands
from broker_stub.backends.hyperv.commands import Statement
from broker_stub.backends.hyperv.options import MARK, CloneOptions


class VmCalls(Protocol):
    """What clones need of the backend (backend.py's HyperVBackend has it)."""

    pool_id: str

    def run(
        self, doing: str, statements: Sequence[Statement], *, timeout: float | None = None
    ) -> list[Any]: ...

    def find(self, name: str) -> dict[str, Any]: ...


# Characters Windows refuses in a file name (and the separators): such a VM name
# would put its disk somewhere else.
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]|^\.+$')


def marked(vm: Mapping[str, Any]) -> str | None:
    """The pool Rubicon's line in the VM's Notes names, or None."""
    for line in str(vm.get("Notes") or "").splitlines():
        if line.startswith(MARK):
            return line.removeprefix(MARK).strip()
    return None


def disk_path(folder: str, name: str) -> str:
    if _NOT_IN_FILE_NAMES.search(name):
        raise BackendError(f"{name!r} cannot name a disk file; clone names are plain names")
    return folder.rstrip("\\/") + "\\" + name + ".vhdx"


def make(backend: VmCalls, clones: CloneOptions, name: str) -> None:
    """Make the VM `name` for the backend's pool (powered off)."""
    path = disk_path(clones.folder, name)
    template = _template(backend, clones)
    parent = clones.parent or _one_disk(backend, clones, template)
    adapters = backend.run(
        f"read the network of {clones.template}", commands.addresses(template["Id"])
    )
    switch = next((a.get("SwitchName") for a in adapters if a.get("SwitchName")), None)
    _remove_leftovers(backend, clones, name, path)
    backend.run(f"make the disk of {name}", commands.new_disk(path, parent))
    try:
        backend.run(
            f"make {name}",
            commands.new_vm(
                name,
                generation=int(template["Generation"]),
                memory=int(template["MemoryStartup"]),
                processors=int(template["ProcessorCount"]),
                disk=path,
                switch=switch,
                notes=MARK + backend.pool_id,
            ),
        )
    except BackendError:
        with contextlib.suppress(BackendError):
            backend.run(f"remove the disk of {name}", commands.remove_file(path))
        raise


def delete(backend: VmCalls, clones: CloneOptions, vm: Mapping[str, Any]) -> None:
    """Turn off and remove a VM the broker made for the pool, and the disk it made for it."""
    name, owner = vm["Name"], marked(vm)
    if owner != backend.pool_id:
        raise BackendError(
            f"the broker deletes only VMs it made for pool {backend.pool_id!r}, and {name!r} "
            + ("is not one" if owner is None else f"belongs to pool {owner!r}")
        )
    ours = disk_path(clones.folder, name).lower()
    listed = backend.run(f"list the disks of {name}", commands.disks(vm["Id"]))
    paths = [d.get("Path") for d in listed]
    if str(vm["State"]) not in ("Off", "OffCritical"):
        backend.run(f"turn off {name}", commands.turn_off(vm["Id"]))
    backend.run(f"remove {name}", commands.remove_vm(vm["Id"]))
    for path in paths:
        if isinstance(path, str) and path.lower() == ours:  # Windows paths ignore case
            backend.run(f"remove the disk of {name}", commands.remove_file(path))


def _template(backend: VmCalls, clones: CloneOptions) -> dict[str, Any]:
    found = [
        vm
        for vm in backend.run(
            f"read the clone template {clones.template}", commands.template(clones.template)
        )
        if vm.get("Name") == clones.template
    ]
    if len(found) != 1:
        raise BackendError(
            f"the clone template {clones.template!r} is "
            + ("not a VM on this host" if not found else "the name of several VMs")
        )
    template: dict[str, Any] = found[0]
    return template


def _one_disk(backend: VmCalls, clones: CloneOptions, template: Mapping[str, Any]) -> str:
    disks = [
        d.get("Path")
        for d in backend.run(f"read the disks of {clones.template}", commands.disks(template["Id"]))
    ]
    if len(disks) != 1 or not isinstance(disks[0], str):
        # Other disks would be shared, writable, by every clone.
        raise BackendError(
            f"the clone template {clones.template!r} has {len(disks)} disks; clones need "
            "one parent: give the template a single disk or name it with clones.parent"
        )
    return disks[0]


def _remove_leftovers(backend: VmCalls, clones: CloneOptions, name: str, path: str) -> None:
    """A clone of that name that a node made and then died before it was recorded."""
    try:
        vm = backend.find(name)
    except MachineMissing:
        pass
    else:
        delete(backend, clones, vm)  # refuses a VM that is not ours
    if backend.run(f"look for {path}", commands.file_exists(path)) == [True]:
        backend.run(f"remove {path}", commands.remove_file(path))
