"""Helpers for end-to-end tests that drive real programs (Xvnc, Xvfb, vncviewer).

A missing program skips the test with the Debian package to install, unless
RUBICON_REQUIRE_E2E=1 (CI), where a skip would hide that nothing was tested.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broker_stub.demo.xdisplay import PACKAGES, free_display, free_tcp_port, port_open

# Programs the e2e tests use, beyond those broker_stub.demo.xdisplay starts itself.
E2E_PACKAGES = {
    **PACKAGES,
    "import": "imagemagick",
    "convert": "imagemagick",
    "xdotool": "xdotool",
    "xwd": "x11-apps",
    "xfreerdp": "freerdp2-x11",
    "freerdp-shadow-cli": "freerdp2-shadow-x11",
    "remote-viewer": "virt-viewer",
    "Xspice": "xserver-xspice",
}

# What the vnc_desktop fixture uses, so tests can check what they see.
VNC_PASSWORD = "rubicon1"
DESKTOP_COLOUR = "#3b6ea5"
# The rdp_desktop fixture's user: a space, a colon and a non-ASCII letter.
RDP_USER, RDP_PASSWORD = "ann", "pa ss:wörd!"


def e2e_required() -> bool:
    return os.environ.get("RUBICON_REQUIRE_E2E") == "1"


def missing_message(name: str) -> str:
    package = E2E_PACKAGES.get(name)
    if package:
        return f"{name} is not installed: sudo apt-get install {package}"
    return f"{name} is not installed (not found on PATH)"


def require_binaries(*names: str) -> None:
    """Skip the test (fail it under RUBICON_REQUIRE_E2E=1) if a program is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    reason = "; ".join(missing_message(name) for name in missing)
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.1,
    *,
    process: subprocess.Popen[Any] | None = None,
    output: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail the test naming ``what`` after ``timeout``.

    With ``process``, fail at once if it ends first. ``output`` (a file the process
    writes to) is shown, its last 3,000 characters, with either failure.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            ended = f"{process.args!r} ended with {process.returncode}"
            pytest.fail(f"{ended} while waiting for {what}{_tail(output)}", pytrace=False)
        if time.monotonic() > deadline:
            waited = f"timed out after {timeout:.0f}s waiting for {what}"
            pytest.fail(f"{waited}{_tail(output)}", pytrace=False)
        time.sleep(interval)


def _tail(output: Path | None) -> str:
    if output is None or not output.exists():
        return ""
    return ":\n" + output.read_text(errors="replace")[-3000:]


def pixel_colour(display: str, x: int, y: int, timeout: float = 15.0) -> str:
    """The colour of one pixel of ``display``'s root window, as ``#rrggbb``."""
    require_binaries("import")
    env = {**os.environ, "DISPLAY": display}
    result = subprocess.run(
        ["import", "-window", "root", "-crop", f"1x1+{x}+{y}", "-depth", "8", "txt:-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    # txt: output looks like "0,0: (59,110,165)  #3B6EA5  srgb(59,110,165)".
    for word in result.stdout.split():
        if word.startswith("#") and len(word) >= 7:
            return word[:7].lower()
    raise AssertionError(f"no colour in ImageMagick output: {result.stdout!r}")


def secrets_absent(pid: int, *secrets: str) -> None:
    """None of ``secrets`` is in the command line or environment of process ``pid``."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    for secret in secrets:
        assert secret.encode() not in cmdline
        assert secret.encode() not in environ


# --- a SPICE desktop: Xspice ---------------------------------------------------------

# What the spice_desktop fixtures use: a space, a colon and a non-ASCII letter.
SPICE_PASSWORD = "sp ice:pw ö"
# Spice-server logs this once a channel, the main one first, passed the password.
SPICE_CONNECTED = "connected successfully"
SPICE_REFUSED = "reds_handle_ticket: Invalid password"


def child_pids(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children, from /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def pid_alive(pid: int) -> bool:
    """False once ``pid`` has exited, whether or not its parent reaped it yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class XspiceDesktop:
    """A password-protected SPICE desktop on 127.0.0.1: Xspice on a free display and port.

    Xspice (Debian's xserver-xspice) is a Python script that starts Xorg with
    the spiceqxl driver, an X server whose screen is served over SPICE. Four
    things about Debian 12's 0.1.5 make it usable here, each found by running it:

    * the driver reads its option defaults as 0: no heads (Xorg then crashes
      in xf86InitViewport) and a 0-byte frame buffer ("resizing surface0 to
      0", then a malloc abort). ``--numheads 1`` and the QXL_*_BUFFER_SIZE
      variables give the documented sizes back (spiceqxl.xorg.conf.example);
    * /usr/bin/Xorg runs the setuid Xorg.wrap, which refuses users not on a
      console: ``--xorg /usr/lib/xorg/Xorg`` runs the server itself. The
      driver asks for no console (HW_SKIP_CONSOLE), so no VT is touched;
    * the script's SIGTERM handler waits on the Xorg process its main thread
      is already waiting on and hangs, after SIGKILLing Xorg, which leaves
      the display's lock file behind. So Xorg, its child, is stopped with
      SIGTERM by PID; the script then exits by itself;
    * the password goes in XSPICE_PASSWORD, where ``--password`` would put
      it, so it is on no command line.

    Spice-server's debug lines (G_MESSAGES_DEBUG=Spice) say when a client
    passed the password (SPICE_CONNECTED) and its warnings when one did not
    (SPICE_REFUSED); they never print the password.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        password: str,
        *,
        colour: str | None = DESKTOP_COLOUR,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.password = password
        self.colour = colour
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.display = -1
        self.port = 0
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._xorg: list[int] = []

    @property
    def display_name(self) -> str:
        return f":{self.display}"

    @property
    def pid(self) -> int:
        """The Xorg server's PID (the process serving SPICE)."""
        return self._xorg[0]

    def log_text(self) -> str:
        """Xspice's output (spice-server's lines) and Xorg's log."""
        if self.dir is None:
            return ""
        return "".join(
            (self.dir / name).read_text(errors="replace")
            for name in ("Xspice.log", "Xorg.log")
            if (self.dir / name).exists()
        )

    def start(self) -> XspiceDesktop:
        xspice = shutil.which("Xspice")
        if xspice is None:
            raise RuntimeError(missing_message("Xspice"))
        xorg = "/usr/lib/xorg/Xorg" if os.access("/usr/lib/xorg/Xorg", os.X_OK) else "Xorg"
        self.dir = Path(tempfile.mkdtemp(prefix="rubicon-xspice-"))
        try:
            for attempt in range(3):
                self.display, self.port = free_display(), free_tcp_port(self.host)
                if self._start_once(xspice, xorg) or attempt == 2:
                    break
            self._paint()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_once(self, xspice: str, xorg: str) -> bool:
        """True once it serves; False if another server took the display or port first."""
        assert self.dir is not None
        env = {
            **os.environ,
            "XSPICE_PASSWORD": self.password,
            "XSPICE_ADDR": self.host,
            "QXL_FRAME_BUFFER_SIZE": "16",  # MB; 4 heads of 1920x1080 fit
            "QXL_SURFACE_BUFFER_SIZE": "64",
            "QXL_COMMAND_BUFFER_SIZE": "64",
            "G_MESSAGES_DEBUG": "Spice",
        }
        argv = [xspice, "--xorg", xorg, "--numheads", "1", "--port", str(self.port)]
        argv += [self.display_name, "-logfile", str(self.dir / "Xorg.log"), "-nolisten", "tcp"]
        with (self.dir / "Xspice.log").open("ab") as out:
            self._proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        socket = Path(f"/tmp/.X11-unix/X{self.display}")
        deadline = time.monotonic() + self.start_timeout
        while True:
            self._xorg = self._xorg or child_pids(self._proc.pid)
            if self._xorg and socket.exists() and port_open(self.host, self.port):
                return True
            if self._proc.poll() is not None or (self._xorg and not pid_alive(self._xorg[0])):
                text = self.log_text()
                self._stop_processes()
                if "already active" in text or "Address already in use" in text:
                    return False
                raise RuntimeError(f"Xspice did not start:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                self._stop_processes()
                raise RuntimeError(
                    f"Xspice did not serve within {self.start_timeout:.0f}s:\n"
                    f"{self.log_text()[-3000:]}"
                )
            time.sleep(0.1)

    def _paint(self) -> None:
        if not self.colour:
            return
        env = {**os.environ, "DISPLAY": self.display_name}
        deadline = time.monotonic() + 10
        while True:
            done = subprocess.run(
                ["xsetroot", "-solid", self.colour],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
                check=False,
            )
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"xsetroot on {self.display_name} failed: {done.stderr!r}")
            time.sleep(0.2)

    def _stop_processes(self) -> None:
        proc, xorg = self._proc, self._xorg
        self._proc, self._xorg = None, []
        if proc is None:
            return
        for pid in xorg:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)  # the script exits once Xorg has
        except subprocess.TimeoutExpired:
            for pid in [*xorg, proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=self.stop_timeout)
        for pid in xorg:  # killed, it leaves its lock and socket; only ever ours
            lock = Path(f"/tmp/.X{self.display}-lock")
            with contextlib.suppress(OSError, ValueError):
                if int(lock.read_text().strip()) == pid and not pid_alive(pid):
                    lock.unlink()
                    Path(f"/tmp/.X11-unix/X{self.display}").unlink(missing_ok=True)

    def stop(self) -> None:
        self._stop_processes()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> XspiceDesktop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def files_containing(secret: str, *roots: Path) -> list[Path]:
    """Files under ``roots`` (readable by us) whose bytes include ``secret`` in UTF-8 or UTF-16."""
    needles = (secret.encode(), secret.encode("utf-16-le"))
    found: list[Path] = []
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                    if any(needle in data for needle in needles):
                        found.append(path)
            except OSError:
                continue
    return found
