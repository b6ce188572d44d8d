"""VsphereBackend through the real pyVmomi against VMware's own simulator, vcsim.

Each test has a vcsim of its own (conftest.py). What a test checks is read
back through a pyVmomi session of its own, not the broker's. What vcsim 0.24
cannot do is named where it matters: it runs no guests (no console answers,
no Tools unless told so), has no RebootGuest, and keeps a VM powered on when
it reverts to a powered-off snapshot.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("pyVmomi", reason="the vsphere extra: pip install 'rubicon[vsphere]'")

from pyVmomi import vim

from broker_stub.backends import (
    BackendError,
    Console,
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
from broker_stub.backends.vsphere.backend import ADDRESS_RETRY_AFTER_S, START_RETRY_AFTER_S
from broker_stub.backends.vsphere.inventory import MARK
from tests.helpers.vcsim import PASSWORD, Vcsim, make_certificate, password_file, start_vcsim

Make = Callable[..., Any]
H0 = ["DC0_H0_VM0", "DC0_H0_VM1", "DC0_H0_VM2"]
C0 = ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"]


def ref(name: str, pool_id: str = "lab") -> MachineRef:
    return MachineRef(pool_id=pool_id, name=name, host="", ports={})


# --- the test's own view of vcsim ---------------------------------------------------


def vm(si: Any, name: str) -> Any:
    content = si.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        found = [v for v in view.view if v.name == name]
    finally:
        view.DestroyView()
    assert found, f"vcsim has no VM {name}"
    return found[0]


def names(si: Any) -> set[str]:
    content = si.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return {v.name for v in view.view}
    finally:
        view.DestroyView()


def extra(machine: Any) -> dict[str, str]:
    return {o.key: str(o.value) for o in machine.config.extraConfig}


def wait(task: Any) -> Any:
    from pyVim.task import WaitForTask

    WaitForTask(task)
    return task.info.result


def reconfigure(machine: Any, **values: str) -> None:
    """extraConfig keys as given; vcsim's SET.<property> keys set that property."""
    options = [vim.option.OptionValue(key=k.replace("__", "."), value=v) for k, v in values.items()]
    wait(machine.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=options)))


def set_property(machine: Any, path: str, value: str) -> None:
    option = vim.option.OptionValue(key=f"SET.{path}", value=value)
    wait(machine.ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=[option])))


def power(machine: Any) -> str:
    return str(machine.runtime.powerState)


def events(si: Any, machine: Any, after: int = -1) -> list[str]:
    """The VM's events after the one numbered `after`, newest first (vcsim gives the
    last 10 at most)."""
    by = vim.event.EventFilterSpec.ByEntity(entity=machine, recursion="self")
    found = si.content.eventManager.QueryEvents(vim.event.EventFilterSpec(entity=by))
    return [type(e).__name__.rsplit(".", 1)[-1] for e in found if e.key > after]


def last_event(si: Any, machine: Any) -> int:
    by = vim.event.EventFilterSpec.ByEntity(entity=machine, recursion="self")
    return max(
        e.key for e in si.content.eventManager.QueryEvents(vim.event.EventFilterSpec(entity=by))
    )


# --- which VMs are the pool's -------------------------------------------------------


def test_discover_a_folder(sim: Vcsim, table: dict[str, Any], make_backend: Make) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    assert backend.discover() == {name: PowerState.STOPPED for name in H0 + C0}


def test_discover_a_resource_pool(sim: Vcsim, table: dict[str, Any], make_backend: Make) -> None:
    backend = make_backend({**table, "resource_pool": "DC0/host/DC0_C0/Resources"})
    assert set(backend.discover()) == set(C0)


def test_a_folder_that_is_not_there_says_how_to_name_one(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm/Nope"})
    with pytest.raises(BackendError, match=r"no folder 'DC0/vm/Nope'.*DC1/vm/Lab"):
        backend.discover()


def test_discover_by_name_pattern(sim: Vcsim, table: dict[str, Any], make_backend: Make) -> None:
    backend = make_backend({**table, "name_pattern": "DC0_H0_VM[12]"})
    si = sim.connect()
    wait(vm(si, "DC0_H0_VM1").PowerOnVM_Task())
    assert backend.discover() == {
        "DC0_H0_VM1": PowerState.RUNNING,
        "DC0_H0_VM2": PowerState.STOPPED,
    }


def test_discover_tagged_by_the_pools_mark(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = sim.connect()
    reconfigure(vm(si, "DC0_H0_VM2"), rubicon__pool="lab")
    reconfigure(vm(si, "DC0_C0_RP0_VM0"), rubicon__pool="other")
    assert make_backend({**table, "tagged": True}).discover() == {"DC0_H0_VM2": PowerState.STOPPED}


# --- power --------------------------------------------------------------------------


def test_power_on_sets_a_vnc_console_first_then_says_it_runs(
    sim: Vcsim, table: dict[str, Any], make_backend: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = make_backend({**table, "folder": "DC0/vm"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")

    assert backend.power_on(ref("DC0_H0_VM0"), "vnc") == Power(False, START_RETRY_AFTER_S)
    assert power(machine) == "poweredOn"
    settings = extra(machine)
    assert settings["RemoteDisplay.vnc.enabled"] == "true"
    assert settings["RemoteDisplay.vnc.port"] == "5900"
    assert len(settings["RemoteDisplay.vnc.password"]) == 8
    assert backend.power_on(ref("DC0_H0_VM0"), "vnc") == Power(True)

    console = backend.console(ref("DC0_H0_VM0"), "vnc")
    assert console == Console(host="DC0_H0", port=5900)
    ticket = backend.console_password(ref("DC0_H0_VM0"), "vnc")
    assert ticket.password == settings["RemoteDisplay.vnc.password"]
    assert settings["RemoteDisplay.vnc.password"] not in repr(ticket)
    # Neither the console's password nor the broker's own reached a log line.
    assert "signed in to vSphere" in caplog.text
    assert settings["RemoteDisplay.vnc.password"] not in caplog.text
    assert PASSWORD not in caplog.text


def test_each_running_vm_on_a_host_gets_its_own_vnc_port_and_password(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend(
        {
            **table,
            "folder": "DC0/vm",
            "vnc_ports": [5910, 5911],
            "host_addresses": {"DC0_H0": "127.0.0.1"},
        }
    )
    for name in H0[:2]:
        backend.power_on(ref(name), "vnc")
    consoles = [backend.console(ref(name), "vnc") for name in H0[:2]]
    assert consoles == [Console(host="127.0.0.1", port=5910), Console(host="127.0.0.1", port=5911)]
    first, second = (backend.console_password(ref(name), "vnc").password for name in H0[:2])
    assert first != second
    # The range is used up: the third says what to widen, and stays off.
    with pytest.raises(BackendError, match="every VNC port 5910-5911 on its host is taken"):
        backend.power_on(ref(H0[2]), "vnc")
    assert power(vm(sim.connect(), H0[2])) == "poweredOff"
    # A VM on another host may use the same port.
    backend.power_on(ref(C0[0]), "vnc")
    assert backend.console(ref(C0[0]), "vnc").port == 5910


def test_a_new_power_on_makes_a_new_vnc_password(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    backend.power_on(ref("DC0_H0_VM0"), "vnc")
    before = backend.console_password(ref("DC0_H0_VM0"), "vnc").password
    backend.recycle(ref("DC0_H0_VM0"), RecycleMode.POWEROFF)
    backend.power_on(ref("DC0_H0_VM0"), "vnc")
    after = backend.console_password(ref("DC0_H0_VM0"), "vnc").password
    assert before != after
    assert backend.console(ref("DC0_H0_VM0"), "vnc").port == 5900  # kept: nobody took it


def test_a_vm_running_without_vnc_has_no_console_and_is_told_why(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    wait(vm(sim.connect(), "DC0_H0_VM0").PowerOnVM_Task())  # started outside the broker
    assert backend.power_on(ref("DC0_H0_VM0"), "vnc") == Power(True)
    with pytest.raises(NoConsole, match="power the VM off and launch again"):
        backend.console(ref("DC0_H0_VM0"), "vnc")


def test_rdp_waits_for_the_guest_address_from_vmware_tools(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    si = sim.connect()
    assert backend.power_on(ref("DC0_H0_VM1"), "rdp") == Power(False, START_RETRY_AFTER_S)
    # Running, but Tools have not reported an address yet: still starting.
    assert backend.power_on(ref("DC0_H0_VM1"), "rdp") == Power(False, ADDRESS_RETRY_AFTER_S)
    with pytest.raises(NoConsole, match="no address"):
        backend.console(ref("DC0_H0_VM1"), "rdp")
    set_property(vm(si, "DC0_H0_VM1"), "guest.ipAddress", "127.0.0.7")
    assert backend.power_on(ref("DC0_H0_VM1"), "rdp") == Power(True)
    assert backend.console(ref("DC0_H0_VM1"), "rdp") == Console(host="127.0.0.7", port=3389)
    assert backend.console_password(ref("DC0_H0_VM1"), "rdp").password is None
    # No VNC settings were written for an RDP pool.
    assert "RemoteDisplay.vnc.enabled" not in extra(vm(si, "DC0_H0_VM1"))


def test_power_off_without_tools_is_a_hard_power_off(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm", "shutdown_timeout": "30s"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")
    wait(machine.PowerOnVM_Task())
    backend.power_off(ref("DC0_H0_VM0"))
    assert power(machine) == "poweredOff"
    assert "VmGuestShutdownEvent" not in events(si, machine)
    backend.power_off(ref("DC0_H0_VM0"))  # off already: nothing to do


def test_power_off_with_tools_asks_the_guest_first(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")
    wait(machine.PowerOnVM_Task())
    set_property(machine, "guest.toolsRunningStatus", "guestToolsRunning")
    backend.power_off(ref("DC0_H0_VM0"))
    assert power(machine) == "poweredOff"
    assert "VmGuestShutdownEvent" in events(si, machine)


class IgnoresShutdown:
    """A real vcsim VM whose guest ignores the shutdown request (vcsim's own guest
    always obeys at once, so this one call is stood in for)."""

    def __init__(self, vm: Any) -> None:
        self._vm = vm
        self.asked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vm, name)

    def ShutdownGuest(self) -> None:  # noqa: N802 (pyVmomi's spelling)
        self.asked += 1


def test_a_guest_that_ignores_the_shutdown_is_powered_off_after_the_timeout(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm", "shutdown_timeout": "1s"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")
    wait(machine.PowerOnVM_Task())
    set_property(machine, "guest.toolsRunningStatus", "guestToolsRunning")
    stubborn = IgnoresShutdown(vm(backend._connection._session(), "DC0_H0_VM0"))
    started = time.monotonic()
    backend._shut_down(stubborn, "DC0_H0_VM0")
    assert stubborn.asked == 1
    assert time.monotonic() - started >= 1.0  # the guest was given its time first
    assert power(machine) == "poweredOff"
    assert "VmGuestShutdownEvent" not in events(si, machine)


def test_reset_and_restart(sim: Vcsim, table: dict[str, Any], make_backend: Make) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")
    wait(machine.PowerOnVM_Task())
    before = last_event(si, machine)
    backend.reset(ref("DC0_H0_VM0"))
    assert power(machine) == "poweredOn"
    assert events(si, machine, before).count("VmPoweredOnEvent") == 1  # off and on again
    # vcsim has no RebootGuest (MethodNotFound), as a real host without Tools refuses
    # it: the broker resets instead.
    set_property(machine, "guest.toolsRunningStatus", "guestToolsRunning")
    before = last_event(si, machine)
    backend.restart(ref("DC0_H0_VM0"))
    assert power(machine) == "poweredOn"
    assert events(si, machine, before).count("VmPoweredOnEvent") == 1


def test_a_vm_that_is_not_there_is_missing(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    with pytest.raises(MachineMissing, match="no VM 'gone'"):
        backend.power_state(ref("gone"))
    # Found once, then deleted behind the broker's back.
    assert backend.power_state(ref("DC0_H0_VM2")) == PowerState.STOPPED
    wait(vm(sim.connect(), "DC0_H0_VM2").Destroy_Task())
    with pytest.raises(MachineMissing):
        backend.power_on(ref("DC0_H0_VM2"), "vnc")


# --- revert -------------------------------------------------------------------------


def test_revert_to_a_powered_off_snapshot_leaves_the_vm_off(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm", "snapshot": "clean"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM0")
    wait(machine.CreateSnapshot_Task(name="clean", memory=False, quiesce=False))
    wait(machine.CreateSnapshot_Task(name="later", memory=False, quiesce=False))
    backend.power_on(ref("DC0_H0_VM0"), "vnc")
    backend.recycle(ref("DC0_H0_VM0"), RecycleMode.REVERT)
    assert machine.snapshot.currentSnapshot == machine.snapshot.rootSnapshotList[0].snapshot
    # vcsim keeps the VM running after a revert; the broker powers it off as the
    # snapshot was (a real host already has).
    assert power(machine) == "poweredOff"


def test_revert_to_the_current_snapshot_taken_running_leaves_it_on(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    si = sim.connect()
    machine = vm(si, "DC0_H0_VM1")
    wait(machine.PowerOnVM_Task())
    wait(machine.CreateSnapshot_Task(name="running", memory=True, quiesce=False))
    backend.recycle(ref("DC0_H0_VM1"), RecycleMode.REVERT)
    assert power(machine) == "poweredOn"
    assert [t.name for t in machine.snapshot.rootSnapshotList] == ["running"]


def test_revert_without_the_snapshot_is_snapshot_missing(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    current = make_backend({**table, "folder": "DC0/vm"})
    with pytest.raises(SnapshotMissing, match="DC0_H0_VM0 has no current snapshot"):
        current.recycle(ref("DC0_H0_VM0"), RecycleMode.REVERT)
    wait(vm(sim.connect(), "DC0_H0_VM0").CreateSnapshot_Task(name="a", memory=False, quiesce=False))
    named = make_backend({**table, "folder": "DC0/vm", "snapshot": "clean"}, pool_id="other")
    with pytest.raises(SnapshotMissing, match="no snapshot 'clean'"):
        named.recycle(ref("DC0_H0_VM0"), RecycleMode.REVERT)


def test_rebuild_needs_a_clone_pool(sim: Vcsim, table: dict[str, Any], make_backend: Make) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    with pytest.raises(NotSupported):
        backend.recycle(ref("DC0_H0_VM0"), RecycleMode.REBUILD)


# --- clones -------------------------------------------------------------------------


def clone_table(table: dict[str, Any], **clones: Any) -> dict[str, Any]:
    return {**table, "clones": {"template": "DC0_H0_VM0", "max": 5, "min_free": "1MiB", **clones}}


def parent_with_snapshot(sim: Vcsim, name: str = "golden") -> Any:
    si = sim.connect()
    parent = vm(si, "DC0_H0_VM0")
    reconfigure(parent, RemoteDisplay__vnc__password="parents", RemoteDisplay__vnc__enabled="true")
    wait(parent.CreateSnapshot_Task(name=name, memory=False, quiesce=False))
    return si


def test_provision_makes_a_marked_linked_clone_and_destroy_deletes_it(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = parent_with_snapshot(sim)
    backend = make_backend(clone_table(table, snapshot="golden"))
    assert backend.discover() == {}

    backend.provision("lab-001")
    clone = vm(si, "lab-001")
    assert extra(clone)[MARK] == "lab"
    assert extra(clone)["RemoteDisplay.vnc.enabled"] == "false"  # not the parent's console
    assert clone.parent == vm(si, "DC0_H0_VM0").parent
    assert power(clone) == "poweredOff"
    assert backend.discover() == {"lab-001": PowerState.STOPPED}

    backend.power_on(ref("lab-001"), "vnc")
    assert extra(clone)["RemoteDisplay.vnc.password"] != "parents"
    backend.destroy(ref("lab-001"))
    assert "lab-001" not in names(si)
    assert "DC0_H0_VM0" in names(si)
    with pytest.raises(MachineMissing):
        backend.destroy(ref("lab-001"))


def test_rebuild_makes_the_clone_afresh(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = parent_with_snapshot(sim)
    backend = make_backend(clone_table(table))
    backend.provision("lab-002")
    first = vm(si, "lab-002")._moId
    backend.power_on(ref("lab-002"), "vnc")
    backend.recycle(ref("lab-002"), RecycleMode.REBUILD)
    again = vm(si, "lab-002")
    assert again._moId != first
    assert power(again) == "poweredOff"


def test_the_broker_deletes_only_its_pools_clones(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = parent_with_snapshot(sim)
    backend = make_backend(clone_table(table))
    other = make_backend(clone_table(table), pool_id="other")
    other.provision("other-001")
    # Not marked at all, and marked for another pool: both refused and kept.
    with pytest.raises(BackendError, match="'DC0_H0_VM1' is not one"):
        make_backend({**table, "folder": "DC0/vm"}).destroy(ref("DC0_H0_VM1"))
    with pytest.raises(BackendError, match="belongs to pool 'other'"):
        backend.destroy(ref("other-001"))
    # A leftover of the same name made for another pool is not replaced either.
    with pytest.raises(BackendError, match="belongs to pool 'other'"):
        backend.provision("other-001")
    assert {"DC0_H0_VM1", "other-001"} <= names(si)


def test_a_leftover_clone_of_the_pool_is_replaced(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = parent_with_snapshot(sim)
    backend = make_backend(clone_table(table))
    backend.provision("lab-003")
    first = vm(si, "lab-003")._moId
    backend.provision("lab-003")  # a node died after making it, before recording it
    assert vm(si, "lab-003")._moId != first
    assert sorted(n for n in names(si) if n == "lab-003") == ["lab-003"]


def test_clones_need_the_parents_snapshot(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    backend = make_backend(clone_table(table))
    with pytest.raises(BackendError, match="has no snapshot; linked clones"):
        backend.provision("lab-001")
    parent_with_snapshot(sim)
    named = make_backend(clone_table(table, snapshot="nope"), pool_id="other")
    with pytest.raises(BackendError, match="has no snapshot 'nope'"):
        named.provision("other-001")


def test_a_full_datastore_is_storage_full(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    parent_with_snapshot(sim)
    backend = make_backend(clone_table(table, min_free="1000TiB"))
    with pytest.raises(StorageFull, match=r"datastore 'LocalDS_0' has \d+ MiB free.*min_free"):
        backend.provision("lab-001")


def test_clones_into_a_folder_and_resource_pool_of_their_own(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    si = parent_with_snapshot(sim)
    datacenter = si.content.rootFolder.childEntity[0]
    datacenter.vmFolder.CreateFolder("Lab")
    backend = make_backend(
        clone_table(
            table,
            folder="DC0/vm/Lab",
            resource_pool="DC0/host/DC0_H0/Resources",
            datastore="LocalDS_0",
        )
    )
    backend.provision("lab-001")
    clone = vm(si, "lab-001")
    assert clone.parent.name == "Lab"
    assert clone.resourcePool.parent.name == "DC0_H0"
    with pytest.raises(BackendError, match="no datastore 'Elsewhere'"):
        make_backend(clone_table(table, datastore="Elsewhere"), pool_id="x").provision("x-001")


# --- the session and TLS --------------------------------------------------------------


def test_one_session_per_node_and_a_new_one_after_vcenter_ended_it(
    sim: Vcsim, table: dict[str, Any], make_backend: Make
) -> None:
    first = make_backend({**table, "folder": "DC0/vm"})
    second = make_backend({**table, "name_pattern": "DC0_H0_*"}, pool_id="other")
    first.check()
    second.check()
    admin = sim.connect()
    manager = admin.content.sessionManager
    mine = manager.currentSession.key
    broker = [s.key for s in manager.sessionList if s.key != mine]
    assert len(broker) == 1, "the two pools share the node's one session"
    manager.TerminateSession(broker)

    assert set(first.discover()) == set(H0 + C0)  # signed in again, quietly
    second.power_on(ref("DC0_H0_VM0"), "vnc")
    now = [s.key for s in manager.sessionList if s.key != mine]
    assert len(now) == 1
    assert now != broker


def test_a_wrong_password_makes_the_hypervisor_unavailable(
    sim: Vcsim, table: dict[str, Any], make_backend: Make, tmp_path: Any
) -> None:
    (tmp_path / "wrong").mkdir()
    wrong = password_file(tmp_path / "wrong", "not-it")
    backend = make_backend({**table, "folder": "DC0/vm", "password_file": str(wrong)})
    with pytest.raises(HypervisorUnavailable, match="refused the broker's user name or password"):
        backend.check()


def test_tls_is_checked_against_the_ca_file_or_the_pinned_fingerprint(
    sim: Vcsim, table: dict[str, Any], make_backend: Make, tmp_path: Any
) -> None:
    pinned = {k: v for k, v in table.items() if k != "ca_file"}
    make_backend({**pinned, "folder": "DC0/vm", "fingerprint": sim.certificate.fingerprint}).check()

    other = make_certificate(tmp_path / "other", "another CA")
    strangers = [
        ({**table, "ca_file": str(other.ca_file)}, "unable to get local issuer certificate"),
        ({**pinned, "fingerprint": other.fingerprint}, f"not the pinned {other.fingerprint}"),
        (pinned, "unable to get local issuer certificate"),  # not among the system's CAs
    ]
    for number, (stranger, why) in enumerate(strangers):
        backend = make_backend({**stranger, "folder": "DC0/vm"}, pool_id=f"p{number}")
        with pytest.raises(HypervisorUnavailable, match="not the server the pool trusts") as caught:
            backend.check()
        assert why in str(caught.value)


def test_vsphere_gone_makes_the_hypervisor_unavailable_then_it_recovers(
    sim: Vcsim, table: dict[str, Any], make_backend: Make, tmp_path: Any
) -> None:
    backend = make_backend({**table, "folder": "DC0/vm"})
    backend.check()
    sim.stop()
    with pytest.raises(HypervisorUnavailable, match=r"vSphere at https://127\.0\.0\.1"):
        backend.discover()
    with pytest.raises(HypervisorUnavailable, match="cannot reach vSphere"):
        backend.check()
    # Back on the same address with the same certificate: the next call signs in anew.
    again = start_vcsim(
        tmp_path / "again", listen=f"127.0.0.1:{sim.port}", certificate=sim.certificate
    )
    try:
        backend.check()
        assert backend.power_state(ref("DC0_H0_VM0")) == PowerState.STOPPED
    finally:
        again.stop()


def test_a_server_that_never_answers_is_given_up_on(
    make_backend: Make, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port that accepts and then says nothing (not even TLS): pyVmomi's version
    check would wait for ever; the broker's sockets have a timeout."""
    from broker_stub.backends.vsphere import connection

    monkeypatch.setattr(connection, "HTTP_TIMEOUT_S", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        table = {
            "url": f"https://127.0.0.1:{port}",
            "user": "svc",
            "password_file": str(password_file(tmp_path)),
            "fingerprint": "00" * 32,
            "folder": "DC0/vm",
        }
        backend = make_backend(table)
        started = time.monotonic()
        with pytest.raises(HypervisorUnavailable, match=r"cannot reach vSphere.*timed out"):
            backend.check()
        assert time.monotonic() - started < 5


# --- faults a real vCenter sends, from vcsim's -faulty VM ---------------------------------


def test_vcenters_faults_reach_the_admin_as_what_to_do(
    table: dict[str, Any], make_backend: Make, tmp_path: Any
) -> None:
    """vcsim's -faulty VM (tests/helpers/vcsim/main.go) fails as a real vCenter does:
    these faults come over the wire, not from pyVmomi's classes alone."""
    faulty = start_vcsim(tmp_path / "faulty", faulty="DC0_H0_VM2")
    try:
        settings = {
            **table,
            "url": f"https://127.0.0.1:{faulty.port}",
            "ca_file": str(faulty.certificate.ca_file),
        }
        backend = make_backend({**settings, "folder": "DC0/vm"}, pool_id="faults")
        with pytest.raises(BackendError, match="take the host out of maintenance") as caught:
            backend.power_on(ref("DC0_H0_VM2"), "rdp")
        assert type(caught.value) is BackendError
        with pytest.raises(BackendError, match=r"lacks VirtualMachine\.Interact\.Reset; grant"):
            backend.reset(ref("DC0_H0_VM2"))

        clones = {"template": "DC0_H0_VM2", "max": 2, "min_free": "1MiB"}
        cloning = make_backend({**settings, "clones": clones}, pool_id="full")
        with pytest.raises(StorageFull, match="no room left on datastore LocalDS_0"):
            cloning.provision("full-001")
        # Another VM of the same vcsim is unaffected.
        assert backend.power_on(ref("DC0_H0_VM1"), "rdp") == Power(False, START_RETRY_AFTER_S)
    finally:
        faulty.stop()
