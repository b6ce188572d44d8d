"""The README's run command: `rubicon-broker demo` brings up a working site
and takes all of it down again."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.e2e import require_binaries, wait_for
from tests.helpers.libvirtd import Libvirtd, vnc_password_accepted

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_serves_the_demo_user_and_stops_everything(tmp_path: Path) -> None:
    require_binaries("Xvnc", "xsetroot")
    out = (tmp_path / "demo.out").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "broker_stub.cli", "demo", "--desktops", "2"],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},  # the launcher needs a screen
    )
    try:

        def up_or_gone() -> bool:
            return "Starting the launcher" in Path(out.name).read_text() or demo.poll() is not None

        wait_for(up_or_gone, 60, "the demo to start")
        banner = Path(out.name).read_text()
        assert demo.poll() is None, banner
        url = re.search(r"Broker:\s+(http://\S+)", banner)
        assert url, banner
        workdir = re.search(r"Broker log:\s+(\S+)/broker\.log", banner)
        assert workdir, banner

        with httpx.Client(base_url=url.group(1), timeout=10) as http:
            token = http.post(
                "/api/v1/auth/login", json={"username": "demo", "password": "demo"}
            ).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            [desktop] = http.get("/api/v1/desktops", headers=headers).json()["desktops"]
            assert (desktop["id"], desktop["state"]) == ("demo", "available")
            connection = http.post("/api/v1/desktops/demo/launch", headers=headers).json()
        port = connection["connection"]["port"]
        assert f"port {port}" in banner  # one of the demo's own Xvnc desktops

        started = descendants(demo.pid)
        commands = [Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0] for p in started]
        assert sum(c.endswith(b"Xvnc") for c in commands) == 2
        assert any(b"python" in c for c in commands)  # the broker and the launcher

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in started if alive(p)]
        assert not Path(workdir.group(1)).exists()  # passwords and database gone too
    finally:
        # On a failed assertion: let the demo clean up after itself, then make sure.
        leftovers = descendants(demo.pid)
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait(timeout=10)
        for pid in leftovers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        out.close()


def path_without(tmp_path: Path, *programs: str) -> str:
    """A PATH like ours, minus ``programs`` and the venv's bin (as in a new shell)."""
    venv_bin = Path(sys.executable).parent
    shown = tmp_path / "path"
    shown.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not folder or Path(folder) == venv_bin or not Path(folder).is_dir():
            continue
        for program in Path(folder).iterdir():
            link = shown / program.name
            if program.name not in programs and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(shown)


def no_launcher_demo(tmp_path: Path, path: str) -> tuple[subprocess.Popen[bytes], str]:
    """`rubicon-broker demo --no-launcher` with ``path`` as PATH, and its banner."""
    out = tmp_path / "demo.out"
    with out.open("wb") as f:
        demo = subprocess.Popen(
            [sys.executable, "-m", "broker_stub.cli", "demo", "--no-launcher"],
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PATH": path},
        )
    try:
        wait_for(
            lambda: "Press Ctrl-C" in out.read_text() or demo.poll() is not None,
            60,
            "the demo to start",
        )
    except BaseException:
        stop_demo(demo)
        raise
    banner = out.read_text()
    if demo.poll() is not None:
        pytest.fail(f"the demo ended with {demo.returncode}:\n{banner}")
    return demo, banner


def stop_demo(demo: subprocess.Popen[bytes]) -> None:
    if demo.poll() is None:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(timeout=10)


def test_the_command_the_demo_prints_runs_in_a_shell_without_the_venv(tmp_path: Path) -> None:
    """After `make demo`, `rubicon` is in .venv/bin, not on the user's PATH."""
    require_binaries("Xvnc", "xsetroot")
    path = path_without(tmp_path)
    demo, banner = no_launcher_demo(tmp_path, path)
    try:
        url = re.search(r"Broker:\s+(\S+)", banner)
        command = re.search(r"Open it with:\s+(.+)$", banner, re.MULTILINE)
        assert url, banner
        assert command, banner
        argv = shlex.split(command.group(1))
        assert argv[-4:] == ["--server", url.group(1), "--user", "demo"]
        # As the user would type it, in a shell whose PATH lacks the venv.
        assert shutil.which(argv[0], path=path), f"{argv[0]} is not found on the user's PATH"
        result = subprocess.run(
            [*argv[:-4], "--version"],
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stdout.split()[:1]) == (0, ["rubicon"]), result
    finally:
        stop_demo(demo)


def test_the_demo_names_what_is_missing_and_how_to_install_it(tmp_path: Path) -> None:
    """Without x11-apps the desktops are a plain colour: the demo says why and what to do."""
    require_binaries("Xvnc", "xsetroot")
    demo, banner = no_launcher_demo(tmp_path, path_without(tmp_path, "xclock", "xeyes"))
    try:
        assert "xclock, xeyes (x11-apps): " in banner, banner
        assert "sudo apt-get install x11-apps" in banner, banner
        assert "xsetroot" not in banner  # there: not named
    finally:
        stop_demo(demo)


def test_the_demo_names_nothing_when_everything_is_there(tmp_path: Path) -> None:
    require_binaries("Xvnc", "xsetroot", "xclock", "xeyes", "vncviewer")
    demo, banner = no_launcher_demo(tmp_path, os.environ["PATH"])
    try:
        assert "Not installed" not in banner, banner
        assert "apt-get" not in banner, banner
    finally:
        stop_demo(demo)


def test_demo_with_libvirt_hands_out_real_machines_and_deletes_them(
    tmp_path: Path, libvirtd: Libvirtd
) -> None:
    out = (tmp_path / "demo.out").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "broker_stub.cli", "demo", "--libvirt", libvirtd.uri,
         "--no-launcher"],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    conn = libvirtd.connect()
    try:

        def up_or_gone() -> bool:
            return "Press Ctrl-C" in Path(out.name).read_text() or demo.poll() is not None

        wait_for(up_or_gone, 60, "the demo to start")
        banner = Path(out.name).read_text()
        assert demo.poll() is None, banner
        assert f"virtual machines on {libvirtd.uri}" in banner
        url = re.search(r"Broker:\s+(http://\S+)", banner)
        assert url, banner

        with httpx.Client(base_url=url.group(1), timeout=30) as http:
            token = http.post(
                "/api/v1/auth/login", json={"username": "demo", "password": "demo"}
            ).json()["token"]
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "demo-1"}
            [desktop] = http.get("/api/v1/desktops", headers=headers).json()["desktops"]
            launch = f"/api/v1/desktops/{desktop['id']}/launch"
            answers = []

            def connected() -> bool:
                answers.append(http.post(launch, headers=headers))
                return answers[-1].status_code == 200

            # The broker makes the machine if its spare is not ready yet: 202 meanwhile.
            wait_for(connected, 60, "the machine to start", interval=1.0)
        assert {a.status_code for a in answers} <= {200, 202}, answers[-1].text
        connection = answers[-1].json()["connection"]
        assert vnc_password_accepted(connection["port"], connection["password"])
        made = [d.name() for d in conn.listAllDomains(0) if d.name().startswith("demo-")]
        assert made  # clones the broker made, named after the pool

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
        left = [d.name() for d in conn.listAllDomains(0)]
        assert not [name for name in left if name.startswith(("demo-", "rubicon-demo-"))]
        assert not [p.name() for p in conn.listAllStoragePools(0) if "rubicon-demo" in p.name()]
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait(timeout=10)
        conn.close()
        out.close()
