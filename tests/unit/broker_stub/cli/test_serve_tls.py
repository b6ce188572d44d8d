"""`rubicon-broker init`, then `serve`, as real processes: the broker answers over HTTPS
with the certificate whose fingerprint init printed."""

from __future__ import annotations

import contextlib
import hashlib
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from broker_stub.demo.xdisplay import free_tcp_port, stop_process
from tests.helpers.e2e import wait_for

HOST = "127.0.0.1"
COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def broker_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "broker_stub.cli", *args]


def served_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate((HOST, port), timeout=10)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest()
    return ":".join(f"{b:02X}" for b in digest)


@pytest.fixture
def tls_dir(tmp_path: Path) -> tuple[Path, str]:
    """The directory `rubicon-broker init` wrote to, and the fingerprint it printed."""
    where = tmp_path / "tls"
    result = subprocess.run(
        broker_cli("init", "--dir", str(where), "--hostname", "broker.test"),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    fingerprint = lines[lines.index("SHA-256 fingerprint, for launchers to pin:") + 1].strip()
    return where, fingerprint


@pytest.fixture
def serve(
    tmp_path: Path, write_config: Callable[..., Path]
) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], int]]]:
    """Start `rubicon-broker serve ARGS` on a free port; stopped by PID afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "broker.log"

    def start(*args: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_tcp_port(HOST)
        argv = broker_cli(
            "serve",
            "--config",
            str(write_config()),
            "--database-url",
            f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "--host",
            HOST,
            "--port",
            str(port),
            *args,
        )
        with log_path.open("ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        started.append(proc)
        return proc, port

    yield start
    for proc in started:
        stop_process(proc, STOP_TIMEOUT)


def wait_for_health(
    proc: subprocess.Popen[bytes], url: str, verify: ssl.SSLContext | bool, log_path: Path
) -> httpx.Response:
    """The first answer of ``url``/healthz, asked until one comes while ``proc`` runs."""
    replies: list[httpx.Response] = []

    def answered() -> bool:
        with contextlib.suppress(httpx.TransportError):
            replies.append(httpx.get(f"{url}/healthz", verify=verify, timeout=5))
        return bool(replies)

    wait_for(answered, START_TIMEOUT, f"{url} to answer", process=proc, output=log_path)
    return replies[0]


def test_serve_answers_over_https(
    tls_dir: tuple[Path, str],
    serve: Callable[..., tuple[subprocess.Popen[bytes], int]],
    tmp_path: Path,
) -> None:
    where, fingerprint = tls_dir
    proc, port = serve("--tls-cert", str(where / "cert.pem"), "--tls-key", str(where / "key.pem"))
    trust_only_this = ssl.create_default_context(cafile=where / "cert.pem")
    trust_only_this.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13 does

    reply = wait_for_health(
        proc, f"https://{HOST}:{port}", trust_only_this, tmp_path / "broker.log"
    )

    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}
    assert served_fingerprint(port) == fingerprint
    assert fingerprint in (tmp_path / "broker.log").read_text()
    with pytest.raises(httpx.TransportError):  # no plain HTTP on the same port
        httpx.get(f"http://{HOST}:{port}/healthz", timeout=5)


def test_serve_insecure_http_on_loopback(
    serve: Callable[..., tuple[subprocess.Popen[bytes], int]], tmp_path: Path
) -> None:
    proc, port = serve("--insecure-http")

    reply = wait_for_health(proc, f"http://{HOST}:{port}", False, tmp_path / "broker.log")

    assert reply.status_code == 200
    # One line per request, ours (route template, request id); not uvicorn's too.
    log_path = tmp_path / "broker.log"
    wait_for(lambda: "/healthz 200" in log_path.read_text(), timeout=10, what="the request log")
    lines = [line for line in log_path.read_text().splitlines() if "/healthz" in line]
    assert len(lines) == 1, lines
    assert "rubicon.broker.http" in lines[0]
