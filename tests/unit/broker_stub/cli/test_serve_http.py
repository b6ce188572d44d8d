"""`rubicon-broker serve` as a real process, for what only its HTTP server shows:
it stops promptly on SIGTERM even while a launcher holds keep-alive TLS
connections to it (as a signed-in launcher does), and a request it cannot
parse gets a problem document."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .test_serve_tls import (
    COMMAND_TIMEOUT,
    HOST,
    broker_cli,
    serve,
    tls_dir,
    wait_for_health,
)

__all__ = ["serve", "tls_dir"]  # fixtures, used by name

# A liveness bound, not a speed claim: before the fix the broker took 30 s
# (asyncio's TLS shutdown timeout) per idle keep-alive connection to let go.
EXIT_TIMEOUT = 10.0
PASSWORD = "alice-Secret-1"


def add_user(database_url: str) -> None:
    subprocess.run(
        broker_cli("users", "add", "alice", "--password-stdin", "--database-url", database_url),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=True,
    )


def test_sigterm_stops_the_broker_while_a_launcher_holds_tls_keep_alive_connections(
    tls_dir: tuple[Path, str],
    serve: Callable[..., tuple[subprocess.Popen[bytes], int]],
    tmp_path: Path,
) -> None:
    where, _fingerprint = tls_dir
    add_user(f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    proc, port = serve("--tls-cert", str(where / "cert.pem"), "--tls-key", str(where / "key.pem"))
    trust = ssl.create_default_context(cafile=where / "cert.pem")
    url = f"https://{HOST}:{port}"
    wait_for_health(proc, url, trust, tmp_path / "broker.log")

    # As the launcher does: one client, its connections kept alive between calls.
    with httpx.Client(base_url=url, verify=trust, timeout=10) as launcher:
        signed_in = launcher.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["token"]
        listed = launcher.get("/api/v1/desktops", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        assert listed.headers.get("connection", "keep-alive") != "close"

        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"the broker still ran {EXIT_TIMEOUT:.0f} s after SIGTERM:\n"
                + (tmp_path / "broker.log").read_text()
            )
    # A clean stop: the app's shutdown ran. uvicorn then re-raises the signal it caught.
    log = (tmp_path / "broker.log").read_text()
    assert status in (0, -signal.SIGTERM), log
    assert "Application shutdown complete" in log


def raw_request(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes no HTTP client would, read the answer to the end:
    (status line, headers, body)."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("header", [b"X-Note: a\x7fb", b"Idempotency-Key: a\x7fb", b"Bad Name: x"])
def test_a_request_http_cannot_parse_gets_a_problem_document(
    serve: Callable[..., tuple[subprocess.Popen[bytes], int]], tmp_path: Path, header: bytes
) -> None:
    proc, port = serve("--insecure-http")
    wait_for_health(proc, f"http://{HOST}:{port}", False, tmp_path / "broker.log")

    status, headers, body = raw_request(
        port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n\r\n"
    )

    assert status.startswith("HTTP/1.1 400 "), (status, body)
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["code"] == "malformed_request"
    assert problem["status"] == 400
    assert problem["type"] == "urn:rubicon:problem:malformed_request"
    assert problem["detail"].endswith(".")
    assert proc.poll() is None  # and it goes on serving
    assert wait_for_health(proc, f"http://{HOST}:{port}", False, tmp_path / "broker.log").is_success
