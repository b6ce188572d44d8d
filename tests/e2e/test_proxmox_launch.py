"""The Proxmox VE backend end to end: the broker's HTTP API on fakepve, through proxmoxer.

fakepve 0.5.0 (tests/helpers/fakepve.py) serves PVE's API on 127.0.0.1 with
its own TLS certificate, one API token, and a cluster of the test's; a broker
from ``create_app`` on a pools file naming it, served by uvicorn on loopback,
its scheduler run by the test (``Site.tend``). What the broker hands out is
checked against what fakepve holds.

fakepve runs no guests and PVE's SPICE proxy listens on port 3128 of a node,
which no test can own: the Proxmox pools here set ``health_check = false``
(the broker's probe of the proxy is what that turns off; everything up to it
runs). `spiceproxy` is answered in the shape recorded from PVE's source
(tests/data/proxmox/spiceproxy.json).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.e2e import e2e_required

try:
    import fakepve  # noqa: F401
except ImportError:
    if e2e_required():
        raise
    pytest.skip("fakepve is not installed: pip install 'rubicon[dev]'", allow_module_level=True)

from tests.helpers.broker_site import (
    Site,
    audit,
    degraded_gauge,
    degrades,
    launch_and_log_off,
    logoff,
    make_site,
    pool_toml,
    recovers,
)
from tests.helpers.fakepve import TOKEN_ID, TOKEN_SECRET, Served, fakepve_pki, served_pve

__all__ = ["fakepve_pki", "make_site", "served_pve"]

pytestmark = pytest.mark.e2e

QXL = {"vga": "qxl", "scsi0": "local-lvm:vm-disk,size=8G"}


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "pve-token"
    path.write_text(TOKEN_SECRET + "\n")
    path.chmod(0o600)
    return path


def proxmox_pool(
    pool_id: str, pve: Served, secret: Path, backend: dict[str, Any], **keys: Any
) -> str:
    table = {
        "type": "proxmox",
        "url": pve.url,
        "token_id": TOKEN_ID,
        "token_secret_file": str(secret),
        "ca_file": pve.cafile,
        "request_timeout": "3s",
        "task_timeout": "10s",
        **backend,
    }
    return pool_toml(pool_id, protocol="spice", backend=table, health_check=False, **keys)


# --- launch, reconnect, log off -------------------------------------------------------------


def test_a_launch_starts_the_vm_and_hands_out_a_spice_ticket_behind_the_proxy(
    served_pve: Served, secret: Path, make_site: Callable[[str], Site]
) -> None:
    pve = served_pve.pve
    vm = pve.add_vm(100, "desk-1", node="pve2", config=QXL | {"tags": "vdi"})
    backend = {"tag": "vdi", "spice_proxy": "{node}.pve.example.com"}
    site = make_site(proxmox_pool("lab", served_pve, secret, backend, recycle="poweroff"))
    user = site.sign_in()
    assert vm.status == "stopped"

    launched, starting = site.launch_ready("lab", user)
    assert starting, "the VM was off: the launcher is told to wait first"
    assert all(r.json()["status"] == "starting" for r in starting)
    assert launched.status_code == 200, launched.text
    assert vm.status == "running"
    connection = launched.json()["connection"]
    host = connection["host"]
    assert host.startswith("pvespiceproxy:")
    assert ":100:pve2::" in host
    assert connection["protocol"] == "spice"
    assert connection["proxy"] == "http://pve2.pve.example.com:3128"
    assert (connection["port"], connection["tls"]) == (61000, True)
    assert connection["password"] == pve.spice_passwords[100]
    assert connection["ca"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert connection["host_subject"].startswith("OU=PVE Cluster Node")
    assert pve.spice_requests == [(100, "pve2.pve.example.com")]

    # A reconnect: the same session and machine, a new ticket (PVE's last 30 s).
    again = site.launch("lab", user)
    assert again.status_code == 200, again.text
    assert again.json()["session_id"] == launched.json()["session_id"]
    assert again.json()["connection"]["password"] == pve.spice_passwords[100]
    assert again.json()["connection"]["password"] != connection["password"]

    # Log off: recycle = "poweroff" shuts the VM down; the next launch starts it again.
    logoff(site, user, launched.json()["session_id"])
    assert vm.status == "stopped"
    assert [t["type"] for t in pve.tasklog] == ["qmstart", "qmshutdown"]
    assert site.machine("lab", "desk-1")["state"] == "ready"
    second, starting = site.launch_ready("lab", user)
    assert second.status_code == 200, second.text
    assert starting


def test_recycle_by_revert_rolls_back_to_the_snapshot(
    served_pve: Served, secret: Path, make_site: Callable[[str], Site]
) -> None:
    pve = served_pve.pve
    vm = pve.add_vm(100, "desk-1", config=QXL, pool="desks")
    vm.snapshots["clean"] = dict(vm.config, snaptime=1000)
    vm.snapshots["later"] = dict(vm.config, snaptime=2000, cores=4)
    backend = {"resource_pool": "desks", "snapshot": "clean"}
    site = make_site(proxmox_pool("lab", served_pve, secret, backend, recycle="revert"))
    user = site.sign_in()
    launched, _ = site.launch_ready("lab", user)
    assert launched.status_code == 200, launched.text
    vm.config["cores"] = 16  # what the user's session changed

    logoff(site, user, launched.json()["session_id"])
    assert vm.config["parent"] == "clean"
    assert "cores" not in vm.config
    assert vm.status == "stopped"  # a snapshot without RAM: PVE leaves it off
    assert [t["type"] for t in pve.tasklog] == ["qmstart", "qmrollback"]
    assert site.machine("lab", "desk-1")["state"] == "ready"


# --- clone pools --------------------------------------------------------------------------


def test_a_clone_pool_fills_with_linked_clones_and_rebuilds_after_a_logoff(
    served_pve: Served, secret: Path, make_site: Callable[[str], Site]
) -> None:
    pve = served_pve.pve
    pve.add_vm(9000, "golden", template=True, config=QXL | {"scsi0": "local-lvm:base-9000-disk-0"})
    clones = {"template": "golden", "max": 3}
    site = make_site(
        proxmox_pool("lab", served_pve, secret, {"clones": clones}, spares=2, recycle="rebuild")
    )
    for _ in range(5):  # discovery, then the fill, then the spares' power
        if sum(vm.name.startswith("lab-") for vm in pve.vms) >= 2:
            break
        site.tend()
    made = {vm.name: vm for vm in pve.vms if vm.name.startswith("lab-")}
    assert sorted(made) == ["lab-001", "lab-002"]
    for vm in made.values():
        assert vm.config["tags"] == "rubicon-pool-lab"
        assert vm.config["scsi0"].startswith(f"local-lvm:vm-{vm.vmid}-disk-")
    assert pve.vm(9000).template  # the template is never the pool's

    user = site.sign_in()
    launched, _ = site.launch_ready("lab", user)
    assert launched.status_code == 200, launched.text
    vmid = int(launched.json()["connection"]["host"].split(":")[2])
    before = pve.vm(vmid)
    name = before.name
    logoff(site, user, launched.json()["session_id"])
    [rebuilt] = [vm for vm in pve.vms if vm.name == name]
    # PVE's /cluster/nextid may give the freed VMID again; the clone is a new one.
    assert rebuilt is not before, "rebuild deletes the clone and makes it afresh"
    assert rebuilt.config["smbios1"] != before.config["smbios1"]
    assert rebuilt.config["tags"] == "rubicon-pool-lab"
    assert site.machine("lab", name)["state"] == "ready"
    assert len(audit(site, "machine.provisioned")) == 2  # the fill's; a rebuild is a recycle
    types = [t["type"] for t in pve.tasklog]
    assert types.count("qmclone") == 3
    assert types.count("qmdestroy") == 1


# --- PVE away -----------------------------------------------------------------------------


def test_without_the_api_the_pool_degrades_and_recovers_and_a_static_pool_carries_on(
    served_pve: Served, secret: Path, make_site: Callable[[str], Site]
) -> None:
    served_pve.pve.add_vm(100, "desk-1", config=QXL, pool="desks")
    fixed = {"name": "desk-1", "host": "127.0.0.1", "port": 5999}
    site = make_site(
        proxmox_pool("pve", served_pve, secret, {"resource_pool": "desks"})
        + pool_toml("fixed", machines=[fixed], health_check=False)
    )
    user = site.sign_in()
    launch_and_log_off(site, "pve", user)

    served_pve.stop_listening()
    try:
        pool = degrades(site, "pve", user)
        assert f"cannot reach Proxmox VE at {served_pve.url}" in pool["degraded_reason"]
        assert TOKEN_SECRET not in str(pool)
        assert degraded_gauge(site, "fixed") == 0
        static = site.launch("fixed", user)
        assert static.status_code == 200, static.text
        assert static.json()["connection"]["port"] == 5999
        site.tend()  # PVE still away
        assert degraded_gauge(site, "pve") == 1
    finally:
        served_pve.listen_again()

    recovers(site, "pve", user)
