"""A private libvirtd managing real QEMU (TCG) guests, and helpers to make tiny ones.

Root only. virtlogd and libvirtd run in the foreground, each a Popen we stop
by its PID (libvirtd's is ``REAPER``, which passes SIGTERM on), inside one
private mount namespace (``unshare --mount --propagation private``, virtlogd
first; libvirtd joins it with ``nsenter``, also when it is started again
after ``stop_libvirtd``: it finds the guests still running). There, directories
of a temp dir are bind-mounted over /etc/libvirt, /run/libvirt,
/var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt: another libvirtd
on the machine (a developer's, another test run's) sees none of our guests
and we none of its, and the qemu.conf is ours. The client socket is in the
temp dir, outside those mounts: ``uri`` reaches it from the test process.

What our qemu.conf settles, each found by running it:

* QEMU runs as root, with no security driver and no chown of images
  (``dynamic_ownership = 0``): disks under a pytest tmp dir just work;
* no cgroups: libvirt would make /sys/fs/cgroup/*/machine/qemu-ID-NAME.libvirt-qemu,
  the same for two runs' first guest of a test;
* no per-guest mount namespace: QEMU stays in ours, which is how ``stop()``
  finds the QEMUs that are ours (libvirt daemonizes them: they are no
  children of ours) and kills any the API left;
* autoport consoles take ports from a window of 100 between 15900 and 16899,
  away from Xvnc's 59xx; each daemon holds a lock on its window
  (``/tmp/rubicon-libvirtd-ports-N.lock``), so two runs never pick the same
  port at the same moment (libvirt checks a port is free, QEMU binds it later).

libvirtd probes a QEMU binary the first time it needs its capabilities and
finds them in no cache (4 s here for qemu-system-x86_64, when the first guest
starts). Our cache starts as a copy of the last run's, saved by ``stop()``
(``RUBICON_LIBVIRT_CAPS_CACHE``, default /var/tmp/rubicon-libvirt-qemu-caps),
or else of the system daemon's; libvirt itself checks the copy is still valid.
libvirtd is pinned to one CPU (``taskset``): otherwise it found the cache
stale on 3 starts of 8 (0.55 s more for the first guest).

QEMU refuses a console password at run time ("set_password: Could not set
password") unless the display started with password authentication, which
libvirt turns on only for a ``<graphics>`` with a ``passwd``: so
``guest_xml`` always gives one (``GUEST_PASSWORD``) unless told ``None``.

Fixtures: ``libvirtd`` (session, a running ``Libvirtd``) and
``libvirt_guests`` (per test, ``Guests``: names prefixed for the test,
destroyed and undefined afterwards with its storage pools and disks).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape, quoteattr

import pytest

from broker_stub.demo.xdisplay import stop_process
from tests.helpers.e2e import e2e_required, pid_alive

try:
    import libvirt
except ImportError:  # the plugin loads for every test; only these fixtures need it
    libvirt = None

__all__ = [
    "GUEST_PASSWORD",
    "PACKAGES",
    "Guests",
    "Libvirtd",
    "destroy",
    "graphics_ports",
    "guest_xml",
    "libvirt",  # the module, or None without libvirt-python (then the fixtures skip)
    "libvirt_guests",
    "libvirtd",
    "make_disk",
    "require_libvirtd",
    "start_libvirtd",
    "unavailable",
    "vnc_password_accepted",
]

# Debian package of each program we run.
PACKAGES = {
    "libvirtd": "libvirt-daemon-system",
    "virtlogd": "libvirt-daemon-system",
    "virsh": "libvirt-clients",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "taskset": "util-linux",
}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
COMMAND_TIMEOUT = 30.0  # virsh, qemu-img
GUEST_PASSWORD = "initial1"  # VNC reads at most 8 characters
CONSOLE_HOST = "127.0.0.1"
PORT_WINDOWS = range(15900, 16900, 100)
CAPS_CACHE = Path(
    os.environ.get("RUBICON_LIBVIRT_CAPS_CACHE", "/var/tmp/rubicon-libvirt-qemu-caps")
)
SYSTEM_CAPS_CACHE = Path("/var/cache/libvirt/qemu/capabilities")
# Our directory (under the temp dir) -> where the daemons see it.
PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
}
# libvirtd runs under this: a child subreaper, so the QEMUs libvirtd daemonizes are
# its children and reaped at once. Under an init that reaps orphans late (this
# container's: 1.3-1.8 s), libvirt waits for the zombie in every destroy. It
# passes SIGTERM on, exits with libvirtd, and libvirtd dies with it (PDEATHSIG).
REAPER = """
import ctypes, os, signal, sys
libc = ctypes.CDLL(None)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
child = os.fork()
if child == 0:
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    os.execv(sys.argv[1], sys.argv[1:])
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, lambda number, frame: os.kill(child, number))
while True:
    pid, status = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""
# Bind-mounts "src dst" pairs up to "--", then execs the rest.
MOUNT_SCRIPT = (
    'set -e; while [ "$1" != -- ]; do mkdir -p "$2"; mount --bind "$1" "$2"; shift 2; done; '
    'shift; exec "$@"'
)


def unavailable(reason: str) -> None:
    """Skip, or fail under RUBICON_REQUIRE_E2E=1 where a skip would hide a gap."""
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def find_program(name: str) -> str | None:
    # /usr/sbin is not on an ordinary user's PATH on Debian.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def require_libvirtd() -> None:
    """Skip (fail under RUBICON_REQUIRE_E2E=1) unless a private libvirtd can run here."""
    missing = [name for name in PACKAGES if find_program(name) is None]
    if missing:
        packages = " ".join(dict.fromkeys(PACKAGES[name] for name in missing))
        unavailable(f"{', '.join(missing)} not installed: sudo apt-get install {packages}")
    if libvirt is None:
        unavailable(
            "libvirt-python is not installed: sudo apt-get install libvirt-dev pkg-config "
            "&& pip install libvirt-python"
        )
    if os.geteuid() != 0:
        unavailable("a private libvirtd needs root (a mount namespace, QEMU as root)")


def qemu_conf(ports: range, spice_tls_dir: Path | None) -> str:
    lines = [
        'user = "root"',
        'group = "root"',
        "dynamic_ownership = 0",
        'security_driver = "none"',
        "cgroup_controllers = [ ]",
        "namespaces = [ ]",
        f"remote_display_port_min = {ports.start}",
        f"remote_display_port_max = {ports.stop - 1}",
    ]
    if spice_tls_dir is not None:
        lines += ["spice_tls = 1", f'spice_tls_x509_cert_dir = "{spice_tls_dir}"']
    return "\n".join(lines) + "\n"


def libvirtd_conf(socket_dir: Path) -> str:
    lines = [
        f'unix_sock_dir = "{socket_dir}"',
        'auth_unix_rw = "none"',
        'auth_unix_ro = "none"',
        'log_outputs = "3:stderr"',
    ]
    return "\n".join(lines) + "\n"


def _lock_port_window() -> tuple[range, IO[bytes]]:
    """A window of console ports no other private libvirtd holds, and its lock."""
    for start in PORT_WINDOWS:
        path = Path(tempfile.gettempdir(), f"rubicon-libvirtd-ports-{start}.lock")
        lock = path.open("ab")  # held open (locked) while the daemon runs
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return range(start, start + PORT_WINDOWS.step), lock
    raise RuntimeError(f"all {len(PORT_WINDOWS)} console port windows are taken")


def _copy_caps(source: Path, target: Path) -> None:
    """Copy the capabilities cache files `source` has and `target` lacks or differs in."""
    if not source.is_dir():
        return
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in source.glob("*.xml"):
        data = path.read_bytes()
        destination = target / path.name
        with contextlib.suppress(OSError):
            if destination.read_bytes() == data:
                continue
        partial = target / f".{path.name}.{os.getpid()}"
        partial.write_bytes(data)
        partial.chmod(0o600)
        os.replace(partial, destination)  # whole, even with another run copying too


def _mount_namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/mnt")


class Libvirtd:
    """A private virtlogd + libvirtd; ``stop()`` ends them, their guests and their files."""

    def __init__(self, *, spice_tls: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rubicon-libvirtd-")).resolve()
        self.root.chmod(0o711)
        # With spice_tls, SPICE consoles also get a tlsPort; this certificate is its CA.
        self.spice_ca_file = self.root / "spice-tls" / "ca-cert.pem" if spice_tls else None
        self.socket_dir = self.root / "sock"
        self.uri = f"qemu:///system?socket={self.socket_dir}/libvirt-sock"
        self.images = self.root / "images"
        self.conf = self.root / "etc" / "libvirtd.conf"
        self.ports = range(0)
        self._ports_lock: IO[bytes] | None = None
        self._virtlogd: subprocess.Popen[bytes] | None = None
        self._libvirtd: subprocess.Popen[bytes] | None = None
        self._namespace = ""

    # -- what tests look at --------------------------------------------------

    @property
    def virtlogd_pid(self) -> int:
        assert self._virtlogd is not None
        return self._virtlogd.pid

    @property
    def libvirtd_pid(self) -> int:
        """libvirtd's own PID (the process we started and stop is its ``REAPER``)."""
        assert self._libvirtd is not None
        return int((self.root / "libvirtd.pid").read_text())

    @property
    def libvirtd_running(self) -> bool:
        return self._libvirtd is not None and self._libvirtd.poll() is None

    def qemu_pids(self) -> list[int]:
        """Our QEMU processes: those in our mount namespace (libvirt daemonizes them)."""
        found: list[int] = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                exe = os.readlink(proc / "exe")
                if Path(exe).name.startswith("qemu-system") and (
                    _mount_namespace(int(proc.name)) == self._namespace
                ):
                    found.append(int(proc.name))
            except OSError:  # gone, or a kernel thread
                continue
        return found

    def connect(self) -> libvirt.virConnect:
        """A new read-write connection; close it (``with`` does)."""
        return libvirt.open(self.uri)

    def virsh(
        self, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run ``virsh -c URI ARGS`` and return what it printed."""
        virsh = find_program("virsh") or "virsh"
        return subprocess.run(
            [virsh, "-c", self.uri, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            stdin=subprocess.DEVNULL,
        )

    def log_text(self) -> str:
        """The daemons' own output (libvirtd, then virtlogd)."""
        return "".join(
            (self.root / name).read_text(errors="replace")
            for name in ("libvirtd.log", "virtlogd.log")
            if (self.root / name).exists()
        )

    def guest_log(self, name: str) -> str:
        """QEMU's log of guest ``name`` (its command line, its errors)."""
        path = self.root / "log" / "qemu" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- starting and stopping -----------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> Libvirtd:
        try:
            self._prepare()
            self._start_virtlogd(timeout)
            self.start_libvirtd(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare(self) -> None:
        for name in [*PRIVATE_DIRS, "sock"]:
            (self.root / name).mkdir(mode=0o700)
        self.images.mkdir(mode=0o755)
        etc = self.root / "etc"
        # The package's settings, without the system's guests, networks and hooks.
        for path in Path("/etc/libvirt").glob("*.conf"):
            shutil.copy(path, etc / path.name)
        if Path("/etc/libvirt/nwfilter").is_dir():
            shutil.copytree("/etc/libvirt/nwfilter", etc / "nwfilter")
        tls_dir = None
        if self.spice_ca_file is not None:
            tls_dir = self.spice_ca_file.parent
            self._make_spice_certificate(tls_dir)
        self.ports, self._ports_lock = _lock_port_window()
        (etc / "qemu.conf").write_text(qemu_conf(self.ports, tls_dir))
        self.conf.write_text(libvirtd_conf(self.socket_dir))
        for source in (CAPS_CACHE, SYSTEM_CAPS_CACHE):
            if source.is_dir() and any(source.glob("*.xml")):
                _copy_caps(source, self.root / "cache" / "qemu" / "capabilities")
                break

    @staticmethod
    def _make_spice_certificate(directory: Path) -> None:
        """A self-signed certificate, its own CA: the names spice-server looks for."""
        from broker_stub import tls

        made = tls.create(directory / "made", ["localhost"])
        shutil.copy(made.cert, directory / "server-cert.pem")
        shutil.copy(made.cert, directory / "ca-cert.pem")
        shutil.copy(made.key, directory / "server-key.pem")

    def _spawn(self, argv: Sequence[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.root / log_name).open("ab") as log:
            return subprocess.Popen(
                argv,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches pytest, which tears down in order
            )

    def _start_virtlogd(self, timeout: float) -> None:
        mounts = [str(a) for name, dst in PRIVATE_DIRS.items() for a in (self.root / name, dst)]
        argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", MOUNT_SCRIPT]
        argv += ["sh", *mounts, "--", find_program("virtlogd") or "virtlogd"]
        argv += ["-p", str(self.root / "virtlogd.pid")]
        self._virtlogd = self._spawn(argv, "virtlogd.log")
        ready = self.root / "run" / "virtlogd-sock"
        self._wait(lambda: ready.exists(), self._virtlogd, "virtlogd", timeout)
        self._namespace = _mount_namespace(self._virtlogd.pid)

    def start_libvirtd(self, timeout: float = START_TIMEOUT) -> None:
        """Start libvirtd (again), in virtlogd's namespace; it finds running guests."""
        assert self._virtlogd is not None, "virtlogd was not started"
        assert self._virtlogd.poll() is None, "virtlogd is gone"
        assert not self.libvirtd_running, "libvirtd is already running"
        cpu = min(os.sched_getaffinity(0))
        argv = ["nsenter", f"--mount=/proc/{self._virtlogd.pid}/ns/mnt", "--"]
        argv += ["taskset", "-c", str(cpu), sys.executable, "-I", "-S", "-c", REAPER]
        argv += [find_program("libvirtd") or "libvirtd"]
        argv += ["-f", str(self.conf), "-p", str(self.root / "libvirtd.pid")]
        self._libvirtd = self._spawn(argv, "libvirtd.log")
        self._wait(self._answers, self._libvirtd, "libvirtd", timeout)

    def _answers(self) -> bool:
        # No socket yet: no connect attempt, whose failure libvirt prints on stderr.
        if not (self.socket_dir / "libvirt-sock").exists():
            return False
        try:
            with self.connect() as conn:
                conn.getLibVersion()
        except libvirt.libvirtError:
            return False
        return True

    def _wait(
        self,
        ready: Callable[[], bool],
        process: subprocess.Popen[bytes],
        what: str,
        timeout: float,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited while starting:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not answer within {timeout:.0f}s:\n{self.log_text()[-3000:]}"
                )
            time.sleep(0.05)

    def stop_libvirtd(self) -> None:
        """Stop libvirtd alone (SIGTERM by PID): virtlogd and the guests keep running."""
        if self._libvirtd is not None:
            stop_process(self._libvirtd, STOP_TIMEOUT)
            self._libvirtd = None

    def stop(self) -> None:
        """Destroy the guests, stop the daemons, kill any QEMU left, delete the files."""
        if self.libvirtd_running:
            with contextlib.suppress(libvirt.libvirtError), self.connect() as conn:
                for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                    with contextlib.suppress(libvirt.libvirtError):
                        destroy(dom)
        self.stop_libvirtd()
        if self._virtlogd is not None:
            stop_process(self._virtlogd, STOP_TIMEOUT)
            self._virtlogd = None
        try:
            if self._namespace:
                self._kill_qemu()
        finally:
            if self._ports_lock is not None:
                self._ports_lock.close()
                self._ports_lock = None
            with contextlib.suppress(OSError):  # for the next run: what libvirtd probed
                _copy_caps(self.root / "cache" / "qemu" / "capabilities", CAPS_CACHE)
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_qemu(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.qemu_pids()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_TIMEOUT
            while any(pid_alive(pid) for pid in left) and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.qemu_pids():
            raise RuntimeError(f"QEMU processes {self.qemu_pids()} survived SIGKILL")


def start_libvirtd(timeout: float = START_TIMEOUT, *, spice_tls: bool = False) -> Libvirtd:
    """Start a private libvirtd (skips the test when it cannot run here)."""
    require_libvirtd()
    return Libvirtd(spice_tls=spice_tls).start(timeout)


# -- guests ----------------------------------------------------------------------


def make_disk(
    path: Path, size: str = "16M", *, backing: Path | None = None, timeout: float = COMMAND_TIMEOUT
) -> Path:
    """A qcow2 image at ``path``: empty of ``size``, or an overlay over ``backing`` (qcow2)."""
    argv = [find_program("qemu-img") or "qemu-img", "create", "-q", "-f", "qcow2"]
    if backing is not None:
        argv += ["-b", str(backing), "-F", "qcow2", str(path)]
    else:
        argv += [str(path), size]
    subprocess.run(argv, check=True, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return path


def guest_xml(
    name: str,
    disk: Path | None,
    *,
    graphics: Sequence[str] = ("vnc",),
    password: str | None = GUEST_PASSWORD,
    listen: str = CONSOLE_HOST,
    metadata: str | None = None,
    memory_mib: int = 64,
) -> str:
    """A persistent-domain XML: TCG, ``memory_mib`` MiB, 1 vCPU, SeaBIOS and a virtio disk.

    Each of ``graphics`` ("vnc", "spice") is an autoport console on ``listen``
    with ``password`` (None: no ``passwd``, and then none can be set while it
    runs). ``metadata`` is XML put inside ``<metadata>`` as it is.
    """
    lines = [
        "<domain type='qemu'>",
        f"  <name>{escape(name)}</name>",
        f"  <memory unit='MiB'>{memory_mib}</memory>",
        "  <vcpu>1</vcpu>",
        "  <os><type arch='x86_64' machine='pc'>hvm</type></os>",
    ]
    if metadata is not None:
        lines += ["  <metadata>", f"    {metadata}", "  </metadata>"]
    lines.append("  <devices>")
    if disk is not None:
        lines += [
            "    <disk type='file' device='disk'>",
            "      <driver name='qemu' type='qcow2'/>",
            f"      <source file={quoteattr(str(disk))}/>",
            "      <target dev='vda' bus='virtio'/>",
            "    </disk>",
        ]
    for kind in graphics:
        passwd = "" if password is None else f" passwd={quoteattr(password)}"
        address = quoteattr(listen)
        lines += [
            f"    <graphics type={quoteattr(kind)} autoport='yes' listen={address}{passwd}>",
            f"      <listen type='address' address={address}/>",
            "    </graphics>",
        ]
    lines += ["  </devices>", "</domain>"]
    return "\n".join(lines) + "\n"


def graphics_ports(domain_xml: str) -> dict[str, int]:
    """Console kind -> port in a live domain XML ("spice-tls" for a SPICE tlsPort)."""
    root = ET.fromstring(domain_xml)  # noqa: S314 - libvirt's own output
    ports: dict[str, int] = {}
    for element in root.iterfind("devices/graphics"):
        kind = element.get("type", "")
        if int(element.get("port", "-1")) > 0:
            ports[kind] = int(element.get("port", "-1"))
        if int(element.get("tlsPort", "-1")) > 0:
            ports[f"{kind}-tls"] = int(element.get("tlsPort", "-1"))
    return ports


def vnc_password_accepted(
    port: int, password: str, host: str = CONSOLE_HOST, timeout: float = 5.0
) -> bool:
    """Whether the VNC server at ``host:port`` lets ``password`` in (RFB 3.8, VNC auth)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        sock.makefile("rwb") as stream,
    ):

        def read(size: int) -> bytes:
            data = stream.read(size)
            if len(data) != size:
                raise AssertionError(f"the VNC server hung up after {data!r}")
            return data

        def send(data: bytes) -> None:
            stream.write(data)
            stream.flush()

        version = read(12)
        if not version.startswith(b"RFB 003."):
            raise AssertionError(f"not a VNC server: {version!r}")
        send(b"RFB 003.008\n")
        types = read(read(1)[0])
        if 2 not in types:
            raise AssertionError(f"the server offers no VNC authentication: {list(types)}")
        send(b"\x02")
        challenge = read(16)
        # The key is the password's first 8 bytes, each byte's bits mirrored.
        raw = password.encode()[:8].ljust(8, b"\0")
        key = bytes(int(f"{b:08b}"[::-1], 2) for b in raw)
        encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305 - RFB's
        send(encryptor.update(challenge) + encryptor.finalize())
        return read(4) == b"\0\0\0\0"


def destroy(dom: libvirt.virDomain) -> None:
    """Power ``dom`` off if it runs; it is off when this returns.

    When QEMU's exit is reaped late (a guest started before libvirtd last
    restarted), libvirt may see it end while destroying it, and say "domain
    is not running": it is off, which is what was asked.
    """
    try:
        if dom.isActive():
            dom.destroy()
    except libvirt.libvirtError:
        try:
            running = dom.isActive()
        except libvirt.libvirtError:  # a transient guest is gone once off
            return
        if running:
            raise


class Guests:
    """One test's guests: names start with ``prefix``; ``cleanup()`` removes them all."""

    def __init__(self, daemon: Libvirtd, prefix: str) -> None:
        self.libvirtd = daemon
        self.prefix = prefix

    def name(self, suffix: str = "vm") -> str:
        return f"{self.prefix}{suffix}"

    def disk(self, suffix: str = "vm", size: str = "16M", *, backing: Path | None = None) -> Path:
        """A qcow2 image in the daemon's image directory, named for this test."""
        return make_disk(self.libvirtd.images / f"{self.name(suffix)}.qcow2", size, backing=backing)

    def define(self, suffix: str = "vm", *, start: bool = True, **options: object) -> str:
        """Define (and start) a guest with its own new disk; its name. Options: guest_xml's."""
        name = self.name(suffix)
        xml = guest_xml(name, self.disk(suffix), **options)  # type: ignore[arg-type]
        with self.libvirtd.connect() as conn:
            dom = conn.defineXML(xml)
            if start:
                dom.create()
        return name

    def cleanup(self) -> None:
        """Destroy and undefine this test's guests and storage pools; delete its images."""
        if not self.libvirtd.libvirtd_running:  # the test stopped it
            self.libvirtd.start_libvirtd()
        undefine = (
            libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        )
        with self.libvirtd.connect() as conn:
            for dom in conn.listAllDomains():
                if dom.name().startswith(self.prefix):
                    persistent = dom.isPersistent()
                    destroy(dom)
                    if persistent:
                        dom.undefineFlags(undefine)
            for pool in conn.listAllStoragePools():
                if pool.name().startswith(self.prefix):
                    if pool.isActive():
                        pool.destroy()
                    if pool.isPersistent():
                        pool.undefine()
        for path in self.libvirtd.images.glob(f"{glob.escape(self.prefix)}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


# -- fixtures ----------------------------------------------------------------------

_test_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def libvirtd() -> Iterator[Libvirtd]:
    """A private libvirtd with QEMU (TCG), shared by the whole test session."""
    daemon = start_libvirtd()
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def libvirt_guests(libvirtd: Libvirtd, request: pytest.FixtureRequest) -> Iterator[Guests]:
    """This test's guests on the session's libvirtd, removed after it (even if it failed)."""
    words = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[:24].rstrip("-")
    guests = Guests(libvirtd, f"t{next(_test_numbers):03d}-{words}-")
    try:
        yield guests
    finally:
        guests.cleanup()
