"""``rubicon-broker demo``: a whole Rubicon site on this machine, in one command.

It starts a few Xvnc desktops, a broker that hands them out to user ``demo``
(password ``demo``), and the launcher pointed at it. Everything lives in one
private temp dir and is stopped, by PID, when the launcher closes or on
Ctrl-C / SIGTERM. With ``--libvirt`` the desktops are real QEMU machines the
broker makes on a libvirt host instead (demo_libvirt.py).

Errors::

    DemoError                   a step failed; the message says which and why
    (MissingProgramError from broker_stub.demo.xdisplay, and LibvirtDemoError, end
    the demo with status 2)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import TextIO

from broker_stub.demo.libvirt import LibvirtDemoError, LibvirtSite, default_uri
from broker_stub.demo.xdisplay import (
    PACKAGES,
    MissingProgramError,
    XDisplayError,
    XvncDesktop,
    free_tcp_port,
    random_vnc_password,
    require_program,
    stop_process,
)

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the published demo login
DEMO_DISPLAY_NAME = "Demo User"
POOL_ID = "demo"
POOL_NAME = "Demo desktop"
HOST = "127.0.0.1"
# One colour per desktop so the user can tell which one they got.
COLOURS = ("#3b6ea5", "#4f7f3a", "#8a4f7d", "#a5673b", "#3b8a8a", "#6b5ba5")
# Something alive on each desktop, top right, so a working connection is obvious.
DESKTOP_CLIENTS = (
    ["xclock", "-update", "1", "-geometry", "220x220-60+60"],
    ["xeyes", "-geometry", "220x160-60+60"],
)
# What the demo does without a package it uses when it is there (xdisplay.PACKAGES
# names the package of each program): said in the banner, with the command to install.
WITHOUT = {
    "x11-xserver-utils": "every desktop keeps X's grey background, not a colour of its own",
    "x11-apps": "the desktops show only their background, nothing moving on them, so a "
    "working connection looks like a frozen one",
    "tigervnc-viewer": "the launcher cannot open a desktop (it uses TigerVNC's vncviewer)",
}
BROKER_START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 20


class DemoError(Exception):
    """A demo step failed; the message is for the person at the terminal."""


class _Stop(Exception):
    """Raised from the SIGTERM/SIGHUP handler so the cleanup below runs."""


def add_demo_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register ``demo`` on the broker's argparse sub-commands."""
    parser = subparsers.add_parser(
        "demo",
        help="run a broker with local VNC desktops and open the launcher on it",
        description=(
            "Start VNC desktops (Xvnc), a broker that offers them to user 'demo' "
            "(password 'demo'), and the Rubicon launcher. Close the launcher or press "
            "Ctrl-C to stop everything."
        ),
    )
    parser.add_argument(
        "--desktops",
        type=_desktop_count,
        default=2,
        metavar="N",
        help="how many VNC desktops to start (default: 2)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="P",
        help="broker port on 127.0.0.1 (default: a free one)",
    )
    parser.add_argument(
        "--no-launcher",
        action="store_true",
        help="start the desktops and the broker only; stop with Ctrl-C",
    )
    parser.add_argument(
        "--libvirt",
        nargs="?",
        const="",
        metavar="URI",
        help="real QEMU machines on libvirt instead of Xvnc desktops: the broker makes "
        "them as clones and rebuilds them after use (default URI: qemu:///system for "
        "root, else qemu:///session)",
    )
    parser.set_defaults(func=run_demo)


def _desktop_count(text: str) -> int:
    count = int(text)
    if not 1 <= count <= 20:
        raise argparse.ArgumentTypeError("use 1 to 20 desktops")
    return count


def run_demo(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout
    try:
        if args.libvirt is None:
            require_program("Xvnc")
    except MissingProgramError as err:
        print(err, file=sys.stderr)
        return 2
    if not args.no_launcher and not _have_screen():
        print(
            "rubicon-broker demo: no display to show the launcher on (DISPLAY is not set). "
            "Run it from a desktop session, or use --no-launcher and start the launcher "
            "where you have one (the demo prints the command).",
            file=sys.stderr,
        )
        return 2
    if not args.no_launcher and importlib.util.find_spec("PySide6") is None:
        # A broker-only install (`pip install rubicon[broker]` without Qt): say so
        # before any desktop starts, rather than when the launcher dies at import.
        print(
            "rubicon-broker demo: the launcher is not installed here (PySide6 is missing). "
            "Install it with: pip install rubicon, or use --no-launcher and start the "
            "launcher on a computer that has it (the demo prints the command).",
            file=sys.stderr,
        )
        return 2

    stack = contextlib.ExitStack()
    old_handlers = _install_stop_handlers()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="rubicon-demo-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        return _run(args, workdir, stack, out)
    except (KeyboardInterrupt, _Stop):
        print("\nStopping the demo...", file=out)
        return 0
    except (MissingProgramError, LibvirtDemoError) as err:
        print(f"rubicon-broker demo: {err}", file=sys.stderr)
        return 2
    except (DemoError, XDisplayError) as err:
        print(f"rubicon-broker demo: {err}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave servers behind.
        for signum in old_handlers:
            signal.signal(signum, signal.SIG_IGN)
        try:
            stack.close()
        finally:
            for signum, handler in old_handlers.items():
                # None: the handler was not set from Python; nothing to put back.
                if handler is not None:
                    signal.signal(signum, handler)


def _have_screen() -> bool:
    # Qt needs an X or Wayland display, unless told to draw elsewhere (offscreen).
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _run(args: argparse.Namespace, workdir: Path, stack: contextlib.ExitStack, out: TextIO) -> int:
    if args.libvirt is not None:
        site = stack.enter_context(LibvirtSite(args.libvirt or default_uri(), workdir))
        config = _write(workdir / "pools.toml", site.pool_lines([DEMO_USER]))
        where = f"virtual machines on {site.uri}, made as they are needed (up to 3)"
    else:
        desktops = [
            stack.enter_context(
                XvncDesktop(
                    random_vnc_password(),
                    colour=COLOURS[i % len(COLOURS)],
                    client=DESKTOP_CLIENTS[i % len(DESKTOP_CLIENTS)],
                    parent=workdir,
                )
            )
            for i in range(args.desktops)
        ]
        config = write_config(workdir / "pools.toml", desktops)
        ports = ", ".join(f"{d.display_name} on port {d.port}" for d in desktops)
        where = f'{len(desktops)} in pool "{POOL_NAME}" (Xvnc {ports})'
    database_url = f"sqlite:///{workdir / 'broker.sqlite3'}"
    add_demo_user(database_url, workdir)

    port = args.port or free_tcp_port(HOST)
    url = f"http://{HOST}:{port}"
    broker_log = workdir / "broker.log"
    broker = _start(
        [
            *_broker_cli(),
            "serve",
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--insecure-http",
        ],
        broker_log,
    )
    stack.callback(stop_process, broker, STOP_TIMEOUT)
    wait_for_health(url, broker, broker_log)

    missing = missing_programs(0 if args.libvirt is not None else args.desktops)
    print(_banner(url, where, broker_log, args.no_launcher, missing), file=out, flush=True)

    if args.no_launcher:
        # Nothing else to wait on: serve until Ctrl-C, or until the broker dies.
        code = broker.wait()
        raise DemoError(f"the broker stopped (status {code}).\n{_tail(broker_log)}")

    launcher = subprocess.Popen(
        [sys.executable, "-m", "launcher", "--server", url, "--user", DEMO_USER],
        stdin=subprocess.DEVNULL,
        # Own session: Ctrl-C reaches us only, and we stop the launcher ourselves.
        start_new_session=True,
    )
    stack.callback(stop_launcher, launcher)
    code = launcher.wait()
    print("The launcher closed; stopping the demo...", file=out, flush=True)
    return code


def missing_programs(xvnc_desktops: int) -> dict[str, list[str]]:
    """The programs the demo would use and PATH lacks, by their Debian package.

    ``xvnc_desktops``: how many Xvnc desktops it starts (each painted with
    xsetroot and showing one of DESKTOP_CLIENTS); the viewer is wanted always.
    """
    clients = [DESKTOP_CLIENTS[i % len(DESKTOP_CLIENTS)][0] for i in range(xvnc_desktops)]
    painter = ["xsetroot"] if xvnc_desktops else []
    wanted = [*painter, *dict.fromkeys(clients), "vncviewer"]
    missing: dict[str, list[str]] = {}
    for program in wanted:
        if shutil.which(program) is None:
            missing.setdefault(PACKAGES[program], []).append(program)
    return missing


def launcher_command() -> str:
    """How to start this Rubicon's launcher from a shell.

    ``rubicon`` where that is the one on PATH; else the script beside this
    Python (a venv's bin, which ``make demo`` does not put on PATH), in full.
    """
    script = Path(sys.executable).parent / "rubicon"
    if not os.access(script, os.X_OK):
        return f"{shlex.quote(sys.executable)} -m launcher"
    on_path = shutil.which("rubicon")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "rubicon"
    return shlex.quote(str(script))


def stop_launcher(launcher: subprocess.Popen[bytes]) -> None:
    """Stop the launcher by PID, then anything it left in its own session.

    If it had to be killed, the viewer it started would outlive the demo,
    still showing a desktop that is about to vanish.
    """
    stop_process(launcher, STOP_TIMEOUT)
    # Its session id is its PID (start_new_session); the id stays taken while
    # any member lives, so this reaches only what the launcher started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(launcher.pid, signal.SIGTERM)


def _broker_cli() -> list[str]:
    return [sys.executable, "-m", "broker_stub.cli"]


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string for the ASCII we write here.
    return json.dumps(text)


def write_config(path: Path, desktops: list[XvncDesktop]) -> Path:
    """The pools file of the Xvnc desktops."""
    lines = [
        "[[pools]]",
        f"id = {_toml_string(POOL_ID)}",
        f"name = {_toml_string(POOL_NAME)}",
        'protocol = "vnc"',
        f"users = [{_toml_string(DEMO_USER)}]",
        "groups = []",
    ]
    for number, desktop in enumerate(desktops, start=1):
        lines += [
            "",
            "  [[pools.machines]]",
            f"  name = {_toml_string(f'demo-{number}')}",
            f"  host = {_toml_string(desktop.host)}",
            f"  port = {desktop.port}",
            f"  password = {_toml_string(desktop.password)}",
        ]
    return _write(path, lines)


def _write(path: Path, lines: list[str]) -> Path:
    """The pools file (0600: it may hold console passwords)."""
    lines = ["# Written by `rubicon-broker demo`; deleted when the demo stops.", *lines]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def add_demo_user(database_url: str, workdir: Path) -> None:
    """Create the database's user ``demo`` through the broker's own CLI."""
    argv = [
        *_broker_cli(),
        "users",
        "add",
        DEMO_USER,
        "--display-name",
        DEMO_DISPLAY_NAME,
        "--password-stdin",
        "--database-url",
        database_url,
    ]
    try:
        result = subprocess.run(
            argv,
            input=f"{DEMO_PASSWORD}\n",
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            cwd=workdir,
            check=False,
            # The demo's published password is shorter than a real site's minimum;
            # its database lives only as long as the demo.
            env={**os.environ, "RUBICON_BROKER_PASSWORD_MIN_LENGTH": str(len(DEMO_PASSWORD))},
        )
    except subprocess.TimeoutExpired:
        raise DemoError(f"adding user {DEMO_USER!r} took over {COMMAND_TIMEOUT:.0f}s") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise DemoError(f"adding user {DEMO_USER!r} failed (status {result.returncode}):\n{detail}")


def _start(argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as f:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=f,
            stderr=f,
            cwd=log_path.parent,
            start_new_session=True,
        )


def wait_for_health(
    url: str,
    broker: subprocess.Popen[bytes],
    broker_log: Path,
    timeout: float = BROKER_START_TIMEOUT,
) -> None:
    """Poll GET /healthz until it answers 200; DemoError with the broker's log if not."""
    deadline = time.monotonic() + timeout
    while True:
        if broker.poll() is not None:
            raise DemoError(
                f"the broker exited with status {broker.returncode}.\n{_tail(broker_log)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise DemoError(
                f"the broker did not answer {url}/healthz within {timeout:.0f}s.\n"
                f"{_tail(broker_log)}"
            )
        time.sleep(0.2)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").rstrip()
    except OSError:
        return "(no broker log)"
    if not text:
        return "(the broker log is empty)"
    return "Last lines of the broker log:\n" + "\n".join(text.splitlines()[-lines:])


def _missing_text(missing: dict[str, list[str]]) -> str:
    if not missing:
        return ""
    lines = ["Not installed, so the demo does without:"]
    lines += [
        f"  {', '.join(programs)} ({package}): {WITHOUT[package]}"
        for package, programs in missing.items()
    ]
    lines.append(f"Install with:  sudo apt-get install {' '.join(missing)}")
    return "\n".join(lines) + "\n\n"


def _banner(
    url: str,
    where: str,
    broker_log: Path,
    no_launcher: bool,
    missing: dict[str, list[str]] | None = None,
) -> str:
    if no_launcher:
        next_step = (
            f"Open it with:  {launcher_command()} --server {url} --user {DEMO_USER}\n"
            "Press Ctrl-C to stop the demo."
        )
    else:
        next_step = "Starting the launcher. Close it, or press Ctrl-C here, to stop the demo."
    return (
        "\n"
        "Rubicon demo is running\n"
        "\n"
        f"  Broker:     {url}\n"
        f"  User:       {DEMO_USER}\n"
        f"  Password:   {DEMO_PASSWORD}\n"
        f"  Desktops:   {where}\n"
        f"  Broker log: {broker_log}\n"
        "\n"
        f"{_missing_text(missing or {})}"
        f"{next_step}\n"
    )


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _install_stop_handlers() -> dict[int, signal._HANDLER]:
    """Turn SIGTERM and SIGHUP into _Stop; SIGINT already raises KeyboardInterrupt."""
    old: dict[int, signal._HANDLER] = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        old[signum] = signal.getsignal(signum)
        signal.signal(signum, _on_stop_signal)
    return old
