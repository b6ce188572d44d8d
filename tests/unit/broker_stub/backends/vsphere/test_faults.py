"""vSphere's faults, as pyVmomi builds them from VMware's type descriptions, sorted
into the backend error tree with what the admin should do.

test_backend.py reaches InvalidLogin, NotAuthenticated and
ManagedObjectNotFound from vcsim itself, and InvalidHostState, NoPermission and
NoDiskSpace from vcsim's -faulty VM (tests/helpers/vcsim/main.go); here each
mapping is checked in full, with the fields VMware's API reference gives the
faults (vcsim 0.24's NoPermission has no missingPrivileges, for one)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyVmomi", reason="the vsphere extra: pip install 'rubicon[vsphere]'")

from pyVmomi import vim, vmodl

from broker_stub.backends import (
    BackendError,
    HypervisorUnavailable,
    MachineMissing,
    StorageFull,
)
from broker_stub.backends.vsphere.faults import translate

WHERE = "https://vc.example.com/sdk"


def test_bad_credentials_degrade_the_pool() -> None:
    error = translate(vim.fault.InvalidLogin(msg="Cannot complete login"), "sign in", WHERE)
    assert type(error) is HypervisorUnavailable
    assert "refused the broker's user name or password" in str(error)
    assert "password_file" in str(error)


def test_a_missing_privilege_is_named() -> None:
    fault = vim.fault.NoPermission(
        msg="Permission to perform this operation was denied.",
        privilegeId="VirtualMachine.Interact.PowerOn",
        missingPrivileges=[
            vim.fault.NoPermission.EntityPrivileges(
                privilegeIds=["VirtualMachine.Interact.PowerOn"]
            )
        ],
    )
    error = translate(fault, "power on lab-1", WHERE)
    assert type(error) is BackendError
    assert str(error) == (
        "cannot power on lab-1: the broker's vSphere account lacks "
        "VirtualMachine.Interact.PowerOn; grant its role that privilege "
        "(docs/backends.md lists the role the broker needs)"
    )
    bare = translate(vim.fault.NoPermission(privilegeId="System.Read"), "list the VMs", WHERE)
    assert "lacks System.Read" in str(bare)


@pytest.mark.parametrize(
    "fault",
    [
        vim.fault.NoDiskSpace(msg="No space left on device", datastore="LocalDS_0"),
        vim.fault.InsufficientStorageSpace(msg="Insufficient disk space on datastore"),
    ],
)
def test_a_full_datastore_is_storage_full(fault: object) -> None:
    error = translate(fault, "clone lab-007", WHERE)
    assert type(error) is StorageFull
    assert "free space there or put the clones on another datastore" in str(error)


def test_a_host_in_maintenance_says_what_to_do() -> None:
    error = translate(vim.fault.InvalidHostState(msg="in maintenance mode"), "power on x", WHERE)
    assert type(error) is BackendError
    assert "take the host out of maintenance" in str(error)


def test_a_vm_gone_is_machine_missing() -> None:
    error = translate(vmodl.fault.ManagedObjectNotFound(msg="gone"), "power on x", WHERE)
    assert type(error) is MachineMissing


def test_anything_else_keeps_vsphere_s_words() -> None:
    error = translate(
        vim.fault.TaskInProgress(msg="Another task is in progress."), "reset x", WHERE
    )
    assert type(error) is BackendError
    assert str(error) == "cannot reset x: vim.fault.TaskInProgress: Another task is in progress."
