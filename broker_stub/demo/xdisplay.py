"""Throw-away local X servers for the demo and the end-to-end tests.

``XvncDesktop`` is a VNC desktop (TigerVNC's ``Xvnc``) guarded by a VNC
password; ``Xvfb`` is a plain virtual screen for a client to draw on. Both are
context managers: they start the server, wait until it answers, and stop it by
its PID on exit, whatever happened in between.

Errors::

    XDisplayError               base class; the message says what to do
    ├── MissingProgramError     a program is not installed (names the Debian package)
    └── ServerStartError        the server died or did not answer in time (log tail inside)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from broker_stub import log

__all__ = [
    "PACKAGES",
    "MissingProgramError",
    "ServerStartError",
    "XDisplayError",
    "Xvfb",
    "XvncDesktop",
    "free_display",
    "free_tcp_port",
    "port_open",
    "random_vnc_password",
    "require_program",
    "stop_process",
]


# Debian package that provides each program we may start.
PACKAGES = {
    "Xvnc": "tigervnc-standalone-server",
    "Xvfb": "xvfb",
    "xsetroot": "x11-xserver-utils",
    "xclock": "x11-apps",
    "xeyes": "x11-apps",
    "vncviewer": "tigervnc-viewer",
    "vncpasswd": "tigervnc-tools",
}

LOG_TAIL_LINES = 20
# Attempts when another process grabs the display or port we picked first.
START_ATTEMPTS = 3
# What Xvnc/Xvfb log when that happens (display lock, X socket, RFB port).
COLLISION_SIGNS = ("already active", "already running", "Address already in use")


class XDisplayError(Exception):
    """Base class: something about a local X server went wrong."""


class MissingProgramError(XDisplayError):
    def __init__(self, program: str, package: str | None = None) -> None:
        self.program = program
        self.package = package or PACKAGES.get(program)
        if self.package:
            text = f"{program} is not installed: sudo apt-get install {self.package}"
        else:
            text = f"{program} is not installed (not found on PATH)"
        super().__init__(text)


class ServerStartError(XDisplayError):
    def __init__(self, what: str, reason: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        text = f"{what} did not start: {reason}"
        if log_tail:
            text += f"\nLast lines of its log:\n{log_tail}"
        super().__init__(text)


def require_program(program: str) -> str:
    """The full path of ``program``, or MissingProgramError naming its package."""
    path = shutil.which(program)
    if path is None:
        raise MissingProgramError(program)
    return path


def random_vnc_password() -> str:
    """Eight URL-safe characters: VNC authentication reads at most eight."""
    return secrets.token_urlsafe(6)[:8]


def _display_taken(number: int, unix_sockets: str) -> bool:
    return (
        Path(f"/tmp/.X11-unix/X{number}").exists()  # noqa: S108 - the X11 convention
        or Path(f"/tmp/.X{number}-lock").exists()  # noqa: S108
        # Servers in another mount namespace still hold the abstract socket.
        or f"@/tmp/.X11-unix/X{number}\n" in unix_sockets
    )


def free_display(start: int = 50, stop: int = 1000) -> int:
    """A display number in [start, stop) that no X server seems to use."""
    try:
        unix_sockets = Path("/proc/net/unix").read_text(errors="replace")
    except OSError:
        unix_sockets = ""
    for number in range(start, stop):
        if not _display_taken(number, unix_sockets):
            return number
    raise XDisplayError(f"no free X display number between {start} and {stop - 1}")


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM ``proc`` by its PID, wait, then SIGKILL if it is still there."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        log.xdisplay.warning("pid %d ignored SIGTERM for %.0fs; killing it", proc.pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class _XServer:
    """What Xvnc and Xvfb share: a private dir, a log, -displayfd, stop by PID.

    ``display`` None picks a free one; ``parent`` is where the private dir is
    made (default: the system temp dir); timeouts are in seconds.
    """

    program = ""
    log_name = "server.log"

    def __init__(
        self,
        *,
        display: int | None = None,
        parent: Path | None = None,
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self._wanted_display = display
        self._parent = parent
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.display = -1
        self._dir: Path | None = None
        self._attempt_log_start = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._clients: list[subprocess.Popen[bytes]] = []

    # -- what subclasses fill in ------------------------------------------------

    def _argv(self, executable: str, display: int) -> list[str]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Write files the server needs into self.dir before the first attempt."""

    def _pick_ports(self) -> None:
        """Choose TCP ports for the next attempt, if the server listens on any."""

    def _wait_extra(self, deadline: float) -> None:
        """Wait for whatever else must answer once the X socket is up."""

    def _picks_anything(self) -> bool:
        """True if we chose a display or port ourselves, so another try may differ."""
        return self._wanted_display is None

    def _after_start(self) -> None:
        """Decorate the running server (background colour, clients)."""

    # -- public ------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The private (0700) directory holding the log and any password file."""
        if self._dir is None:
            raise XDisplayError(f"{self.program} has not been started")
        return self._dir

    @property
    def display_name(self) -> str:
        return f":{self.display}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise XDisplayError(f"{self.program} is not running")
        return self._proc.pid

    @property
    def log_path(self) -> Path:
        return self.dir / self.log_name

    def log_text(self) -> str:
        if self._dir is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def env(self) -> dict[str, str]:
        """The current environment with DISPLAY pointing at this server."""
        env = dict(os.environ)
        env["DISPLAY"] = self.display_name
        return env

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        executable = require_program(self.program)
        self._dir = Path(
            tempfile.mkdtemp(prefix=f"rubicon-{self.program.lower()}-", dir=self._parent)
        )
        try:
            self._prepare()
            self._start_with_retries(executable)
            self._after_start()
        except BaseException:
            self.stop()
            raise
        return self

    def run_client(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start an X client on this display; it is stopped with the server."""
        program = require_program(argv[0])
        with self.log_path.open("ab") as out:
            proc = subprocess.Popen(
                [program, *argv[1:]],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self._clients.append(proc)
        return proc

    def stop(self) -> None:
        for client in reversed(self._clients):
            stop_process(client, self.stop_timeout)
        self._clients.clear()
        if self._proc is not None:
            stop_process(self._proc, self.stop_timeout)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------

    def _start_with_retries(self, executable: str) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            display = self._wanted_display
            if display is None:
                display = free_display()
            self._pick_ports()
            try:
                self._start_once(executable, display)
                return
            except ServerStartError:
                # Another server may have taken the display or port since we looked.
                new_log = self.log_text()[self._attempt_log_start :]
                collision = any(sign in new_log for sign in COLLISION_SIGNS)
                if not collision or not self._picks_anything():
                    raise
                if attempt == START_ATTEMPTS:
                    raise
                log.xdisplay.info("%s: display or port taken, trying again", self.program)

    def _start_once(self, executable: str, display: int) -> None:
        self.display = display
        self._attempt_log_start = len(self.log_text())
        argv = self._argv(executable, display)
        # -displayfd: the server writes its display number there once clients may connect.
        ready_r, ready_w = os.pipe()
        try:
            with self.log_path.open("ab") as out:
                self._proc = subprocess.Popen(
                    [*argv, "-displayfd", str(ready_w)],
                    pass_fds=(ready_w,),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    # Own session: a Ctrl-C in the terminal must not kill it before we do.
                    start_new_session=True,
                )
            os.close(ready_w)
            ready_w = -1
            deadline = time.monotonic() + self.start_timeout
            with os.fdopen(ready_r, "rb", buffering=0) as ready:
                ready_r = -1
                self._wait_ready_fd(ready, deadline)
            self._wait_extra(deadline)
        except BaseException:
            if self._proc is not None:
                stop_process(self._proc, self.stop_timeout)
            raise
        finally:
            for fd in (ready_r, ready_w):
                if fd >= 0:
                    os.close(fd)
        log.xdisplay.info("%s running on %s (pid %d)", self.program, self.display_name, self.pid)

    def _fail(self, reason: str) -> ServerStartError:
        return ServerStartError(f"{self.program} {self.display_name}", reason, _tail(self.log_path))

    def _wait_ready_fd(self, ready: IO[bytes], deadline: float) -> None:
        assert self._proc is not None
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"no answer within {self.start_timeout:.0f}s")
            readable, _, _ = select.select([ready], [], [], min(left, 0.2))
            if readable:
                chunk = ready.read(64)
                if not chunk:  # every writer closed: the server is gone or going
                    try:
                        self._proc.wait(timeout=self.stop_timeout)
                    except subprocess.TimeoutExpired:
                        raise self._fail("it closed -displayfd without naming a display") from None
                    raise self._fail(f"it exited with status {self._proc.returncode}")
                got += chunk
            elif self._proc.poll() is not None:
                raise self._fail(f"it exited with status {self._proc.returncode}")


# Xvnc's password file (what `vncpasswd -f` writes): the first 8 bytes of the
# password, NUL-padded, DES-encrypted with VNC's fixed key 23 82 107 6 35 78 88 7,
# which d3des uses with each byte's bits mirrored. The broker writes it itself:
# it never imports the launcher.
_VNCPASSWD_KEY = bytes.fromhex("e84ad660c4721ae0")


def vncpasswd(password: str) -> bytes:
    """The 8 bytes of Xvnc's -PasswordFile for `password` (longer ones are cut)."""
    # Here, not at the top: cryptography's bindings take a while to load.
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    block = password.encode("utf-8")[:8].ljust(8, b"\0")
    # Triple DES with the key three times over is single DES.
    des = Cipher(TripleDES(_VNCPASSWD_KEY * 3), modes.ECB()).encryptor()  # noqa: S305
    return des.update(block) + des.finalize()


class XvncDesktop(_XServer):
    """A password-protected VNC desktop on 127.0.0.1, on a free port.

    Use::

        with XvncDesktop("secret12", client=["xclock"]) as desk:
            connect_to(desk.host, desk.port)
    """

    program = "Xvnc"
    log_name = "Xvnc.log"
    host = "127.0.0.1"

    def __init__(
        self,
        password: str,
        *,
        colour: str | None = "#3b6ea5",
        client: Sequence[str] | None = None,
        geometry: str = "1280x800",
        depth: int = 24,
        display: int | None = None,
        port: int | None = None,
        parent: Path | None = None,
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if not 1 <= len(password) <= 8:
            # VNC authentication silently cuts at eight; refuse rather than surprise.
            raise ValueError("a VNC password has 1 to 8 characters")
        super().__init__(
            display=display, parent=parent, start_timeout=start_timeout, stop_timeout=stop_timeout
        )
        self.password = password
        self.colour = colour
        self.client = list(client) if client else None
        self.geometry = geometry
        self.depth = depth
        self._wanted_port = port
        self.port = port or 0

    @property
    def password_file(self) -> Path:
        return self.dir / "passwd"

    def _prepare(self) -> None:
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(vncpasswd(self.password))

    def _pick_ports(self) -> None:
        self.port = self._wanted_port or free_tcp_port(self.host)

    def _picks_anything(self) -> bool:
        return super()._picks_anything() or self._wanted_port is None

    def _argv(self, executable: str, display: int) -> list[str]:
        return [
            executable,
            f":{display}",
            "-rfbport",
            str(self.port),
            "-interface",
            self.host,
            "-SecurityTypes",
            "VncAuth",
            "-PasswordFile",
            str(self.password_file),
            "-geometry",
            self.geometry,
            "-depth",
            str(self.depth),
            "-nolisten",
            "tcp",
            "-noreset",
        ]

    def _wait_extra(self, deadline: float) -> None:
        assert self._proc is not None
        while not port_open(self.host, self.port, timeout=0.5):
            if self._proc.poll() is not None:
                raise self._fail(f"it exited with status {self._proc.returncode}")
            if time.monotonic() > deadline:
                raise self._fail(
                    f"port {self.host}:{self.port} not open within {self.start_timeout:.0f}s"
                )
            time.sleep(0.1)

    def _after_start(self) -> None:
        xsetroot = shutil.which("xsetroot")
        if self.colour and xsetroot:
            try:
                subprocess.run(
                    [xsetroot, "-solid", self.colour],
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=10,
                    check=True,
                )
            except (subprocess.SubprocessError, OSError) as err:
                log.xdisplay.warning("could not paint %s: %s", self.display_name, err)
        elif self.colour:
            log.xdisplay.info(
                "xsetroot not installed; %s keeps the default background", self.display_name
            )
        if self.client:
            if shutil.which(self.client[0]):
                self.run_client(self.client)
            else:
                log.xdisplay.info("%s not installed; the desktop stays plain", self.client[0])


class Xvfb(_XServer):
    """A virtual screen for X clients (e.g. the VNC viewer under test)."""

    program = "Xvfb"
    log_name = "Xvfb.log"

    def __init__(
        self,
        *,
        screen: str = "1280x800x24",
        display: int | None = None,
        parent: Path | None = None,
        start_timeout: float = 15.0,
        stop_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            display=display, parent=parent, start_timeout=start_timeout, stop_timeout=stop_timeout
        )
        self.screen = screen

    def _argv(self, executable: str, display: int) -> list[str]:
        return [
            executable,
            f":{display}",
            "-screen",
            "0",
            self.screen,
            "-nolisten",
            "tcp",
            "-noreset",
        ]
