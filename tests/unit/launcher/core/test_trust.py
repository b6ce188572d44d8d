"""Pins against a real TLS server with a `rubicon-broker init` certificate."""

from __future__ import annotations

import http.server
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from broker_stub import tls
from launcher.core import trust


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def https_server(cert_dir: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_dir / "cert.pem", cert_dir / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def broker_cert(tmp_path: Path) -> tls.Certificate:
    return tls.create(tmp_path / "a", ["broker.test"])


def test_fingerprint_matches_what_init_prints(broker_cert: tls.Certificate) -> None:
    with https_server(broker_cert.cert.parent) as url:
        host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
        assert trust.fingerprint(trust.fetch_certificate(host, port)) == broker_cert.fingerprint


def test_system_store_refuses_a_self_signed_broker(broker_cert: tls.Certificate) -> None:
    with https_server(broker_cert.cert.parent) as url, pytest.raises(httpx.ConnectError):
        httpx.get(url, verify=trust.ssl_context(None), timeout=10)


def test_presented_certificate(broker_cert: tls.Certificate) -> None:
    with https_server(broker_cert.cert.parent) as url:
        shown = trust.presented(url)
    assert shown.origin == url
    assert shown.fingerprint == broker_cert.fingerprint
    assert shown.pem == broker_cert.cert.read_text()


def test_a_pin_accepts_that_certificate_and_no_other(
    tmp_path: Path, broker_cert: tls.Certificate
) -> None:
    store = trust.PinStore(tmp_path / "pins.json")
    other = tls.create(tmp_path / "b", ["broker.test"])
    with https_server(broker_cert.cert.parent) as url:
        pin = store.pin(trust.origin(url), pem=broker_cert.cert.read_text())
        assert httpx.get(url, verify=trust.ssl_context(pin), timeout=10).status_code == 200
    with https_server(other.cert.parent) as url2, pytest.raises(httpx.ConnectError):
        httpx.get(url2, verify=trust.ssl_context(pin), timeout=10)


def test_pin_file_is_private_and_survives_reload(
    tmp_path: Path, broker_cert: tls.Certificate
) -> None:
    path = tmp_path / "conf" / "pins.json"
    store = trust.PinStore(path)
    pem = broker_cert.cert.read_text()
    store.pin("https://b.test:8443", pem=pem)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = trust.PinStore(path).get("https://b.test:8443")
    assert loaded is not None
    assert loaded.fingerprint == broker_cert.fingerprint
    store.forget("https://b.test:8443")
    assert trust.PinStore(path).get("https://b.test:8443") is None


def test_damaged_pin_file_trusts_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pins.json"
    path.write_text('{"https://b.test:443": {"fingerprint": 1}}')
    assert trust.PinStore(path).get("https://b.test:443") is None
    assert "no broker is pinned" in caplog.text
    assert path.exists()  # kept for the admin


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://b.example", "https://b.example:443"),
        ("https://b.example:8443/api", "https://b.example:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origin(url: str, expected: str) -> None:
    assert trust.origin(url) == expected
