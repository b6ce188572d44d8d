"""VMware's vCenter simulator, vcsim, for the vSphere backend's tests.

tests/helpers/vcsim/main.go is a small Go main around govmomi's `simulator`
package (Debian: golang-go, golang-github-vmware-govmomi-dev). It is built
offline once per machine and source, into ~/.cache/rubicon-tests/ (or
$RUBICON_TEST_CACHE) under the source's hash, and each test module starts its
own simulator on loopback with a certificate of the test's, so TLS
verification (CA file and pinned fingerprint) is real. The account's password
reaches vcsim through its environment, never its command line. Every process
is started with a timeout and stopped by its PID.

Without Go or govmomi the tests skip with the apt-get line, and fail under
RUBICON_REQUIRE_E2E=1.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.e2e import e2e_required

SOURCE = Path(__file__).with_name("vcsim") / "main.go"
GOPATH = Path("/usr/share/gocode")
GOVMOMI = GOPATH / "src/github.com/vmware/govmomi/simulator"
APT = "sudo apt-get install golang-go golang-github-vmware-govmomi-dev"
BUILD_TIMEOUT_S = 300
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10
USER = "svc-rubicon"
PASSWORD = "vc-Secret-7"


def unavailable(reason: str) -> None:
    """Skip, or fail under RUBICON_REQUIRE_E2E=1 where a skip would hide a gap."""
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_vcsim() -> Path:
    """The built simulator (built now if need be); skips without Go or govmomi."""
    go = shutil.which("go")
    if go is None or not GOVMOMI.is_dir():
        unavailable(f"Go or govmomi's simulator is not installed: {APT}")
    with contextlib.suppress(ImportError):
        import pyVmomi  # noqa: F401

        return build(go)
    unavailable("pyVmomi is not installed: pip install 'rubicon[vsphere]'")
    raise AssertionError("unreachable")


def build(go: str) -> Path:
    """vcsim from SOURCE, built once per source (a lock keeps parallel runs to one build)."""
    digest = hashlib.sha256(SOURCE.read_bytes() + go.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("RUBICON_TEST_CACHE", Path.home() / ".cache" / "rubicon-tests"))
    target = cache / f"vcsim-{digest}" / "vcsim"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        partial = target.with_suffix(".partial")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(Path.home()),
            "GO111MODULE": "off",
            "GOPATH": str(GOPATH),
            "GOCACHE": str(target.parent / "gocache"),
        }
        result = subprocess.run(
            [go, "build", "-o", str(partial), str(SOURCE)],
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"building vcsim failed:\n{result.stderr[-3000:]}", pytrace=False)
        partial.rename(target)
    return target


@dataclass(frozen=True)
class Certificate:
    """A CA and a server certificate for 127.0.0.1 it signed, in files."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    fingerprint: str  # SHA-256 of the server certificate, lowercase hex


def make_certificate(directory: Path, common_name: str = "vcsim test CA") -> Certificate:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    paths = Certificate(
        ca_file=directory / "ca.pem",
        cert_file=directory / "vcsim.pem",
        key_file=directory / "vcsim-key.pem",
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )
    paths.ca_file.write_bytes(ca.public_bytes(pem))
    paths.cert_file.write_bytes(cert.public_bytes(pem))
    paths.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths.key_file.chmod(0o600)
    return paths


@dataclass
class Vcsim:
    """One running simulator: its URL, its certificate, and a pyVmomi session for tests."""

    process: subprocess.Popen[str]
    url: str
    certificate: Certificate
    log: Path
    _stubs: list[Any] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    def connect(self) -> Any:
        """The test's own pyVmomi session (not the broker's), verified with the CA."""
        from pyVim.connect import SmartStubAdapter
        from pyVmomi import vim

        stub = SmartStubAdapter(
            host="127.0.0.1",
            port=self.port,
            sslContext=ssl.create_default_context(cafile=str(self.certificate.ca_file)),
        )
        self._stubs.append(stub)
        si = vim.ServiceInstance("ServiceInstance", stub)
        si.content.sessionManager.Login(USER, PASSWORD)
        return si

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it lingers; the tests' sessions' sockets closed."""
        for stub in self._stubs:
            stub.DropConnections()
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_vcsim(
    directory: Path,
    *,
    hosts: int = 1,
    clusters: int = 0,
    vms: int = 3,
    listen: str = "127.0.0.1:0",
    certificate: Certificate | None = None,
    faulty: str = "",
) -> Vcsim:
    """A simulator on loopback with `certificate`, or one made in `directory`."""
    binary = require_vcsim()
    directory.mkdir(parents=True, exist_ok=True)
    certificate = certificate or make_certificate(directory / "tls")
    log = directory / "vcsim.log"
    argv = [
        str(binary),
        f"-hosts={hosts}",
        f"-clusters={clusters}",
        f"-vms={vms}",
        f"-user={USER}",
        f"-cert={certificate.cert_file}",
        f"-key={certificate.key_file}",
        f"-listen={listen}",
        f"-faulty={faulty}",
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VCSIM_PASSWORD": PASSWORD}
    with open(log, "w") as errors:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=env, text=True)
    assert process.stdout is not None
    # The first line is its URL; a timer kills a simulator that never prints it.
    timer = _Deadline(process, START_TIMEOUT_S)
    try:
        url = process.stdout.readline().strip()
    finally:
        timer.cancel()
    if not url.startswith("https://"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_S)
        pytest.fail(f"vcsim did not start: {log.read_text()[-3000:]}", pytrace=False)
    return Vcsim(process=process, url=url, certificate=certificate, log=log)


class _Deadline:
    """Kills a process (by PID) unless cancelled within `seconds`."""

    def __init__(self, process: subprocess.Popen[str], seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._kill, args=(process.pid,))
        self._timer.daemon = True
        self._timer.start()

    @staticmethod
    def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def cancel(self) -> None:
        self._timer.cancel()


@contextlib.contextmanager
def running_vcsim(**model: Any) -> Iterator[Vcsim]:
    """start_vcsim in a temporary directory, stopped (by PID) afterwards."""
    with tempfile.TemporaryDirectory(prefix="rubicon-vcsim-") as directory:
        sim = start_vcsim(Path(directory), **model)
        try:
            yield sim
        finally:
            sim.stop()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Vcsim]:
    """A vcsim of the test's own: host DC0_H0 (VMs DC0_H0_VM0..2) and cluster DC0_C0
    (host DC0_C0_H0, VMs DC0_C0_RP0_VM0..2), every VM off. It starts in a tenth of a
    second once built, so tests do not share one."""
    simulator = start_vcsim(tmp_path / "vcsim", hosts=1, clusters=1, vms=3)
    try:
        yield simulator
    finally:
        simulator.stop()


def password_file(directory: Path, password: str = PASSWORD) -> Path:
    """The broker's password file for vcsim: 0600, as the backend insists."""
    path = directory / "vcenter.password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path
