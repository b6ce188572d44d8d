"""Proxmox's SPICE console from end to end: the broker's HTTP API on fakepve, the
launcher, and the real remote-viewer through a CONNECT proxy into a SPICE desktop.

The chain: the broker's Proxmox backend asks fakepve for `spiceproxy` and gets
the answer in the shape recorded from PVE's source
(tests/data/proxmox/spiceproxy.json): an opaque `host` ticket, the proxy's
URL, a TLS port, the CA with its newlines escaped, the certificate's subject
and a one-time password. The broker hands it to the launcher, which writes the
.vv document remote-viewer reads from stdin. remote-viewer asks the proxy
(tests/helpers/connect_proxy, standing in for PVE's spiceproxy and knowing
exactly the tickets fakepve issued) to CONNECT to the ticket, speaks TLS to
what it reaches, checks the certificate against the CA and subject from the
answer, and signs in to Xspice with the password.

What stands in for PVE, and why: fakepve runs no guests, so Xspice (plain
SPICE, a fixed password) is the VM's display, and a TLS endpoint of the test
(a certificate from a CA of the test, with PVE's node subject) in front of it
is the VM's TLS port; fakepve answers with Xspice's password, as QEMU would
have taken it through set_password. The proxy listens on a free port, not
PVE's 3128, so fakepve's answer names that port. ``health_check = false``:
the broker's probe would knock on port 3128 of the node.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.e2e import e2e_required

try:
    import fakepve  # noqa: F401
except ImportError:
    if e2e_required():
        raise
    pytest.skip("fakepve is not installed: pip install 'rubicon[dev]'", allow_module_level=True)

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broker_stub.demo.xdisplay import Xvfb
from launcher.core.models import Protocol
from tests.e2e.test_proxmox_launch import QXL, make_site, proxmox_pool, secret
from tests.helpers.broker_site import SIGN_IN, Site
from tests.helpers.connect_proxy import ConnectProxy, running_proxy
from tests.helpers.e2e import (
    SPICE_CONNECTED,
    SPICE_PASSWORD,
    XspiceDesktop,
    require_binaries,
    secrets_absent,
)
from tests.helpers.fakepve import Served, fakepve_pki, served_pve
from tests.helpers.viewers import from_broker, spice_desktop, spice_desktop_shown

__all__ = ["fakepve_pki", "make_site", "secret", "served_pve", "spice_desktop"]

pytestmark = pytest.mark.e2e

# PVE's node certificate subject, as remote_viewer_config writes it for host-subject.
SUBJECT = "OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.com"
JOIN_TIMEOUT_S = 5.0


def node_certificate(directory: Path) -> tuple[str, Path, Path]:
    """A cluster CA (PEM text) and a node certificate and key it signed, with PVE's subject."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Proxmox Virtual Environment")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PVE Cluster Node"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proxmox Virtual Environment"),
            x509.NameAttribute(NameOID.COMMON_NAME, "pve1.example.com"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("pve1.example.com")]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "node.pem", directory / "node.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


class TlsPort:
    """The VM's SPICE TLS port: TLS on 127.0.0.1, plain SPICE to Xspice behind it."""

    def __init__(self, cert: Path, key: Path, backend_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.backend_port = backend_port
        self.handshakes = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()
            return
        self.handshakes += 1
        plain = socket.create_connection(("127.0.0.1", self.backend_port), timeout=10)
        self._sockets += [tls, plain]
        tls.settimeout(0.2)
        plain.settimeout(0.2)
        self._spawn(self._pipe, plain, tls)
        self._pipe(tls, plain)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not self._stopping.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_S)


@pytest.fixture
def tls_port(tmp_path: Path, spice_desktop: XspiceDesktop) -> Iterator[tuple[TlsPort, str]]:
    ca_pem, cert, key = node_certificate(tmp_path)
    port = TlsPort(cert, key, spice_desktop.port)
    try:
        yield port, ca_pem
    finally:
        port.stop()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with running_proxy({}) as running:
        yield running


def behind_proxy(
    served: Served,
    secret: Path,
    tls_port: tuple[TlsPort, str],
    proxy: ConnectProxy,
    subject: str,
    *,
    status: str,
) -> str:
    """fakepve's VM 100 with its SPICE console behind the proxy and the TLS port; the
    answer names `subject`. The pools file of a pool of it."""
    endpoint, ca_pem = tls_port
    pve = served.pve
    pve.add_vm(100, "desk-1", status=status, config=QXL | {"tags": "vdi"})
    pve.spice_ca = ca_pem.replace("\n", "\\n")  # as PVE writes it
    pve.spice_subject = subject
    pve.spice_password = SPICE_PASSWORD
    pve.spice_proxy_url = proxy.url
    pve.on_spice_ticket = lambda host: proxy.targets.__setitem__(host, endpoint.port)
    return proxmox_pool("lab", served, secret, {"tag": "vdi"})


def test_remote_viewer_reaches_a_proxmox_console_the_broker_handed_out(
    served_pve: Served,
    secret: Path,
    make_site: Callable[[str], Site],
    user_screen: Xvfb,
    spice_desktop: XspiceDesktop,
    tls_port: tuple[TlsPort, str],
    proxy: ConnectProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_binaries("remote-viewer", "import")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    endpoint, _ = tls_port
    site = make_site(behind_proxy(served_pve, secret, tls_port, proxy, SUBJECT, status="stopped"))

    with from_broker(site.url, "lab") as (opened, watch, recorder):
        assert recorder.launches[0][1].status_code == 202  # the VM was off
        connection = recorder.launches[-1][1].json()["connection"]
        assert connection["host"].startswith("pvespiceproxy:")
        assert (connection["port"], connection["tls"]) == (61000, True)
        assert connection["proxy"] == proxy.url
        assert opened.protocol is Protocol.SPICE
        spice_desktop_shown(watch, spice_desktop, user_screen)
        secrets_absent(opened.client.pid, SPICE_PASSWORD, SIGN_IN)
    result = watch.exits.get(timeout=15)
    assert (result.reason, result.connected) == (None, True)
    # Every channel asked the proxy for the ticket fakepve issued, at the answer's port,
    # and came through TLS that remote-viewer checked against the answer's CA.
    assert proxy.requests
    assert set(proxy.requests) == {f"CONNECT {connection['host']}:61000 HTTP/1.0"}
    assert proxy.refused == []
    assert endpoint.handshakes >= 1
    assert SPICE_PASSWORD not in caplog.text


def test_a_certificate_other_than_the_answer_names_is_refused(
    served_pve: Served,
    secret: Path,
    make_site: Callable[[str], Site],
    user_screen: Xvfb,
    spice_desktop: XspiceDesktop,
    tls_port: tuple[TlsPort, str],
    proxy: ConnectProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same chain, the answer naming another node's subject: remote-viewer checks,
    and the launcher ends it with the message (it would sit on its error dialog)."""
    require_binaries("remote-viewer")
    caplog.set_level(logging.DEBUG, logger="rubicon")
    other = SUBJECT.replace("pve1", "pve2")
    site = make_site(behind_proxy(served_pve, secret, tls_port, proxy, other, status="running"))

    with from_broker(site.url, "lab") as (opened, watch, _):
        result = watch.exits.get(timeout=30)  # the supervisor stopped it, not the test
        assert not opened.client.running()
    assert result.reason is not None
    assert result.reason.message == (
        "The desktop's certificate is not the one the broker vouched for."
    )
    assert "intercepting" in result.reason.hint
    assert not result.connected
    assert not watch.connected.is_set()
    assert f"subject '{other}' verification failed" in caplog.text
    assert proxy.requests  # it got as far as the proxy and the TLS port
    assert SPICE_CONNECTED not in spice_desktop.log_text()
