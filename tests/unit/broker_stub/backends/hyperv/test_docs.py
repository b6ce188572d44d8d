"""docs/backends.md's Hyper-V section stays true: its sample pools pass the kind's
checks, and the PowerShell it shows is what the backend sends."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from broker_stub.backends.hyperv import commands
from broker_stub.backends.registry import find_kind

DOC = Path(__file__).parents[5] / "docs" / "backends.md"


def section() -> str:
    text = DOC.read_text()
    start = text.index("## hyperv: Microsoft Hyper-V")
    return text[start : text.index("\n## ", start + 1)]


def test_the_sample_pools_pass_the_kinds_checks(tmp_path: Path) -> None:
    [sample] = [b for b in re.findall(r"```toml\n(.*?)```", section(), re.S)]
    pools = tomllib.loads(sample)["pools"]
    assert [p["id"] for p in pools] == ["lab", "vdi"]
    # The files the samples name, made here (the kind reads both).
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n")
    password = tmp_path / "password"
    password.write_text("pw\n")
    password.chmod(0o600)
    for pool in pools:
        table = dict(pool["backend"])
        table.pop("type")
        if "ca_file" in table:
            table["ca_file"] = str(ca)
        if "password_file" in table:
            table["password_file"] = str(password)
        find_kind("hyperv").options(table)


def test_the_powershell_shown_is_what_is_sent() -> None:
    text = section().replace("\\|", "|")
    for statements in (commands.host(), commands.list_vms(), commands.find_vm("lab-1")):
        assert f"`{commands.render(statements)}`" in text
    assert "Get-VMCheckpoint -Name 'clean' | Restore-VMCheckpoint -Confirm:$false" in text
    assert commands.render(commands.restore("x", "clean")).endswith(
        "Get-VMCheckpoint -Name 'clean' | Restore-VMCheckpoint -Confirm:$false"
    )
    new_disk = commands.new_disk("D:\\Rubicon\\vdi\\vdi-001.vhdx", "D:\\Golden\\win11.vhdx")
    assert commands.render(new_disk).split(" | ")[0] in text
