"""Backends: the static one (Wake-on-LAN, admin commands) and the per-pool registry."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from broker_stub.backends import (
    BackendError,
    Backends,
    ConsoleTicket,
    MachineRef,
    NotSupported,
    Power,
    make_backend,
)
from broker_stub.backends.static import StaticBackend, StaticOptions, answers, magic_packet

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


def test_recycle_warm_up_and_console_password_need_nothing(closed_port: int) -> None:
    backend = static()
    ref = machine(closed_port)

    backend.recycle(ref)
    backend.warm_up([ref])
    assert backend.console_password(ref, "vnc", timedelta(seconds=60)) == ConsoleTicket("pw")


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


def test_registry_makes_one_backend_per_pool_and_options() -> None:
    backends = Backends()
    options = {"type": "static", "wake_port": 7}

    first = backends.for_pool("p", options)

    assert backends.for_pool("p", dict(options)) is first
    assert backends.for_pool("q", options) is not first
    changed = backends.for_pool("p", {**options, "wake_port": 9})
    assert changed is not first
    assert isinstance(changed, StaticBackend)
    assert changed.options.wake_port == 9


def test_unknown_backend_type() -> None:
    with pytest.raises(BackendError, match="unknown backend type 'libvirt'"):
        make_backend({"type": "libvirt"})
