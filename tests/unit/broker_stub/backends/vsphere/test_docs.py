"""docs/backends.md's vSphere samples are tables the broker accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from broker_stub.backends.vsphere.options import VsphereOptions

DOC = Path(__file__).parents[5] / "docs" / "backends.md"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## vsphere: VMware vCenter and ESXi", 1)[1].split("\n## ", 1)[0]


def test_the_sample_pool_and_its_clones_are_accepted(tmp_path: Path) -> None:
    pool, clones = re.findall(r"```toml\n(.*?)```", section(), re.S)
    table = tomllib.loads(pool)["pools"][0]["backend"]
    secret = tmp_path / "vcenter.password"
    secret.write_text("pw\n")
    secret.chmod(0o600)
    # The sample's file and its elided fingerprint stand for the admin's own.
    assert table["fingerprint"].startswith("5D:2F:")
    table |= {"password_file": str(secret), "fingerprint": "5d" * 32}
    options = VsphereOptions.model_validate(table)
    assert options.folder == "DC1/vm/Office"
    assert options.host_addresses == {"esx1": "10.0.0.11"}

    cloned = tomllib.loads("[pools.backend]\n" + clones)["pools"]["backend"]["clones"]
    del table["folder"]
    options = VsphereOptions.model_validate(table | {"clones": cloned})
    assert options.clones is not None
    assert (options.clones.template, options.clones.max) == ("win11-parent", 50)
