"""RDP to Hyper-V's VM console: the real xfreerdp, started by the launcher from a
broker's ``vmconnect`` connection, sends the VM's id the way VMConnect wants it.

No Hyper-V here: a loopback listener on the port the broker named stands in
for the host's VMConnect port. It reads what the client sends first and
closes. What xfreerdp 2.11.7 sent, recorded here with this argv
(``/v:127.0.0.1:<port> /vmconnect:<id> /port:<port> ...``): an RDP
preconnection PDU, version 2 ([MS-RDPEPS] 2.2.1.2), whose blob is the id in
UTF-16LE and two NULs (the spec has one; its length counts both), then at once
a TLS ClientHello, with no X.224 security negotiation between (``/vmconnect``
turns it off). It came to the broker's port, not VMConnect's usual 2179:
without ``/port``, 2.11.7 went to 2179 whatever the order of ``/v`` and
``/vmconnect``.

The broker is replayed (tests/helpers/fake_broker), so the connection goes
through the launcher's broker client, plan and supervisor as a real one would.
"""

from __future__ import annotations

import queue
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import Xvfb
from launcher.core.launching import Preferences, open_desktop
from launcher.core.secret import Secret
from launcher.core.supervisor import ClientExit
from tests.helpers.e2e import RDP_PASSWORD, RDP_USER, require_binaries, secrets_absent
from tests.helpers.fake_broker import FakeBroker, desktop

pytestmark = pytest.mark.e2e

VM_ID = "5c5a3f1e-8b0a-4b7e-9a3c-2f1d0e9b7a61"
ACCEPT_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 5.0
# [MS-RDPEPS] RDP_PRECONNECTION_PDU_V2: cbSize, Flags, Version, Id (4 bytes each),
# cchPCB (2 bytes, characters with the NUL), then wszPCB.
HEADER = struct.Struct("<IIIIH")
TLS_HANDSHAKE = 0x16


class FirstBytes:
    """A loopback listener that keeps what its first client sends until a pause, then closes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(ACCEPT_TIMEOUT_S)
        self.port: int = self.listener.getsockname()[1]
        self.data = b""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            self.done.set()
            return
        with client:
            client.settimeout(READ_TIMEOUT_S)
            try:
                # The PDU, then the client's TLS ClientHello: it waits for an answer.
                while len(self.data) < 8192 and not self._past_the_pdu():
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    self.data += chunk
            except TimeoutError:
                pass
        self.done.set()

    def _past_the_pdu(self) -> bool:
        # The PDU starts with its length; one byte more shows what follows it.
        return len(self.data) >= 4 and len(self.data) > int.from_bytes(self.data[:4], "little")

    def close(self) -> None:
        self.listener.close()
        self.thread.join(ACCEPT_TIMEOUT_S)


@pytest.fixture
def vmconnect_port() -> Iterator[FirstBytes]:
    listener = FirstBytes()
    try:
        yield listener
    finally:
        listener.close()


def test_xfreerdp_sends_the_vm_id_as_a_preconnection_pdu_to_the_brokers_port(
    user_screen: Xvfb, vmconnect_port: FirstBytes
) -> None:
    require_binaries("xfreerdp")
    assert vmconnect_port.port != 2179
    broker = FakeBroker(
        desktops=[desktop("hv", "rdp")],
        connections={
            "hv": {
                "protocol": "rdp",
                "host": "127.0.0.1",
                "port": vmconnect_port.port,
                "username": RDP_USER,
                "sso": True,
                "vmconnect": VM_ID,
            }
        },
        users={RDP_USER: RDP_PASSWORD},
    )
    exits: queue.Queue[ClientExit] = queue.Queue()
    with broker.client() as api:
        api.login(username=RDP_USER, password=RDP_PASSWORD)
        [hv] = api.desktops()
        opened = open_desktop(
            api,
            hv,
            on_exit=exits.put,
            preferences=Preferences(),
            sso=Secret(RDP_PASSWORD),
            platform="linux",
        )
        try:
            assert vmconnect_port.done.wait(ACCEPT_TIMEOUT_S + READ_TIMEOUT_S), "nothing came"
            cmdline = Path(f"/proc/{opened.client.pid}/cmdline").read_bytes().split(b"\0")
            secrets_absent(opened.client.pid, RDP_PASSWORD)
        finally:
            opened.client.stop()
    exits.get(timeout=15)

    assert cmdline[1:4] == [
        f"/v:127.0.0.1:{vmconnect_port.port}".encode(),
        f"/vmconnect:{VM_ID}".encode(),
        f"/port:{vmconnect_port.port}".encode(),
    ]
    data = vmconnect_port.data
    size, flags, version, pdu_id, chars = HEADER.unpack_from(data)
    assert (flags, version, pdu_id) == (0, 2, 0)
    assert size == HEADER.size + 2 * chars
    blob = data[HEADER.size : size].decode("utf-16-le")
    # The id, then NULs: 2.11.7 counted and sent two where [MS-RDPEPS] has one.
    assert blob.rstrip("\0") == VM_ID
    assert chars - len(VM_ID) in (1, 2)
    # Straight into TLS: no X.224 negotiation (a TPKT would start with 3).
    assert data[size] == TLS_HANDSHAKE
