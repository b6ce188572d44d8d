from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import ClientNotFound, LaunchError, LaunchPlan, vnc

DATA = Path(__file__).parents[4] / "data" / "vncviewer"


def conn(**kw: object) -> ConnectionInfo:
    base: dict[str, object] = {"protocol": Protocol.VNC, "host": "10.0.0.7", "port": 5901}
    base.update(kw)
    return ConnectionInfo(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("connection", "options", "argv", "stdin"),
    [
        (
            conn(password="pw123456"),
            {},
            ("/usr/bin/vncviewer", "-passwd", "/dev/stdin", "10.0.0.7::5901"),
            bytes.fromhex("f7b42089d9cdeab7"),
        ),
        (
            conn(password="pw123456"),
            {"fullscreen": True},
            ("/usr/bin/vncviewer", "-FullScreen", "-passwd", "/dev/stdin", "10.0.0.7::5901"),
            bytes.fromhex("f7b42089d9cdeab7"),
        ),
        (
            conn(host="desk-1.example.com", port=5999),
            {},
            ("/usr/bin/vncviewer", "desk-1.example.com::5999"),
            None,
        ),
        (
            conn(host="::1", port=5901, password="x"),
            {},
            ("/usr/bin/vncviewer", "-passwd", "/dev/stdin", "[::1]::5901"),
            vnc.obfuscate_password("x"),
        ),
    ],
)
def test_plan_argv_and_stdin_exactly(
    connection: ConnectionInfo, options: dict[str, bool], argv: tuple[str, ...], stdin: bytes | None
) -> None:
    plan = vnc.plan(connection, client="/usr/bin/vncviewer", **options)
    assert plan.argv == argv
    assert plan.stdin == stdin


def test_password_never_in_argv_or_repr() -> None:
    plan = vnc.plan(conn(password="s3cr3t!!"), client="vncviewer")
    assert not any("s3cr3t" in arg for arg in plan.argv)
    assert "s3cr3t" not in repr(plan)
    assert "s3cr3t" not in repr(conn(password="s3cr3t!!"))


def test_plan_refuses_other_protocols() -> None:
    with pytest.raises(ValueError, match="not a VNC connection"):
        vnc.plan(conn(protocol=Protocol.RDP), client="vncviewer")


def test_obfuscate_known_value() -> None:
    # Computed with TigerVNC's `vncpasswd -f`.
    assert vnc.obfuscate_password("pw123456").hex() == "f7b42089d9cdeab7"


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20))
def test_obfuscate_is_eight_bytes_and_only_eight_count(password: str) -> None:
    out = vnc.obfuscate_password(password)
    assert len(out) == 8
    assert out == vnc.obfuscate_password(password[:8])
    if len(password) < 8:
        assert out != vnc.obfuscate_password(password + "x")


@pytest.mark.skipif(shutil.which("vncpasswd") is None, reason="vncpasswd (tigervnc-tools) missing")
@pytest.mark.parametrize("password", ["a", "demo", "12345678", "longer-than-eight", "päss"])
def test_obfuscate_matches_tigervnc_vncpasswd(password: str) -> None:
    real = subprocess.run(
        ["vncpasswd", "-f"], input=password.encode(), capture_output=True, timeout=10, check=True
    ).stdout
    assert vnc.obfuscate_password(password) == real


def test_locate_missing_client_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ClientNotFound) as caught:
        vnc.locate(platform="linux", path=str(tmp_path), extra_dirs=())
    assert "apt-get install tigervnc-viewer" in str(caught.value)
    assert "not installed" in caught.value.message


def test_locate_uses_override_and_rejects_a_bad_one(tmp_path: Path) -> None:
    viewer = tmp_path / "my-viewer"
    viewer.write_text("#!/bin/sh\n")
    with pytest.raises(ClientNotFound, match=str(viewer)):
        vnc.locate(platform="linux", override=str(viewer))  # not executable
    viewer.chmod(0o755)
    assert vnc.locate(platform="linux", override=str(viewer)) == str(viewer)


def test_locate_searches_path(tmp_path: Path) -> None:
    viewer = tmp_path / "xtigervncviewer"
    viewer.write_text("#!/bin/sh\n")
    viewer.chmod(0o755)
    assert vnc.locate(platform="macos", path=str(tmp_path), extra_dirs=()) == str(viewer)


@pytest.mark.parametrize(
    ("recording", "expected"),
    [
        ("auth-failure.txt", "The desktop refused the console password."),
        ("connection-refused.txt", "The desktop is not answering on its display port."),
        ("connected.txt", None),
    ],
)
def test_recorded_viewer_output_is_classified(recording: str, expected: str | None) -> None:
    reasons = [
        reason
        for line in (DATA / recording).read_text().splitlines()
        if (reason := vnc.classify_line(line)) is not None
    ]
    assert [r.message for r in reasons] == ([expected] if expected else [])


def test_launch_plan_is_frozen() -> None:
    plan = LaunchPlan(argv=("x",))
    with pytest.raises(AttributeError):
        plan.argv = ("y",)  # type: ignore[misc]


def test_vncviewer_cannot_go_through_a_proxy() -> None:
    with pytest.raises(LaunchError) as caught:
        vnc.plan(conn(proxy="http://pve1.example.com:3128"), client="/usr/bin/vncviewer")
    assert caught.value.message == (
        "The VNC viewer cannot reach this desktop: it is only reachable through a proxy."
    )
    assert caught.value.hint.startswith("Only SPICE desktops opened in virt-viewer's remote-viewer")
