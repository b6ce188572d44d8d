"""One Rubicon window per user: a second start hands its request to the first.

The first start listens on a local socket (the name from
``core.startup.instance_name``: in ``$XDG_RUNTIME_DIR`` on Linux, a named
pipe on Windows) that only its user may open. A later start connects,
sends one line (``startup.encode``), waits for ``ok`` and exits; the
running window gets ``received(bytes)`` and carries the request out. A
socket left behind by a crashed Rubicon answers nobody, and is taken over.

Where the name is a path (Unix), this is a plain Unix-domain stream socket
driven by a ``QSocketNotifier``, so the window does not load QtNetwork
before its first frame; elsewhere (Windows' named pipes, a bare name) it is
``QLocalServer`` and ``QLocalSocket``. Both speak the same bytes on the same
kind of socket: either end may be either one. Like ``QLocalServer`` with
``UserAccessOption``, the socket is made 0700 in a private folder beside its
path and renamed into place, and closing removes it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractEventDispatcher, QObject, QSocketNotifier, Signal

from launcher.core import log
from launcher.core.startup import MAX_MESSAGE

if TYPE_CHECKING:
    from _socket import socket

    from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACK = b"ok\n"


def _unix_socket(fileno: int | None = None) -> socket:
    """A Unix stream socket (or the one ``fileno`` is), from ``_socket``.

    That is the C module under ``socket``, whose import costs the first frame
    some 3 ms (it makes enums of its constants and loads ``selectors``);
    bind, listen, connect, send and receive need none of it.
    """
    import _socket

    if fileno is not None:
        return _socket.socket(fileno=fileno)
    return _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)


def uses_unix_socket(name: str) -> bool:
    """Whether ``name`` is served with a plain Unix socket (else QtNetwork)."""
    return os.name == "posix" and os.path.isabs(name)


class SingleInstance(QObject):
    received = Signal(bytes)

    def __init__(
        self, name: str, parent: QObject | None = None, *, qt_network: bool | None = None
    ) -> None:
        """``qt_network``: force QtNetwork (True) or the Unix socket (False); None picks."""
        super().__init__(parent)
        self.name = name
        self._unix = not qt_network if qt_network is not None else uses_unix_socket(name)
        self._server: QLocalServer | None = None
        self._listener: socket | None = None
        self._notifier: QSocketNotifier | None = None
        # By connection (id() of a QLocalSocket, a Unix socket's descriptor): what came so far.
        self._buffers: dict[int, bytes] = {}
        self._peers: dict[int, tuple[socket, QSocketNotifier]] = {}

    # -- a second start --------------------------------------------------------

    def forward(self, message: bytes, *, timeout_ms: int = 3000) -> bool:
        """Hand ``message`` to a running Rubicon; False if none answers."""
        if self._unix:
            reply = self._forward_unix(message, timeout_ms)
        else:
            reply = self._forward_qt(message, timeout_ms)
        if reply is None:
            return False
        if reply != ACK:
            log.app.warning("the running Rubicon did not take the request")
            return False
        return True

    def _forward_unix(self, message: bytes, timeout_ms: int) -> bytes | None:
        """The answer; None if nobody listens (no socket, or one left by a crash)."""
        if not os.path.exists(self.name):
            return None
        peer = _unix_socket()
        try:
            peer.settimeout(timeout_ms / 1000)
            try:
                peer.connect(self.name)
            except OSError:
                return None
            reply = b""
            try:
                peer.sendall(message)
                deadline = time.monotonic() + timeout_ms / 1000
                while len(reply) < len(ACK):
                    peer.settimeout(max(0.001, deadline - time.monotonic()))
                    chunk = peer.recv(64)
                    if not chunk:
                        break
                    reply += chunk
            except OSError:  # a timeout is one
                pass
            return reply
        finally:
            peer.close()

    def _forward_qt(self, message: bytes, timeout_ms: int) -> bytes | None:
        from PySide6.QtNetwork import QLocalSocket

        peer = QLocalSocket()
        peer.connectToServer(self.name)
        if not peer.waitForConnected(timeout_ms):
            return None
        peer.write(message)
        peer.flush()  # may write it all at once; then there is nothing to wait for
        if peer.bytesToWrite():
            peer.waitForBytesWritten(timeout_ms)
        reply = b""
        while len(reply) < len(ACK) and peer.waitForReadyRead(timeout_ms):
            reply += bytes(peer.readAll().data())
        peer.disconnectFromServer()
        return reply

    # -- the first start ---------------------------------------------------------

    def listen(self) -> bool:
        """Be the one instance; False if the socket cannot be had."""
        return self._listen_unix() if self._unix else self._listen_qt()

    def _cannot_listen(self, why: str) -> bool:
        log.app.warning("cannot listen on %s (%s): links will open new windows", self.name, why)
        return False

    def _listen_unix(self) -> bool:
        import tempfile

        # Nobody answered forward(): a socket there was left by a Rubicon that
        # died, and the rename below replaces it.
        try:
            folder = tempfile.mkdtemp(prefix=".rubicon-", dir=os.path.dirname(self.name))
        except OSError as e:
            return self._cannot_listen(e.strerror or str(e))
        made = os.path.join(folder, "s")
        listener = _unix_socket()
        try:
            listener.bind(made)
            os.chmod(made, 0o700)
            listener.listen(16)
            os.replace(made, self.name)
        except OSError as e:
            listener.close()
            return self._cannot_listen(e.strerror or str(e))
        finally:
            with contextlib.suppress(OSError):  # gone: renamed into place
                os.remove(made)
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        listener.setblocking(False)
        self._listener = listener
        # Other starts are heard in this thread's event loop (none yet: they wait in
        # the socket's backlog, as with QLocalServer).
        if QAbstractEventDispatcher.instance() is not None:
            self._notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._accept_unix)
        return True

    def _listen_qt(self) -> bool:
        from PySide6.QtNetwork import QLocalServer

        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # Nobody answered forward(): a socket left by a Rubicon that died.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                return self._cannot_listen(server.errorString())
        server.newConnection.connect(self._accept_qt)
        self._server = server
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._listener is not None:
            if self._notifier is not None:
                self._notifier.setEnabled(False)
                self._notifier.deleteLater()
                self._notifier = None
            self._listener.close()
            self._listener = None
            for key in list(self._peers):
                self._drop(key)
            with contextlib.suppress(OSError):
                os.unlink(self.name)  # as QLocalServer.close() does
        self._buffers.clear()

    # -- Unix socket: connections ----------------------------------------------

    def _accept_unix(self) -> None:
        assert self._listener is not None
        while True:
            try:
                # What socket.socket.accept() wraps; the C type has no accept().
                fileno, _ = self._listener._accept()  # type: ignore[attr-defined]
            except OSError:  # BlockingIOError: no more waiting
                return
            peer = _unix_socket(fileno)
            peer.setblocking(False)
            notifier = QSocketNotifier(fileno, QSocketNotifier.Type.Read, self)
            # A method of this object, not a lambda holding it: Qt drops the
            # connection with the object, and no cycle outlives it.
            notifier.activated.connect(self._peer_ready)
            self._peers[fileno] = (peer, notifier)
            self._buffers[fileno] = b""
            self._ready_unix(fileno)

    def _peer_ready(self) -> None:
        notifier = self.sender()
        if isinstance(notifier, QSocketNotifier):
            self._ready_unix(int(notifier.socket()))

    def _ready_unix(self, key: int) -> None:
        """Read what came on connection ``key`` (its file descriptor)."""
        entry = self._peers.get(key)
        if entry is None:
            return
        peer = entry[0]
        try:
            chunk = peer.recv(MAX_MESSAGE + 1)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the other start is gone
            self._drop(key)
            return
        self._take(key, chunk, lambda: self._reply_unix(key), lambda: self._drop(key))

    def _reply_unix(self, key: int) -> None:
        with contextlib.suppress(OSError):  # it did not wait for the answer
            self._peers[key][0].send(ACK)

    def _drop(self, key: int) -> None:
        self._buffers.pop(key, None)
        entry = self._peers.pop(key, None)
        if entry is not None:
            peer, notifier = entry
            notifier.setEnabled(False)
            notifier.deleteLater()
            peer.close()

    # -- QtNetwork: connections ---------------------------------------------------

    def _accept_qt(self) -> None:
        assert self._server is not None
        while (peer := self._server.nextPendingConnection()) is not None:
            self._buffers[id(peer)] = b""
            peer.readyRead.connect(self._ready_qt)
            peer.disconnected.connect(peer.deleteLater)
            if peer.bytesAvailable():
                self._read_qt(peer)

    def _ready_qt(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        peer = self.sender()
        if isinstance(peer, QLocalSocket):
            self._read_qt(peer)

    def _read_qt(self, peer: QLocalSocket) -> None:
        def reply() -> None:
            peer.write(ACK)
            peer.flush()

        self._take(id(peer), bytes(peer.readAll().data()), reply, peer.abort)

    # -- both ------------------------------------------------------------------

    def _take(
        self, key: int, chunk: bytes, reply: Callable[[], None], abort: Callable[[], None]
    ) -> None:
        """Add ``chunk`` to what came on connection ``key``; a whole line is a request."""
        data = self._buffers.get(key, b"") + chunk
        if len(data) > MAX_MESSAGE:
            log.app.warning("a message on %s was too long; dropped", self.name)
            self._buffers.pop(key, None)
            abort()
            return
        if b"\n" not in data:
            self._buffers[key] = data
            return
        self._buffers.pop(key, None)
        line = data.split(b"\n", 1)[0]
        reply()
        self.received.emit(line)
