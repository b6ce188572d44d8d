"""The CONNECT proxy helper: tunnels to the port a known name maps to, refuses the rest."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.helpers.connect_proxy import ConnectProxy, running_proxy

NAME = "pvespiceproxy:5f0a:100:pve1::9c1e"


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback server that answers each connection's first bytes with them, upper-cased."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            conn.sendall(conn.recv(100).upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() nobody came to
    listener.close()
    thread.join(5)


def ask(proxy: ConnectProxy, target: str) -> tuple[bytes, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(f"CONNECT {target} HTTP/1.0\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head, sock


def test_a_known_name_is_tunnelled_to_its_port(echo_port: int) -> None:
    with running_proxy({NAME: echo_port}) as proxy:
        head, sock = ask(proxy, f"{NAME}:61000")
        with sock:
            assert head.startswith(b"HTTP/1.0 200")
            sock.sendall(b"spice")
            assert sock.recv(100) == b"SPICE"
    assert proxy.requests == [f"CONNECT {NAME}:61000 HTTP/1.0"]
    assert proxy.refused == []


def test_an_unknown_name_is_forbidden(echo_port: int) -> None:
    with running_proxy({NAME: echo_port}) as proxy:
        head, sock = ask(proxy, "127.0.0.1:22")
        sock.close()
    assert head.startswith(b"HTTP/1.0 403")
    assert proxy.refused == ["CONNECT 127.0.0.1:22 HTTP/1.0"]


def test_a_name_whose_port_is_closed_is_a_bad_gateway() -> None:
    with socket.create_server(("127.0.0.1", 0)) as spare:
        closed = spare.getsockname()[1]
    with running_proxy({NAME: closed}) as proxy:
        head, sock = ask(proxy, f"{NAME}:61000")
        sock.close()
    assert head.startswith(b"HTTP/1.0 502")


def test_a_request_that_is_not_connect_is_refused(echo_port: int) -> None:
    with running_proxy({NAME: echo_port}) as proxy:
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.0 405")
