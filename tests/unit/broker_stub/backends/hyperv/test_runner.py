"""The real pypsrp runner, as far as it goes without a Windows host: against a closed
loopback port, and against a loopback TLS server that stands where WinRM
listens (it answers every request 401, as a host answers unknown credentials).

What it shows: a host that is away and a certificate that is not trusted are
HypervisorUnavailable; with the pool's CA file the TLS handshake succeeds (the
server gets the broker's HTTP request) and refused credentials are
HypervisorUnavailable that names the account, never the password.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_stub import tls
from broker_stub.backends.base import HypervisorUnavailable
from broker_stub.backends.hyperv import commands
from broker_stub.backends.hyperv.options import HyperVOptions
from broker_stub.backends.hyperv.runner import PsrpRunner
from broker_stub.demo.xdisplay import free_tcp_port

SECRET = "Winrm-Secret-7"
UNAUTHORIZED = (
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


class Refusing:
    """A TLS server on loopback that answers each HTTP request 401; it keeps the requests."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.requests: list[bytes] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._context = context
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            try:
                with self._context.wrap_socket(raw, server_side=True) as conn:
                    self.requests.append(_read_request(conn))
                    conn.sendall(UNAUTHORIZED)
            except (OSError, ssl.SSLError):
                continue  # the client gave up on our certificate

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


def _read_request(conn: ssl.SSLSocket) -> bytes:
    """One HTTP request, head and body (all of it: closing on unread data resets)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def refusing(tmp_path: Path) -> Iterator[tuple[Refusing, Path]]:
    made = tls.create(tmp_path / "tls", ["127.0.0.1"])
    server = Refusing(made.cert, made.key)
    try:
        yield server, made.cert
    finally:
        server.close()


def runner(tmp_path: Path, port: int, **table: Any) -> PsrpRunner:
    secret = tmp_path / "winrm.password"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    options = {
        "host": "127.0.0.1",
        "port": port,
        "auth": "ntlm",
        "user": "HV1\\svc-rubicon",
        "password_file": str(secret),
        "name_pattern": "lab-*",
        "operation_timeout": "5s",
        **table,
    }
    return PsrpRunner(HyperVOptions.model_validate(options))


def test_a_closed_port_is_hypervisor_unavailable(tmp_path: Path) -> None:
    port = free_tcp_port()
    started = time.monotonic()
    with pytest.raises(HypervisorUnavailable) as away:
        runner(tmp_path, port).run(commands.host(), timeout=5)
    assert time.monotonic() - started < 5
    assert f"cannot reach PowerShell on the Hyper-V host 127.0.0.1:{port}" in str(away.value)


def test_an_untrusted_certificate_is_refused_before_any_request(
    tmp_path: Path, refusing: tuple[Refusing, Path]
) -> None:
    server, _ = refusing
    with pytest.raises(HypervisorUnavailable, match=r"(?i)certificate"):
        runner(tmp_path, server.port).run(commands.host(), timeout=5)
    assert server.requests == []  # nothing, credentials least of all, went out


def test_with_the_ca_file_tls_works_and_refused_credentials_name_the_account(
    tmp_path: Path, refusing: tuple[Refusing, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server, cert = refusing
    with pytest.raises(HypervisorUnavailable) as refused:
        runner(tmp_path, server.port, ca_file=str(cert)).run(commands.host(), timeout=5)
    assert server.requests, "the TLS handshake never got as far as a request"
    assert server.requests[0].startswith(b"POST /wsman ")
    said = str(refused.value)
    assert said.startswith(
        f"the Hyper-V host 127.0.0.1:{server.port} refused the broker's credentials "
        "(auth ntlm, user HV1\\svc-rubicon)"
    )
    assert "check the user, the password file or the keytab" in said
    assert SECRET not in said
    assert SECRET not in caplog.text
    assert all(SECRET.encode() not in r for r in server.requests)
