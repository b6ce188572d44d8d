"""mstsc plans, exactly: the .rdp file and the TERMSRV credential around the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.core.models import ConnectionInfo
from launcher.core.protocols import ClientNotFound, RemoveCredential
from launcher.core.protocols.rdp import RdpOptions, mstsc, rdpfile
from tests.unit.launcher.core.protocols.rdp.cases import (
    MSTSC_CASES,
    VM_ID,
    conn,
    credentials,
    make_exe,
    rdp_text,
)


@pytest.mark.parametrize(("connection", "options", "text", "pre"), MSTSC_CASES)
def test_mstsc_rdp_file_and_credential_steps_exactly(
    connection: ConnectionInfo,
    options: RdpOptions,
    text: str,
    pre: tuple[tuple[str, str, str], ...],
) -> None:
    plan = mstsc.plan(connection, options=options)
    assert plan.argv == ("mstsc", "{file:0}")
    (rdp_file,) = plan.temp_files
    assert rdp_file.suffix == ".rdp"
    assert rdp_file.mode == 0o600
    assert rdp_text(rdp_file.contents) == text
    assert credentials(plan.pre_steps) == pre
    assert plan.post_steps == tuple(RemoveCredential(target) for target, _, _ in pre)
    for _, _, password in pre:
        assert password not in rdp_text(rdp_file.contents)
        assert password not in repr(plan)
    assert plan.cleanup_after == rdpfile.RDP_FILE_GRACE
    assert plan.stdin is None
    assert plan.pass_fds == ()


def test_mstsc_opens_a_hyper_v_vm_console() -> None:
    connection = conn(host="hv1.example.com", port=2179, vmconnect=VM_ID)
    plan = mstsc.plan(connection, options=RdpOptions(sso_password="pw"))

    assert rdp_text(plan.temp_files[0].contents) == (
        "full address:s:hv1.example.com:2179\r\n"
        "server port:i:2179\r\n"
        f"pcb:s:{VM_ID}\r\n"
        "negotiate security layer:i:0\r\n"
        "username:s:ann\r\n"
        "screen mode id:i:2\r\n"
        "use multimon:i:0\r\n"
        "redirectclipboard:i:1\r\n"
        "audiomode:i:0\r\n"
        "authentication level:i:2\r\n"
        "prompt for credentials:i:0\r\n"
        "enablecredsspsupport:i:1\r\n"
    )
    assert credentials(plan.pre_steps) == (("TERMSRV/hv1.example.com", "ann", "pw"),)


def test_locate_mstsc(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound, match="part of Windows"):
        mstsc.locate(path=str(tmp_path), extra_dirs=())
    exe = make_exe(tmp_path / "System32", "mstsc")
    assert mstsc.locate(path="", extra_dirs=(str(tmp_path / "System32"),)) == str(exe)
