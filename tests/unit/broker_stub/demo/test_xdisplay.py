"""broker_stub.demo.xdisplay against the real Xvnc and Xvfb (those tests are marked e2e)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import (
    MissingProgramError,
    ServerStartError,
    Xvfb,
    XvncDesktop,
    free_display,
    free_tcp_port,
    random_vnc_password,
    stop_process,
    vncpasswd,
)
from tests.helpers.e2e import pixel_colour, require_binaries, wait_for


def gone(pid: int) -> bool:
    # Our own children are reaped by stop(), so their /proc entry disappears.
    return not Path(f"/proc/{pid}").exists()


# -- without any X server ------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "written"),
    [
        # What TigerVNC's `vncpasswd -f` writes for each.
        ("password", "dbd83cfd727a1458"),
        ("secret12", "24b5ae4ce15503c6"),
        ("secret123456", "24b5ae4ce15503c6"),  # cut at 8, as the server cuts it
    ],
)
def test_the_password_file_is_what_vncpasswd_writes(password: str, written: str) -> None:
    assert vncpasswd(password).hex() == written


def test_free_display_skips_numbers_with_a_socket_or_lock() -> None:
    number = free_display()
    assert not Path(f"/tmp/.X11-unix/X{number}").exists()
    assert not Path(f"/tmp/.X{number}-lock").exists()


def test_free_tcp_port_can_be_bound() -> None:
    port = free_tcp_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_random_vnc_password_fits_vnc_auth() -> None:
    passwords = {random_vnc_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(len(p) == 8 for p in passwords)


def test_password_longer_than_eight_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 8"):
        XvncDesktop("ninechars")


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (
            lambda: XvncDesktop("secret12"),
            "Xvnc is not installed: sudo apt-get install tigervnc-standalone-server",
        ),
        (Xvfb, "Xvfb is not installed: sudo apt-get install xvfb"),
    ],
)
def test_missing_program_names_the_debian_package(
    server: type[Xvfb], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingProgramError) as raised:
        server().start()
    assert str(raised.value) == message


def test_stop_process_kills_what_ignores_sigterm() -> None:
    code = textwrap.dedent(
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    stop_process(proc, timeout=0.5)
    proc.stdout.close()
    assert proc.returncode == -9


def test_require_binaries_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUBICON_REQUIRE_E2E", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.skip.Exception, match="apt-get install tigervnc-standalone-server"):
        require_binaries("Xvnc")


def test_require_binaries_fails_when_e2e_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUBICON_REQUIRE_E2E", "1")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match="apt-get install xvfb"):
        require_binaries("Xvfb")


# -- with real servers ---------------------------------------------------------


@pytest.mark.e2e
def test_xvnc_desktop_listens_logs_and_stops() -> None:
    require_binaries("Xvnc", "xsetroot")
    with XvncDesktop("secret12", geometry="640x480") as desktop:
        pid, port, folder = desktop.pid, desktop.port, desktop.dir
        assert desktop.running()
        assert desktop.host == "127.0.0.1"
        with socket.create_connection((desktop.host, port), timeout=5) as sock:
            assert sock.recv(12).startswith(b"RFB 003.")
        assert desktop.log_path.is_file()
        assert "Listening for VNC connections" in desktop.log_text()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(desktop.password_file.stat().st_mode) == 0o600
        assert Path(f"/tmp/.X11-unix/X{desktop.display}").exists()
    assert gone(pid)
    assert not folder.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.e2e
def test_xvnc_desktop_is_painted_and_runs_its_client() -> None:
    require_binaries("Xvnc", "xsetroot", "xeyes", "import")
    with XvncDesktop("secret12", colour="#3b6ea5", client=["xeyes"]) as desktop:
        assert pixel_colour(desktop.display_name, 5, 5) == "#3b6ea5"
        client = desktop._clients[0]
        assert client.poll() is None
    assert client.returncode is not None


@pytest.mark.e2e
def test_vncviewer_gets_in_with_the_password(tmp_path: Path) -> None:
    require_binaries("Xvnc", "Xvfb", "vncviewer")
    with XvncDesktop("secret12") as desktop, Xvfb() as screen:
        viewer = subprocess.Popen(
            [
                "vncviewer",
                "-passwd",
                str(desktop.password_file),
                f"{desktop.host}::{desktop.port}",
            ],
            env=screen.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Xvnc logs the pixel format only once VncAuth has succeeded.
            wait_for(
                lambda: "Server default pixel format" in desktop.log_text(),
                timeout=20,
                what="vncviewer to authenticate",
            )
        finally:
            stop_process(viewer)


@pytest.mark.e2e
def test_xvfb_serves_a_display_and_stops() -> None:
    require_binaries("Xvfb", "xdotool")
    with Xvfb(screen="800x600x24") as screen:
        pid, number = screen.pid, screen.display
        result = subprocess.run(
            ["xdotool", "getdisplaygeometry"],
            env=screen.env(),
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        assert result.stdout.split() == ["800", "600"]
        assert os.environ.get("DISPLAY") != screen.display_name
    assert gone(pid)
    assert not Path(f"/tmp/.X11-unix/X{number}").exists()


@pytest.mark.e2e
def test_taken_display_fails_with_the_log_tail() -> None:
    require_binaries("Xvfb")
    with Xvfb() as first:
        second = Xvfb(display=first.display, start_timeout=10)
        with pytest.raises(ServerStartError, match=r"already (running|active)") as raised:
            second.start()
        assert "Last lines of its log" in str(raised.value)
        assert first.running()
