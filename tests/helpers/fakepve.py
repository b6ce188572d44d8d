"""fakepve (a Proxmox VE API simulator) on loopback for the Proxmox backend's tests.

fakepve 0.5.0 serves the API over TLS in this process, on an event loop of
its own (fakepve's own `_Serving`), and stops through its own shutdown. It
does not model `spiceproxy` (it answers the schema's placeholders, "fake"),
so `RubiconPve` adds that route the way fakepve's stateful areas are added
(a `_routes_*` table) and answers with the shape recorded in
tests/data/proxmox/spiceproxy.json, with a fresh ticket per request.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakepve.certs import make_cert
from fakepve.model import PveError
from fakepve.pytest_plugin import _Serving
from fakepve.server import FakePve

RECORDED = Path(__file__).parents[1] / "data" / "proxmox" / "spiceproxy.json"
TOKEN_ID = "rubicon@pve!broker"
# The token's secret: a test value, in a 0600 file the test writes.
TOKEN_SECRET = "5f3c2b1a-0d9e-4c8b-a7f6-e5d4c3b2a190"
SPICE_TLS_PORT = 61000
CLOSE_SETTLE_S = 0.1


def recorded_answer() -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(RECORDED.read_text())["data"]
    return answer


class RubiconPve(FakePve):  # type: ignore[misc]
    """FakePve with spiceproxy answered in PVE's shape; what it issued is kept."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0)
        self.apitokens[TOKEN_ID] = TOKEN_SECRET
        # vmid -> the SPICE password of the last ticket; (vmid, proxy) of each request.
        self.spice_passwords: dict[int, str] = {}
        self.spice_requests: list[tuple[int, str | None]] = []
        # What the answers' ca, host-subject and tls-port say (a test may point them at a
        # real SPICE server).
        self.spice_ca: str = recorded_answer()["ca"]
        self.spice_subject: str = recorded_answer()["host-subject"]
        self.spice_port = SPICE_TLS_PORT
        # A test with a real SPICE server: its proxy's URL (a stand-in cannot own PVE's
        # port 3128), the server's fixed password (QEMU would take set_password), and
        # a call told each ticket's host, as PVE's proxy knows its own tickets.
        self.spice_proxy_url: str | None = None
        self.spice_password: str | None = None
        self.on_spice_ticket: Callable[[str], None] | None = None

    def _routes_spice(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/nodes/{node}/qemu/{vmid}/spiceproxy", self._spiceproxy)]

    async def _spiceproxy(self, values: dict[str, Any], user: str) -> dict[str, Any]:
        # fakepve checked VM.Console from the schema before this runs.
        vm = self.find(values["node"], values["vmid"])
        if vm.status != "running":
            # QEMU is not there to take set_password: mon_cmd's error.
            raise PveError(500, f"VM {vm.vmid} qmp command 'set_password' failed - VM not running")
        proxy = values.get("proxy")
        self.spice_requests.append((vm.vmid, proxy))
        stamp = f"{int(time.time()):08x}"
        password = self.spice_password or secrets.token_hex(20)  # 40 hex digits, as sha1_hex
        signature = secrets.token_hex(20)  # 40 hex digits, as sha1_hex
        self.spice_passwords[vm.vmid] = password
        host = f"pvespiceproxy:{stamp}:{vm.vmid}:{vm.node}::{signature}"
        if self.on_spice_ticket is not None:
            self.on_spice_ticket(host)
        answer = recorded_answer() | {
            "title": f"VM {vm.vmid} - {vm.name}",
            "host": host,
            "proxy": self.spice_proxy_url or f"http://{proxy or vm.node}:3128",
            "tls-port": self.spice_port,
            "host-subject": self.spice_subject,
            "ca": self.spice_ca,
            "password": password,
        }
        return answer


async def _close_leftovers() -> None:
    """Close the TLS connections aiohttp's cleanup leaves open once their client went
    away without TLS's close_notify (requests closing its pool): else they are
    collected unclosed, a ResourceWarning in some later test."""
    loop: Any = asyncio.get_running_loop()
    for transport in list(loop._transports.values()):
        if transport is not None and not transport.is_closing():
            transport.close()
    await asyncio.sleep(CLOSE_SETTLE_S)  # their connection_lost runs on the next turns


@dataclass
class Served:
    """A RubiconPve listening on 127.0.0.1; it can stop listening and come back."""

    pve: RubiconPve
    cafile: str
    der: bytes
    _serving: Any
    _pki: tuple[str, str]

    @property
    def url(self) -> str:
        return str(self.pve.url)

    def stop_listening(self) -> None:
        self._serving._call(self.pve.stop())

    def listen_again(self) -> None:
        self._serving._call(self.pve.start(*self._pki))

    def close(self) -> None:
        try:
            self._serving._call(self.pve.stop())
            self._serving._call(_close_leftovers())
        finally:
            self._serving._halt()


@pytest.fixture(scope="session")
def fakepve_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, bytes]:
    cert, key, der = make_cert(str(tmp_path_factory.mktemp("pve-pki")), hosts=("127.0.0.1",))
    return cert, key, der


@pytest.fixture
def served_pve(fakepve_pki: tuple[str, str, bytes]) -> Iterator[Served]:
    """A RubiconPve for one test; tasks end before their request returns (time_scale 0)."""
    cert, key, der = fakepve_pki
    pve = RubiconPve()
    pve.time_scale = 0
    served = Served(
        pve=pve, cafile=cert, der=der, _serving=_Serving(pve, cert, key), _pki=(cert, key)
    )
    try:
        yield served
    finally:
        served.close()
