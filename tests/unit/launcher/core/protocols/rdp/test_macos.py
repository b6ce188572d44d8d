"""macOS plans, exactly: the .rdp file opened with Microsoft's app."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.core.models import ConnectionInfo
from launcher.core.protocols import ClientNotFound, LaunchError
from launcher.core.protocols.rdp import RdpOptions, macos, rdpfile
from tests.unit.launcher.core.protocols.rdp.cases import MSTSC_CASES, VM_ID, conn, rdp_text


@pytest.mark.parametrize(("connection", "options", "text", "pre"), MSTSC_CASES)
def test_macos_opens_the_rdp_file_with_the_microsoft_app(
    connection: ConnectionInfo,
    options: RdpOptions,
    text: str,
    pre: tuple[tuple[str, str, str], ...],
) -> None:
    app = "/Applications/Windows App.app"
    plan = macos.plan(connection, app_path=app, options=options)
    assert plan.argv == ("/usr/bin/open", "-a", app, "{file:0}")
    assert rdp_text(plan.temp_files[0].contents) == text
    # The Microsoft client cannot be handed a password: no steps, no stdin.
    assert plan.pre_steps == plan.post_steps == ()
    assert plan.stdin is None
    assert plan.cleanup_after == rdpfile.RDP_FILE_GRACE


def test_the_macos_client_cannot_open_a_hyper_v_vm_console() -> None:
    connection = conn(host="hv1.example.com", port=2179, vmconnect=VM_ID)
    with pytest.raises(LaunchError) as caught:
        macos.plan(connection, app_path="/Applications/Windows App.app", options=RdpOptions())
    assert "VMConnect" in caught.value.message
    assert "brew install freerdp" in caught.value.hint


def test_locate_macos_app(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound, match="Mac App Store"):
        macos.locate(search_dirs=(str(tmp_path),))
    old = tmp_path / "Microsoft Remote Desktop.app"
    old.mkdir()
    assert macos.locate(search_dirs=(str(tmp_path),)) == str(old)
    new = tmp_path / "Windows App.app"
    new.mkdir()
    assert macos.locate(search_dirs=(str(tmp_path),)) == str(new)
    assert macos.locate(override=str(old)) == str(old)
    with pytest.raises(ClientNotFound, match="at /nowhere"):
        macos.locate(override="/nowhere/Some.app")
