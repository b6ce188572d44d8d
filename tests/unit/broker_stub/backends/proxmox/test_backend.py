"""The Proxmox backend against fakepve 0.5.0 on loopback, through proxmoxer and requests.

fakepve keeps VMs, nodes, pools, tags, snapshots, tasks and locks as PVE does
and runs no guests: power states change, nothing boots. Its tasks end before
the request returns (time_scale 0) unless a test slows them. `spiceproxy` is
the recorded shape (tests/helpers/fakepve.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from broker_stub.backends.base import (
    BackendError,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
)
from broker_stub.backends.proxmox.backend import ProxmoxBackend
from tests.helpers.fakepve import SPICE_TLS_PORT, Served

Make = Callable[..., ProxmoxBackend]
QXL = {"vga": "qxl", "scsi0": "local-lvm:vm-disk,size=8G"}


def ref(name: str) -> MachineRef:
    return MachineRef(pool_id="lab", name=name, host="", ports={})


def requests_to(served: Served, suffix: str) -> list[tuple[str, str, bytes]]:
    return [r for r in served.pve.requests if r[1].endswith(suffix)]


@pytest.fixture
def cluster(served_pve: Served) -> Served:
    """Two nodes: desks by pool, tag and name, a template, a container and others."""
    pve = served_pve.pve
    pve.add_vm(100, "desk-1", config=QXL | {"tags": "vdi;win"}, pool="desks")
    pve.add_vm(101, "desk-2", node="pve2", status="running", config=QXL | {"tags": "vdi"})
    pve.add_vm(102, "build", config=QXL | {"tags": "ci"}, pool="desks")
    pve.add_vm(900, "desk-golden", template=True, config=QXL | {"tags": "vdi"}, pool="desks")
    pve.add_ct(300, "desk-ct", node="pve2")
    return served_pve


@pytest.mark.parametrize(
    ("selection", "found"),
    [
        ({"resource_pool": "desks"}, {"desk-1": "stopped", "build": "stopped"}),
        ({"tag": "vdi"}, {"desk-1": "stopped", "desk-2": "running"}),
        ({"name_pattern": "desk-*"}, {"desk-1": "stopped", "desk-2": "running"}),
    ],
)
def test_discover_selects_qemu_vms_across_nodes_never_templates_or_containers(
    cluster: Served, make_backend: Make, selection: dict[str, Any], found: dict[str, str]
) -> None:
    assert make_backend(**selection).discover() == found


def test_power_on_starts_the_vm_then_says_it_runs(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    assert backend.power_on(ref("desk-1"), "spice") == Power(running=False, retry_after=1)
    assert cluster.pve.vm(100).status == "running"
    [start] = [t for t in cluster.pve.tasklog if t["type"] == "qmstart"]
    assert (start["user"], start["exitstatus"]) == ("rubicon@pve!broker", "OK")
    assert backend.power_on(ref("desk-1"), "spice") == Power(running=True)
    assert backend.power_state(ref("desk-1")) == PowerState.RUNNING
    # On the other node, found by name alone.
    assert backend.power_on(ref("desk-2"), "spice") == Power(running=True)


def test_a_paused_vm_is_resumed(cluster: Served, make_backend: Make) -> None:
    vm = cluster.pve.vm(101)
    vm.qmpstatus = "paused"
    backend = make_backend(tag="vdi")
    assert backend.power_state(ref("desk-2")) == PowerState.SUSPENDED
    assert backend.power_on(ref("desk-2"), "spice") == Power(running=True)
    assert vm.qmpstatus == "running"


def test_a_start_another_caller_made_first_is_not_an_error(
    cluster: Served, make_backend: Make
) -> None:
    cluster.pve.fail("POST", "/nodes/pve1/qemu/100/status/start", error="already_running")
    power = make_backend(tag="vdi").power_on(ref("desk-1"), "spice")
    assert power == Power(running=False, retry_after=1)  # asked again, it will say running


def test_power_off_shuts_down_in_order(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi", shutdown_timeout="5s")
    backend.power_off(ref("desk-2"))
    assert cluster.pve.vm(101).status == "stopped"
    [(_, _, body)] = requests_to(cluster, "/qemu/101/status/shutdown")
    assert body == b"timeout=5"
    assert not requests_to(cluster, "/status/stop")


def test_a_guest_that_ignores_acpi_is_stopped_after_the_timeout(
    cluster: Served, make_backend: Make
) -> None:
    vm = cluster.pve.vm(101)
    vm.acpi = False
    make_backend(tag="vdi", shutdown_timeout="5s").power_off(ref("desk-2"))
    assert vm.status == "stopped"
    shutdown = [t for t in cluster.pve.tasklog if t["type"] == "qmshutdown"]
    assert shutdown[0]["exitstatus"] == "VM quit/powerdown failed - got timeout"
    assert len(requests_to(cluster, "/qemu/101/status/stop")) == 1


def test_reset_and_restart_are_pve_tasks(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    backend.reset(ref("desk-2"))
    backend.restart(ref("desk-2"))
    types = [t["type"] for t in cluster.pve.tasklog]
    assert types == ["qmreset", "qmreboot"]
    assert all(t["exitstatus"] == "OK" for t in cluster.pve.tasklog)


def take_snapshot(served: Served, vmid: int, name: str, when: int) -> None:
    vm = served.pve.vm(vmid)
    vm.snapshots[name] = dict(vm.config, snaptime=when)


def test_revert_rolls_back_to_the_named_snapshot(cluster: Served, make_backend: Make) -> None:
    take_snapshot(cluster, 101, "clean", 1000)
    take_snapshot(cluster, 101, "later", 2000)
    cluster.pve.vm(101).config["description"] = "the user's"
    cluster.pve.vm(101).config["cores"] = 8  # what the user changed goes
    make_backend(tag="vdi", snapshot="clean").recycle(ref("desk-2"), RecycleMode.REVERT)
    assert cluster.pve.vm(101).config.get("parent") == "clean"
    assert "cores" not in cluster.pve.vm(101).config
    assert [t["type"] for t in cluster.pve.tasklog] == ["qmrollback"]


def test_revert_without_a_name_takes_the_newest(cluster: Served, make_backend: Make) -> None:
    take_snapshot(cluster, 101, "old", 1000)
    take_snapshot(cluster, 101, "new", 3000)
    take_snapshot(cluster, 101, "middle", 2000)
    make_backend(tag="vdi").recycle(ref("desk-2"), RecycleMode.REVERT)
    assert cluster.pve.vm(101).config.get("parent") == "new"


def test_recycle_none_and_poweroff(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    backend.recycle(ref("desk-2"), RecycleMode.NONE)
    assert cluster.pve.vm(101).status == "running"
    backend.recycle(ref("desk-2"), RecycleMode.POWEROFF)
    assert cluster.pve.vm(101).status == "stopped"
    with pytest.raises(NotSupported, match=r"no \[pools\.backend\.clones\]"):
        backend.recycle(ref("desk-2"), RecycleMode.REBUILD)


def test_two_vms_of_one_name_are_refused(cluster: Served, make_backend: Make) -> None:
    cluster.pve.add_vm(103, "desk-1", node="pve2", config={"tags": "vdi"})
    with pytest.raises(
        BackendError, match="2 VMs named 'desk-1' in this pool \\(VMIDs 100, 103\\)"
    ):
        make_backend(tag="vdi").power_on(ref("desk-1"), "spice")


def test_a_vm_outside_the_selection_is_missing(cluster: Served, make_backend: Make) -> None:
    with pytest.raises(MachineMissing):
        make_backend(tag="vdi").power_on(ref("build"), "spice")


# --- consoles ---------------------------------------------------------------------


def test_the_spice_console_is_probed_at_the_proxy_without_a_ticket(
    cluster: Served, make_backend: Make
) -> None:
    console = make_backend(tag="vdi").console(ref("desk-2"), "spice")
    assert console.probe_address == ("pve2", 3128)
    assert not cluster.pve.spice_requests  # no ticket spent


def test_the_ticket_names_where_it_works(cluster: Served, make_backend: Make) -> None:
    ticket = make_backend(tag="vdi").console_password(ref("desk-2"), "spice")
    console = ticket.console
    assert console is not None
    assert ticket.password == cluster.pve.spice_passwords[101]
    assert console.host.startswith("pvespiceproxy:")
    assert ":101:pve2::" in console.host
    assert (console.port, console.tls_port) == (None, SPICE_TLS_PORT)
    assert console.proxy == "http://pve2:3128"
    assert ticket.expires_at is not None
    assert cluster.pve.spice_requests == [(101, None)]  # PVE picks the proxy's name


def test_an_admin_names_the_proxy(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi", spice_proxy="{node}.vdi.example.com")
    assert backend.console(ref("desk-2"), "spice").proxy == "http://pve2.vdi.example.com:3128"
    ticket = backend.console_password(ref("desk-2"), "spice")
    assert ticket.console is not None
    assert ticket.console.proxy == "http://pve2.vdi.example.com:3128"
    assert cluster.pve.spice_requests == [(101, "pve2.vdi.example.com")]


def test_a_vm_without_a_spice_display_has_no_console(cluster: Served, make_backend: Make) -> None:
    cluster.pve.vm(101).config["vga"] = "std"
    with pytest.raises(NoConsole, match="Display to SPICE \\(qxl\\)"):
        make_backend(tag="vdi").console(ref("desk-2"), "spice")


def test_the_console_privilege_is_needed_for_a_ticket(cluster: Served, make_backend: Make) -> None:
    cluster.pve.grant("rubicon@pve!broker", "/vms", "VM.Audit", "VM.PowerMgmt")
    with pytest.raises(BackendError, match=r"lacks VM\.Console on /vms/101"):
        make_backend(tag="vdi").console_password(ref("desk-2"), "spice")


def test_vnc_is_refused_with_the_reason(cluster: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    for call in (backend.console, backend.power_on):
        with pytest.raises(NoConsole, match="wraps VNC in TLS from its first byte"):
            call(ref("desk-2"), "vnc")
    assert not requests_to(cluster, "/vncproxy")
    assert backend.console_password(ref("desk-2"), "rdp").password is None


# --- linked clones ----------------------------------------------------------------


@pytest.fixture
def golden(served_pve: Served) -> Served:
    served_pve.pve.add_vm(
        9000,
        "golden",
        template=True,
        config={"vga": "qxl", "scsi0": "local-lvm:base-9000-disk-0,size=8G", "tags": "gold"},
    )
    served_pve.pve.add_node("pve2")
    return served_pve


def test_provision_makes_a_tagged_linked_clone(golden: Served, make_backend: Make) -> None:
    backend = make_backend(clones={"template": "golden", "max": 3, "resource_pool": "vdi"})
    golden.pve.pools["vdi"] = set()
    backend.provision("lab-001")
    [clone] = [vm for vm in golden.pve.vms if vm.name == "lab-001"]
    assert clone.vmid == 100  # /cluster/nextid's first free id
    assert clone.config["tags"] == "gold;rubicon-pool-lab"
    assert clone.config["description"] == "Made by Rubicon for pool lab."
    assert clone.config["scsi0"].startswith("local-lvm:vm-100-disk-0")
    assert golden.pve.pools["vdi"] == {100}
    [(_, _, body)] = requests_to(golden, "/qemu/9000/clone")
    assert b"full=0" in body
    assert b"newid=100" in body
    assert b"name=lab-001" in body
    assert backend.discover() == {"lab-001": "stopped"}


def test_a_vmid_taken_meanwhile_is_given_up_for_the_next(
    golden: Served, make_backend: Make
) -> None:
    # Another node took /cluster/nextid's answer before this clone began.
    golden.pve.fail(
        "POST",
        "/nodes/pve1/qemu/9000/clone",
        500,
        "unable to create VM 100: config file already exists",
        times=1,
    )
    make_backend(clones={"template": "golden", "max": 3}).provision("lab-001")
    assert [vm.name for vm in golden.pve.vms] == ["golden", "lab-001"]
    assert len(requests_to(golden, "/cluster/nextid")) == 2


def test_clones_go_to_the_node_asked_for(golden: Served, make_backend: Make) -> None:
    make_backend(clones={"template": 9000, "max": 1, "node": "pve2"}).provision("lab-001")
    [clone] = [vm for vm in golden.pve.vms if vm.name == "lab-001"]
    assert clone.node == "pve2"


def test_a_template_that_is_not_one(golden: Served, make_backend: Make) -> None:
    golden.pve.add_vm(555, "plain", config={"scsi0": "local-lvm:vm-555-disk-0,size=1G"})
    with pytest.raises(BackendError, match="is not a template: linked clones need one"):
        make_backend(clones={"template": "plain", "max": 1}).provision("lab-001")
    with pytest.raises(BackendError, match="not a VM of this cluster"):
        make_backend(clones={"template": "nothing", "max": 1}).provision("lab-001")


def test_destroy_deletes_only_the_pools_own_clones(golden: Served, make_backend: Make) -> None:
    backend = make_backend(clones={"template": "golden", "max": 3})
    other = make_backend("other", clones={"template": "golden", "max": 3})
    backend.provision("lab-001")
    golden.pve.vm(100).status = "running"
    golden.pve.add_vm(200, "lab-002", config={"tags": "rubicon-pool-other"})
    with pytest.raises(BackendError, match="deletes only VMs it made for pool 'other'"):
        other.destroy(ref("lab-001"))
    backend.destroy(ref("lab-001"))
    assert [vm.name for vm in golden.pve.vms] == ["golden", "lab-002"]
    assert [t["type"] for t in golden.pve.tasklog][-2:] == ["qmstop", "qmdestroy"]
    with pytest.raises(MachineMissing):
        backend.destroy(ref("lab-001"))


def test_a_half_made_clone_is_replaced(golden: Served, make_backend: Make) -> None:
    # A node cloned, then died before it tagged the clone: the description says whose.
    golden.pve.add_vm(150, "lab-001", config={"description": "Made by Rubicon for pool lab."})
    make_backend(clones={"template": "golden", "max": 3}).provision("lab-001")
    assert [vm.vmid for vm in golden.pve.vms if vm.name == "lab-001"] == [100]


def test_rebuild_makes_the_clone_afresh(golden: Served, make_backend: Make) -> None:
    backend = make_backend(clones={"template": "golden", "max": 3})
    backend.provision("lab-001")
    golden.pve.vm(100).config["cores"] = 8
    backend.recycle(ref("lab-001"), RecycleMode.REBUILD)
    [clone] = [vm for vm in golden.pve.vms if vm.name == "lab-001"]
    assert "cores" not in clone.config
    assert "rubicon-pool-lab" in clone.config["tags"]
