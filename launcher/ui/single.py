"""One Rubicon window per user: a second start hands its request to the first.

The first start listens on a local socket (``QLocalServer``; the name from
``core.startup.instance_name``: in ``$XDG_RUNTIME_DIR`` on Linux, a named
pipe on Windows) that only its user may open. A later start connects,
sends one line (``startup.encode``), waits for ``ok`` and exits; the
running window gets ``received(bytes)`` and carries the request out. A
socket left behind by a crashed Rubicon answers nobody, and is taken over.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from launcher.core import log
from launcher.core.startup import MAX_MESSAGE

ACK = b"ok\n"


class SingleInstance(QObject):
    received = Signal(bytes)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None
        self._buffers: dict[int, bytes] = {}  # by id() of the socket: what came so far

    def forward(self, message: bytes, *, timeout_ms: int = 3000) -> bool:
        """Hand ``message`` to a running Rubicon; False if none answers."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(message)
        socket.flush()  # may write it all at once; then there is nothing to wait for
        if socket.bytesToWrite():
            socket.waitForBytesWritten(timeout_ms)
        reply = b""
        while len(reply) < len(ACK) and socket.waitForReadyRead(timeout_ms):
            reply += bytes(socket.readAll().data())
        socket.disconnectFromServer()
        if reply != ACK:
            log.app.warning("the running Rubicon did not take the request")
            return False
        return True

    def listen(self) -> bool:
        """Be the one instance; False if the socket cannot be had."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # Nobody answered forward(): a socket left by a Rubicon that died.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.app.warning(
                    "cannot listen on %s (%s): links will open new windows",
                    self.name,
                    server.errorString(),
                )
                return False
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._buffers.clear()

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[id(socket)] = b""
            socket.readyRead.connect(self._ready)
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    def _ready(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        key = id(socket)
        data = self._buffers.get(key, b"") + bytes(socket.readAll().data())
        if len(data) > MAX_MESSAGE:
            log.app.warning("a message on %s was too long; dropped", self.name)
            self._buffers.pop(key, None)
            socket.abort()
            return
        if b"\n" not in data:
            self._buffers[key] = data
            return
        self._buffers.pop(key, None)
        line = data.split(b"\n", 1)[0]
        socket.write(ACK)
        socket.flush()
        self.received.emit(line)
