"""docs/backends.md's Proxmox samples are tables the broker accepts, and its role
names every privilege the backend's error messages can name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from broker_stub.backends.proxmox.options import ProxmoxOptions

DOC = Path(__file__).parents[5] / "docs" / "backends.md"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## proxmox: Proxmox VE", 1)[1].split("\n## ", 1)[0]


def test_the_sample_pool_and_its_clones_are_accepted(tmp_path: Path) -> None:
    pool, clones = re.findall(r"```toml\n(.*?)```", section(), re.S)
    table = tomllib.loads(pool)["pools"][0]["backend"]
    secret = tmp_path / "pve-token"
    secret.write_text("secret\n")
    secret.chmod(0o600)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    # The sample's files stand for the admin's own.
    table |= {"token_secret_file": str(secret), "ca_file": str(ca)}
    options = ProxmoxOptions.model_validate(table)
    assert (options.resource_pool, options.spice_proxy) == ("office", "{node}.example.com")
    cloned = tomllib.loads("[pools.backend]\n" + clones)["pools"]["backend"]["clones"]
    del table["resource_pool"]
    options = ProxmoxOptions.model_validate(table | {"clones": cloned})
    assert options.clones is not None
    assert (options.clones.template, options.clones.max) == ("win11-golden", 50)


def test_the_role_holds_what_the_backend_uses() -> None:
    [command] = [line for line in section().splitlines() if line.startswith("pveum role add")]
    granted = set(command.split('-privs "', 1)[1].rstrip('"').split())
    used = {
        "VM.Audit",  # /cluster/resources, status/current, config, snapshot lists
        "VM.PowerMgmt",  # status/start, shutdown, stop, reset, reboot, resume
        "VM.Console",  # spiceproxy
        "VM.Snapshot.Rollback",  # snapshot/NAME/rollback
        "VM.Clone",  # the template's clone
        "VM.Allocate",  # the new VMID, destroy
        "VM.Config.Options",  # the clone's tag
        "Datastore.AllocateSpace",  # the linked clone's disk
        "SDN.Use",  # the clone's bridges (PVE 8)
    }
    assert granted == used
