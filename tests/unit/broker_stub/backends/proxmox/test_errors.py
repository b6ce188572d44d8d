"""PVE's failures in the backend's words, against fakepve on loopback (proxmoxer, requests).

Each case makes fakepve fail as PVE does (its own catalogue of PVE's messages,
its scenarios: permissions, offline nodes, lost quorum, full storage) or stops
it, and checks the error class the domain sorts by and what the admin reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakepve.certs import make_cert

from broker_stub.backends.base import (
    BackendError,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    RecycleMode,
    SnapshotMissing,
    StorageFull,
)
from broker_stub.backends.common import fingerprint_of
from broker_stub.backends.proxmox.backend import ProxmoxBackend
from tests.helpers.fakepve import TOKEN_ID, TOKEN_SECRET, Served

Make = Callable[..., ProxmoxBackend]


def ref(name: str) -> MachineRef:
    return MachineRef(pool_id="lab", name=name, host="", ports={})


@pytest.fixture
def desk(served_pve: Served) -> Served:
    served_pve.pve.add_vm(100, "desk-1", config={"vga": "qxl", "tags": "vdi"})
    return served_pve


def test_a_refused_token_is_the_hypervisor_unavailable(desk: Served, make_backend: Make) -> None:
    desk.pve.apitokens[TOKEN_ID] = "another-secret"
    with pytest.raises(HypervisorUnavailable, match="refused the API token") as caught:
        make_backend(tag="vdi").check()
    assert TOKEN_SECRET not in str(caught.value)


def test_a_missing_privilege_is_named(desk: Served, make_backend: Make) -> None:
    # The token may see the VM but not power it on.
    desk.pve.grant(TOKEN_ID, "/vms", "VM.Audit", "VM.Console")
    backend = make_backend(tag="vdi")
    assert backend.discover() == {"desk-1": "stopped"}
    with pytest.raises(BackendError, match=r"lacks VM\.PowerMgmt on /vms/100") as caught:
        backend.power_on(ref("desk-1"), "spice")
    assert type(caught.value) is BackendError  # not the pool's fault: it stays healthy
    desk.pve.grant(TOKEN_ID, "/vms/100", "VM.PowerMgmt")
    assert not backend.power_on(ref("desk-1"), "spice").running  # started now


def test_a_failed_task_says_its_exit_status(desk: Served, make_backend: Make) -> None:
    desk.pve.vm(100).start_error = "TASK ERROR: QEMU exited with code 1"
    with pytest.raises(BackendError, match="task ended with: TASK ERROR: QEMU exited with code 1"):
        make_backend(tag="vdi").power_on(ref("desk-1"), "spice")


def test_a_task_that_fails_with_pves_own_error(desk: Served, make_backend: Make) -> None:
    desk.pve.fail("POST", "/nodes/pve1/qemu/100/status/reset", error="locked")
    desk.pve.vm(100).status = "running"
    with pytest.raises(BackendError, match=r"cannot reset: its task ended with: VM is locked"):
        make_backend(tag="vdi").reset(ref("desk-1"))


def test_an_offline_node_fails_the_vm_not_the_pool(served_pve: Served, make_backend: Make) -> None:
    served_pve.pve.add_vm(200, "desk-2", node="pve2", config={"tags": "vdi"})
    served_pve.pve.set_node_offline("pve2")
    backend = make_backend(tag="vdi")
    assert backend.discover() == {"desk-2": "unknown"}
    with pytest.raises(BackendError, match="node is offline") as caught:
        backend.power_state(ref("desk-2"))
    assert not isinstance(caught.value, HypervisorUnavailable)
    backend.check()  # the cluster answers


def test_a_cluster_without_quorum_is_unavailable(desk: Served, make_backend: Make) -> None:
    desk.pve.lose_quorum()
    with pytest.raises(HypervisorUnavailable, match="lost quorum"):
        make_backend(tag="vdi").power_on(ref("desk-1"), "spice")


def test_a_vm_that_went_away_is_missing(desk: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    with pytest.raises(MachineMissing, match="no VM 'desk-9' in this pool"):
        backend.power_on(ref("desk-9"), "spice")
    # Deleted between the listing and the call: PVE's "does not exist".
    desk.pve.fail(
        "GET", "/nodes/pve1/qemu/100/status/current", error="configuration_file_does_not_exist"
    )
    with pytest.raises(MachineMissing, match="does not exist"):
        backend.power_state(ref("desk-1"))


def test_a_missing_snapshot(desk: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi", snapshot="clean")
    with pytest.raises(SnapshotMissing, match=r"has no snapshot 'clean'.*qm snapshot 100"):
        backend.recycle(ref("desk-1"), RecycleMode.REVERT)


def test_full_storage_for_a_clone(served_pve: Served, make_backend: Make) -> None:
    pve = served_pve.pve
    store = pve.storages["local-lvm"]
    store["volumes"] = {
        "base-900-disk-0": {"content": "images", "format": "raw", "size": 8 << 30, "vmid": 900}
    }
    store["avail"] = 1 << 30
    pve.add_vm(900, "golden", template=True, config={"scsi0": "local-lvm:base-900-disk-0,size=8G"})
    backend = make_backend(clones={"template": "golden", "max": 2})
    with pytest.raises(StorageFull, match="No space left on device"):
        backend.provision("lab-001")
    assert [vm.vmid for vm in pve.vms] == [900]  # PVE took the half-made clone away


def test_a_stopped_api_is_unavailable_and_comes_back(desk: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi")
    backend.check()
    desk.stop_listening()
    with pytest.raises(
        HypervisorUnavailable, match=r"cannot reach Proxmox VE at https://127\.0\.0\.1"
    ):
        backend.check()
    desk.listen_again()
    backend.check()  # the same session, a new connection


def test_an_api_that_does_not_answer_times_out(desk: Served, make_backend: Make) -> None:
    backend = make_backend(tag="vdi", request_timeout="1s")
    desk.pve.flaky_network(hang_rate=1.0, hang_secs=3)
    started = time.monotonic()
    with pytest.raises(HypervisorUnavailable, match="did not answer within 1s"):
        backend.check()
    assert time.monotonic() - started < 2.5
    desk.pve.flaky_network()


def test_a_certificate_from_another_ca_is_refused(
    desk: Served, make_backend: Make, tmp_path: Path
) -> None:
    other_ca, _, _ = make_cert(str(tmp_path), name="other", hosts=("127.0.0.1",))
    with pytest.raises(HypervisorUnavailable, match="not the one the pool trusts"):
        make_backend(tag="vdi", ca_file=other_ca).check()


def test_a_pinned_fingerprint_instead_of_a_ca(desk: Served, make_backend: Make) -> None:
    right = fingerprint_of(desk.der)
    make_backend(tag="vdi", ca_file=None, fingerprint=right).check()
    wrong = ":".join(["00"] * 32)
    with pytest.raises(HypervisorUnavailable, match="not the one the pool trusts"):
        make_backend(tag="vdi", ca_file=None, fingerprint=wrong).check()


def test_no_secret_reaches_the_logs(
    desk: Served, make_backend: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    desk.pve.vm(100).status = "running"
    backend = make_backend(tag="vdi")
    ticket = backend.console_password(ref("desk-1"), "spice")
    assert ticket.password == desk.pve.spice_passwords[100]
    assert "spiceproxy" in caplog.text  # proxmoxer logged the request, not its answer
    assert ticket.password not in caplog.text
    assert TOKEN_SECRET not in caplog.text
    assert ticket.password not in repr(ticket)
    assert TOKEN_SECRET not in repr(backend.options) + repr(backend)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://pve1.example.com", "https://pve1.example.com:8006/api2/json"),
        ("https://pve1.example.com:443", "https://pve1.example.com:443/api2/json"),
        ("https://[2001:db8::7]:8006", "https://[2001:db8::7]:8006/api2/json"),
        ("https://192.0.2.7", "https://192.0.2.7:8006/api2/json"),
    ],
)
def test_the_api_url_as_proxmoxer_is_given_it(
    make_backend: Make, table: dict[str, str], url: str, base: str
) -> None:
    backend = make_backend(tag="vdi", url=url)
    assert backend._api._api._store["base_url"] == base
