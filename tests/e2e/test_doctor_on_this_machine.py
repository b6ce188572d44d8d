"""`rubicon doctor` as a user runs it, on this machine: the real clients with
their versions, a live broker and a real VNC desktop's port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from tests.helpers.e2e import require_binaries
from tests.helpers.live_broker import Machine, live_broker

pytestmark = pytest.mark.e2e


def run_doctor(tmp_path: Path, display: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The doctor in its own process; stopped by its PID if it overruns."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "DISPLAY": display,  # xfreerdp opens it even to print its version
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher", "doctor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_doctor_lists_the_installed_clients_with_their_versions(
    tmp_path: Path, xvfb_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    require_binaries("vncviewer", "xfreerdp", "remote-viewer")
    with live_broker(
        tmp_path / "broker", pools={"lab": [Machine("lab-1", port=vnc_desktop.port)]}, users={}
    ) as broker:
        result = run_doctor(
            tmp_path,
            xvfb_screen.display_name,
            "--server",
            broker.url,
            "--desktop-host",
            f"{vnc_desktop.host}:{vnc_desktop.port}",
            "--bundle",
            str(tmp_path / "support.zip"),
        )
        as_json = run_doctor(tmp_path, xvfb_screen.display_name, "--json", "--server", broker.url)
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    for line in (
        "[ OK ] VNC viewer (TigerVNC): /usr/bin/vncviewer, version 1.",
        "[ OK ] SPICE viewer (virt-viewer): /usr/bin/remote-viewer, version ",
        "[ OK ] RDP client (FreeRDP): /usr/bin/xfreerdp, version 2.",
        f"[ OK ] Broker: {broker.url} answers and is healthy.",
        f"[ OK ] Desktop port: {vnc_desktop.host}:{vnc_desktop.port} accepts connections.",
        "[ OK ] Qt: version 6.",
    ):
        assert line in text, text
    assert text.rstrip().endswith("0 problems.")
    with zipfile.ZipFile(tmp_path / "support.zip") as zf:
        assert zf.read("report.txt").decode().startswith("Rubicon ")

    checks = {c["id"]: c for c in json.loads(as_json.stdout)["checks"]}
    versions = {
        key: checks[f"client.{key}"]["summary"]
        for key in ("vncviewer", "remote-viewer", "xfreerdp")
    }
    assert all("version" in summary for summary in versions.values()), versions


def test_doctor_fails_on_a_closed_desktop_port(tmp_path: Path, xvfb_screen: Xvfb) -> None:
    result = run_doctor(
        tmp_path, xvfb_screen.display_name, "--desktop-host", "127.0.0.1:9", "--timeout", "3"
    )
    assert result.returncode == 1
    assert "[FAIL] Desktop port: 127.0.0.1:9 refused the connection." in result.stdout
