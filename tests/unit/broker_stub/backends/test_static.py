"""The static backend: fixed hosts, Wake-on-LAN, the admin's commands, consoles."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest

from broker_stub.backends import (
    BackendError,
    Console,
    ConsoleTicket,
    MachineRef,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    answers,
)
from broker_stub.backends.static import StaticBackend, StaticOptions, magic_packet

MAC = "52:54:00:ab:cd:ef"


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, not listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def machine(port: int, mac: str | None = MAC) -> MachineRef:
    return MachineRef(
        pool_id="p", name="pc-1", host="127.0.0.1", ports={"vnc": port}, mac=mac, password="pw"
    )


def static(udp: socket.socket | None = None, **options: object) -> StaticBackend:
    wake = {"wake_address": "127.0.0.1", "wake_port": udp.getsockname()[1]} if udp else {}
    return StaticBackend(StaticOptions.from_json({**wake, **options}))


def test_magic_packet() -> None:
    packet = magic_packet("52-54-00-AB-CD-EF")

    assert len(packet) == 102
    assert packet[:6] == b"\xff" * 6
    assert packet[6:] == bytes([0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF]) * 16
    with pytest.raises(ValueError, match="not a MAC address"):
        magic_packet("52:54:00")


def test_a_machine_without_mac_is_always_on(closed_port: int) -> None:
    assert static().power_on(machine(closed_port, mac=None), "vnc") == Power(running=True)


def test_a_sleeping_machine_gets_a_magic_packet(udp: socket.socket, closed_port: int) -> None:
    power = static(udp).power_on(machine(closed_port), "vnc")

    assert power == Power(running=False, retry_after=5)
    packet, _sender = udp.recvfrom(1024)
    assert packet == magic_packet(MAC)


def test_an_awake_machine_is_left_alone(udp: socket.socket) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert answers("127.0.0.1", port)

        assert static(udp).power_on(machine(port), "vnc") == Power(running=True)

    udp.settimeout(0.2)
    with pytest.raises(TimeoutError):
        udp.recvfrom(1024)


def test_wake_failure_is_a_backend_error(closed_port: int) -> None:
    backend = static(wake_address="256.0.0.1")

    with pytest.raises(BackendError, match="cannot send the Wake-on-LAN packet for pc-1"):
        backend.power_on(machine(closed_port), "vnc")


def test_recycle_and_console_password_need_nothing(closed_port: int) -> None:
    backend = static()
    ref = machine(closed_port)

    backend.recycle(ref, RecycleMode.NONE)
    assert backend.console_password(ref, "vnc") == ConsoleTicket("pw")


@pytest.mark.parametrize("mode", [RecycleMode.POWEROFF, RecycleMode.REVERT, RecycleMode.REBUILD])
def test_fixed_hosts_recycle_only_with_none(closed_port: int, mode: RecycleMode) -> None:
    with pytest.raises(NotSupported, match=f"cannot {mode} and recycle machines"):
        static().recycle(machine(closed_port), mode)


def test_machines_come_from_the_pools_file(closed_port: int) -> None:
    backend = static()

    with pytest.raises(NotSupported, match="list the machines in the pools file"):
        backend.discover()
    with pytest.raises(NotSupported, match="add machines to the pools file"):
        backend.provision("pc-2")
    with pytest.raises(NotSupported, match="remove machines from the pools file"):
        backend.destroy(machine(closed_port))


def test_power_state_is_known_only_with_a_mac(closed_port: int) -> None:
    assert static().power_state(machine(closed_port, mac=None)) == PowerState.UNKNOWN
    assert static().power_state(machine(closed_port)) == PowerState.STOPPED
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert static().power_state(machine(server.getsockname()[1])) == PowerState.RUNNING


def test_console_is_the_listed_address() -> None:
    ref = MachineRef(
        pool_id="p", name="pc-1", host="10.1.2.3", ports={"vnc": 5901, "spice_tls": 5902}
    )
    spice_tls_only = MachineRef(pool_id="p", name="pc-2", host="h", ports={"spice_tls": 5903})

    assert static().console(ref, "vnc") == Console(host="10.1.2.3", port=5901)
    assert static().console(spice_tls_only, "spice") == Console(host="h", port=None, tls_port=5903)
    with pytest.raises(NotSupported, match="pc-1 has no rdp port"):
        static().console(ref, "rdp")


@pytest.mark.parametrize("action", ["reset", "restart"])
def test_without_a_command_the_action_is_not_supported(closed_port: int, action: str) -> None:
    with pytest.raises(NotSupported) as caught:
        getattr(static(), action)(machine(closed_port))

    assert caught.value.action == action
    assert f"no {action}_command" in str(caught.value)


def test_command_timeout(closed_port: int) -> None:
    backend = static(
        reset_command=[sys.executable, "-c", "import time; time.sleep(30)"], command_timeout_s=0.5
    )

    with pytest.raises(BackendError, match=r"ran longer than 0\.5s and was stopped"):
        backend.reset(machine(closed_port))


def test_missing_program(closed_port: int) -> None:
    backend = static(restart_command=["/nonexistent/reboot-it", "{host}"])

    with pytest.raises(
        BackendError, match="cannot run the restart command '/nonexistent/reboot-it'"
    ):
        backend.restart(machine(closed_port))
