"""The frozen launcher (installer/rubicon.spec) as a user runs it: its options,
its first frame offscreen and on an X server, the kiosk, a link handed to the
running window, and a real vncviewer it starts against Xvnc, whose environment
must be the user's and not the bundle's."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import launcher
from broker_stub.demo.xdisplay import Xvfb, XvncDesktop
from installer.build import elf_files
from tests.helpers.e2e import VNC_PASSWORD, require_binaries, wait_for
from tests.helpers.live_broker import Machine, live_broker
from tests.helpers.private_env import private_env

pytestmark = pytest.mark.e2e


def run(bundle: Path, *args: str, env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        [str(bundle / "rubicon"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_it_says_its_version_and_its_options(bundle: Path, tmp_path: Path) -> None:
    env = private_env(tmp_path)

    assert run(bundle, "--version", env=env).strip() == f"rubicon {launcher.__version__}"
    assert "--non-interactive" in run(bundle, "--help", env=env)


def test_its_first_frame_offscreen(bundle: Path, tmp_path: Path) -> None:
    out = run(bundle, "--exit-when-shown", "--log-dir", str(tmp_path), env=private_env(tmp_path))

    assert out.startswith("shown ")


def test_its_first_frame_on_an_x_server(bundle: Path, tmp_path: Path, xvfb_screen: Xvfb) -> None:
    # The xcb plug-in and every library it loads are in the bundle (or the system).
    env = {**private_env(tmp_path), "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb_screen.display_name}

    out = run(bundle, "--exit-when-shown", "--log-dir", str(tmp_path), env=env)

    assert out.startswith("shown ")


def test_the_kiosk_first_frame(bundle: Path, tmp_path: Path) -> None:
    env = private_env(tmp_path)
    Path(env["RUBICON_SYSTEM_CONFIG"]).write_text(
        '[kiosk]\nenabled = true\nserver = "http://127.0.0.1:9"\n'
    )

    out = run(bundle, "--exit-when-shown", "--log-dir", str(tmp_path / "logs"), env=env)

    assert out.startswith("shown ")
    log = (tmp_path / "logs" / "rubicon.log").read_text()
    assert "started in kiosk mode (broker http://127.0.0.1:9)" in log


@pytest.mark.timeout(120)
def test_a_link_reaches_the_running_window(bundle: Path, tmp_path: Path) -> None:
    env = private_env(tmp_path)
    first_log = tmp_path / "first" / "rubicon.log"
    with (tmp_path / "first.out").open("wb") as out:
        first = subprocess.Popen(
            [str(bundle / "rubicon"), "--log-dir", str(first_log.parent)],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for(lambda: first_log.exists() and "started" in first_log.read_text(), 30,
                 "the first window", process=first, output=tmp_path / "first.out")  # fmt: skip

        run(bundle, "--log-dir", str(tmp_path / "second"), "rubicon://broker.test/lab", env=env)

        took = "a second start handed over its request"
        wait_for(lambda: took in first_log.read_text(), 30, "the hand-over", process=first,
                 output=tmp_path / "first.out")  # fmt: skip
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)


# Runs in a D-Bus session of its own: unlock a new GNOME Keyring, remember the
# sign-in password there (as "Remember my password" does), start the frozen launcher.
IN_A_KEYRING_SESSION = """
printf %s "$KEYRING_UNLOCK" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$STORE_PYTHON" -c 'import keyring, os
keyring.set_password(os.environ["SERVICE"], os.environ["ACCOUNT"], os.environ["SIGN_IN"])'
unset SIGN_IN
exec "$@"
"""

USER, SIGN_IN = "ann", "ann-sign-in-pw"
AUTHENTICATED = "Server default pixel format"  # Xvnc logs it once VncAuth passed


@pytest.mark.timeout(180)
def test_a_real_viewer_started_frozen_gets_the_users_environment(
    bundle: Path, tmp_path: Path, xvfb_screen: Xvfb, vnc_desktop: XvncDesktop
) -> None:
    require_binaries("vncviewer", "gnome-keyring-daemon", "dbus-run-session")
    pool = {"lab": [Machine("lab-1", port=vnc_desktop.port, password=VNC_PASSWORD)]}
    with live_broker(tmp_path / "broker", pools=pool, users={USER: SIGN_IN}) as broker:
        env = private_env(tmp_path)
        env.pop("PYTHON_KEYRING_BACKEND")  # the real one: Secret Service
        (Path(env["XDG_CONFIG_HOME"]) / "rubicon").mkdir()
        (Path(env["XDG_CONFIG_HOME"]) / "rubicon" / "settings.json").write_text(
            '{"remember_password": true}'
        )
        env.update(
            DISPLAY=xvfb_screen.display_name,
            QT_QPA_PLATFORM="xcb",
            LD_LIBRARY_PATH="/opt/the-users-own/lib",  # what the viewer must get back
            KEYRING_UNLOCK="keyring-pw",
            STORE_PYTHON=sys.executable,
            SERVICE=f"rubicon:{broker.url}",
            ACCOUNT=USER,
            SIGN_IN=SIGN_IN,
        )
        output = tmp_path / "launcher.out"
        argv = [str(bundle / "rubicon"), "--server", broker.url, "--user", USER, "--desktop",
                "lab", "--non-interactive", "--log-dir", str(tmp_path / "logs")]  # fmt: skip
        with output.open("wb") as out:
            session = subprocess.Popen(
                ["dbus-run-session", "--", "sh", "-c", IN_A_KEYRING_SESSION, "sh", *argv],
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        try:
            wait_for(lambda: AUTHENTICATED in vnc_desktop.log_text(), 60,
                     "Xvnc to accept the viewer", process=session, output=output)  # fmt: skip
            (pid,) = {int(p) for p in re.findall(r"VNC viewer \(pid (\d+)\)", output.read_text())}
            environ = dict(
                entry.split("=", 1)
                for entry in Path(f"/proc/{pid}/environ").read_text().split("\0")
                if "=" in entry
            )
            maps = Path(f"/proc/{pid}/maps").read_text()
        finally:
            os.killpg(session.pid, signal.SIGTERM)
            session.wait(timeout=30)

    assert environ["LD_LIBRARY_PATH"] == "/opt/the-users-own/lib"
    assert not [name for name in environ if name.startswith("_PYI") or name == "_MEIPASS2"]
    assert not [name for name, value in environ.items() if str(bundle) in value]
    assert str(bundle) not in maps  # not one library of the bundle in the viewer
    assert "SIGN_IN" not in environ
    assert SIGN_IN not in "".join(environ.values())


def test_no_library_looks_in_a_folder_of_the_build_machine(bundle: Path) -> None:
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed: sudo apt-get install binutils")
    found = {}
    for path in elf_files(bundle):
        dynamic = subprocess.run(
            [readelf, "-d", str(path)], capture_output=True, text=True, timeout=30, check=False
        ).stdout
        for kind, value in re.findall(r"\((RPATH|RUNPATH)\)\s+Library r\w*path: \[(.*)\]", dynamic):
            absolute = [p for p in value.split(":") if p and not p.startswith("$ORIGIN")]
            if absolute:
                found[str(path.relative_to(bundle))] = f"{kind} {value}"

    assert found == {}


def test_every_library_a_binary_needs_is_in_the_bundle_or_the_system(bundle: Path) -> None:
    # As the bootloader runs them: its folder first on the loader's path.
    internal = bundle / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"}
    missing = {}
    for path in elf_files(bundle):
        listed = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, timeout=30, env=env, check=False
        ).stdout
        lost = [line.split()[0] for line in listed.splitlines() if "not found" in line]
        if lost:
            missing[str(path.relative_to(bundle))] = lost

    assert missing == {}


def test_the_bundle_carries_nothing_of_the_broker(bundle: Path) -> None:
    internal = bundle / "_internal"
    for name in ("broker_stub", "fastapi", "sqlalchemy", "uvicorn", "alembic", "psycopg"):
        assert not (internal / name).exists(), name
    assert not list(internal.rglob("*Qt6Qml*")), "an unused Qt module came along"
