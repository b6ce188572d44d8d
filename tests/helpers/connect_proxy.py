"""A loopback HTTP CONNECT proxy standing in for Proxmox's spiceproxy.

A SPICE client given ``proxy=http://127.0.0.1:PORT`` in its .vv file sends
``CONNECT <host>:<port> HTTP/1.0`` (or 1.1) and, on ``200``, speaks SPICE
through the tunnel. Proxmox's ``host`` is an opaque name only its proxy
understands (``pvespiceproxy:<ticket>:<vmid>:<node>::<hash>``), so this proxy
knows a few such names, each mapped to a local TCP port, and refuses any
other target as spiceproxy would: ``403`` for a name it does not know,
``502`` when the mapped port does not answer. The port the client asks for
is recorded but not used, as spiceproxy also picks the VM's port itself.

Every request line it saw is kept in ``requests`` (in order), so a test can
check what the client asked for. Everything is bounded: the listener is on
127.0.0.1 only, a client has ``HEADER_TIMEOUT_S`` to send its request, and
``stop()`` (or leaving ``running_proxy``'s ``with`` block) closes the listener and every
tunnel and joins the threads.

    with running_proxy({"pvespiceproxy:abc:100:pve1::f00": spice_port}) as proxy:
        ... proxy.url ...              # "http://127.0.0.1:<port>"
        assert proxy.requests == ["CONNECT pvespiceproxy:abc:100:pve1::f00:61000 HTTP/1.0"]
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator, Mapping

HEADER_TIMEOUT_S = 5.0
MAX_HEADER_BYTES = 16 * 1024
JOIN_TIMEOUT_S = 5.0


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that knows a few opaque target names."""

    def __init__(self, targets: Mapping[str, int]) -> None:
        self.targets = dict(targets)
        self.requests: list[str] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="connect-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ConnectProxy:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._acceptor.join(JOIN_TIMEOUT_S)
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(JOIN_TIMEOUT_S)

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._keep(client)
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(HEADER_TIMEOUT_S)
        try:
            head = _read_head(client)
        except (OSError, ValueError):
            return
        line = head.split("\r\n", 1)[0]
        with self._lock:
            self.requests.append(line)
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "CONNECT" or not parts[2].startswith("HTTP/1."):
            self._answer(client, line, "405 Method Not Allowed")
            return
        # The name may hold colons (Proxmox's does): the port is after the last one.
        name, _, _port = parts[1].rpartition(":")
        local_port = self.targets.get(name)
        if local_port is None:
            self._answer(client, line, "403 Forbidden")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", local_port), timeout=2.0)
        except OSError:
            self._answer(client, line, "502 Bad Gateway")
            return
        self._keep(upstream)
        client.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        _pipe(client, upstream, self._stopping)

    def _answer(self, client: socket.socket, line: str, status: str) -> None:
        with self._lock:
            self.refused.append(line)
        with contextlib.suppress(OSError):
            client.sendall(f"HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n".encode())
        client.close()


@contextlib.contextmanager
def running_proxy(targets: Mapping[str, int]) -> Iterator[ConnectProxy]:
    proxy = ConnectProxy(targets).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _read_head(client: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) + len(chunk) > MAX_HEADER_BYTES:
            raise ValueError("no complete request head")
        data += chunk
    # A client speaks only after the 200, so nothing follows the head yet.
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def _pipe(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the proxy stops."""
    a.settimeout(None)
    b.settimeout(None)
    peer = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ)
        selector.register(b, selectors.EVENT_READ)
        while not stopping.is_set():
            for key, _ in selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    a.close()
                    b.close()
                    return
                try:
                    peer[sock].sendall(data)
                except OSError:
                    a.close()
                    b.close()
                    return
