"""Backends act on machines: find, power, recycle, make and remove them, open consoles.

A backend never touches the database. The domain hands it a `MachineRef`
(plain values copied from the machines table) and records what happened, so
the same calls fit fixed hosts (static.py) and hypervisors (libvirt/). Every
call may block (network, commands): the domain makes them through
`broker_stub.backends.calls`, which runs them on a bounded pool of threads per
pool with a timeout each, outside any database transaction.

    BackendError             the action failed; the message is for the admin's log
    ├── NotSupported         this backend cannot do that at all
    ├── HypervisorUnavailable  cannot reach the hypervisor, or it did not answer in time
    │   └── PoolDegraded     not tried: the pool is degraded
    ├── Busy                 not tried: the pool's calls under way are at their limit
    ├── MachineMissing       the hypervisor has no machine of that name (any more)
    ├── NoConsole            the machine has no console for that protocol
    ├── SnapshotMissing      recycle = "revert", and the snapshot is not there
    └── StorageFull          no room for a new machine's disk

Each kind of backend is a `BackendKind`: a name (the pools file's
`[pools.backend] type`), how to check that table, and how to make the backend
from what was stored. `static`, `libvirt`, `vsphere`, `proxmox` and `hyperv`
ship (common.py holds what the hypervisor backends share); a third party adds
a kind through the entry-point group "rubicon.backends" (registry.py,
docs/backends.md).
"""

from broker_stub.backends.base import (
    Backend,
    BackendError,
    BackendKind,
    Busy,
    Console,
    ConsoleTicket,
    Context,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    PoolDegraded,
    Power,
    PowerState,
    RecycleMode,
    Shared,
    SnapshotMissing,
    StorageFull,
    answers,
)
from broker_stub.backends.calls import Calls, HealthListener
from broker_stub.backends.registry import Backends, UnknownKind, find_kind, kinds

__all__ = [
    "Backend",
    "BackendError",
    "BackendKind",
    "Backends",
    "Busy",
    "Calls",
    "Console",
    "ConsoleTicket",
    "Context",
    "HealthListener",
    "HypervisorUnavailable",
    "MachineMissing",
    "MachineRef",
    "NoConsole",
    "NotSupported",
    "PoolDegraded",
    "Power",
    "PowerState",
    "RecycleMode",
    "Shared",
    "SnapshotMissing",
    "StorageFull",
    "UnknownKind",
    "answers",
    "find_kind",
    "kinds",
]
