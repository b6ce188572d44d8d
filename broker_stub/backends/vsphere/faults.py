"""vSphere's faults sorted into the backend error tree, each with what the admin should do.

Pure: a fault object in, an exception out, so each mapping is tested with the
fault classes pyVmomi builds from VMware's own type descriptions.
"""

from __future__ import annotations

from typing import Any

from broker_stub.backends.base import (
    BackendError,
    HypervisorUnavailable,
    MachineMissing,
    StorageFull,
)

# pyVmomi's types are generated at run time and loose in its stubs: read as Any.
try:
    import pyVmomi

    _pyvmomi: Any = pyVmomi
except ImportError:  # the vsphere extra is not installed; KIND.options says so
    _pyvmomi = None
vim: Any = getattr(_pyvmomi, "vim", None)
vmodl: Any = getattr(_pyvmomi, "vmodl", None)


def translate(fault: Any, doing: str, where: str) -> BackendError:
    """The backend error for a vSphere `fault` raised while the broker tried `doing`
    (e.g. "power on lab-007") on the vCenter or ESXi host at `where`."""
    message = _message(fault)
    if isinstance(fault, vim.fault.InvalidLogin):
        return HypervisorUnavailable(
            f"vSphere at {where} refused the broker's user name or password; "
            "correct the pool's user or the password in its password_file"
        )
    if isinstance(fault, vim.fault.NotAuthenticated):
        return HypervisorUnavailable(
            f"vSphere at {where} ended the broker's session again right after it signed in "
            f"(cannot {doing}); check the account is not locked and may open sessions"
        )
    if isinstance(fault, vim.fault.NoPermission):
        privilege = fault.privilegeId or "a privilege"
        missing = sorted(
            {p for entity in fault.missingPrivileges or [] for p in entity.privilegeIds or []}
        )
        named = ", ".join(missing) if missing else privilege
        return BackendError(
            f"cannot {doing}: the broker's vSphere account lacks {named}; grant its role "
            "that privilege (docs/backends.md lists the role the broker needs)"
        )
    if isinstance(fault, vim.fault.NoDiskSpace | vim.fault.InsufficientStorageSpace):
        datastore = getattr(fault, "datastore", None)
        on = f" on datastore {datastore}" if datastore else ""
        return StorageFull(
            f"cannot {doing}: no room left{on} ({message}); free space there or put the "
            "clones on another datastore"
        )
    if isinstance(fault, vim.fault.InvalidHostState):
        return BackendError(
            f"cannot {doing}: its host is in maintenance mode, or not connected ({message}); "
            "take the host out of maintenance or move the VM to another host"
        )
    if isinstance(fault, vmodl.fault.ManagedObjectNotFound):
        return MachineMissing(f"cannot {doing}: the VM is gone from vSphere")
    if isinstance(fault, vim.fault.InvalidPowerState):
        return BackendError(
            f"cannot {doing}: the VM is {fault.existingState}, and this needs it "
            f"{fault.requestedState or 'in another state'}"
        )
    if isinstance(fault, vmodl.fault.HostCommunication):
        return HypervisorUnavailable(f"vSphere at {where} cannot reach the host to {doing}")
    return BackendError(f"cannot {doing}: {type(fault).__name__}: {message}")


def _message(fault: Any) -> str:
    text = getattr(fault, "msg", None)
    if text:
        return str(text)
    messages = [m.message for m in getattr(fault, "faultMessage", None) or [] if m.message]
    return "; ".join(messages) or type(fault).__name__.rsplit(".", 1)[-1]
