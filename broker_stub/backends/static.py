"""Fixed hosts: machines that are simply there (PCs, VMs made by hand).

The pools file (or an admin) lists the machines; recycling does nothing, so a
machine goes straight back to ready. A machine with a MAC address may be
asleep: power_on probes the protocol's port and, if nothing answers, sends a
Wake-on-LAN magic packet and says "starting". Reset and restart run the
admin's commands from the pools file, if any; without one they are not
supported.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from broker_stub import log
from broker_stub.backends.base import (
    BackendError,
    BackendKind,
    Console,
    ConsoleTicket,
    Context,
    MachineRef,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    answers,
)
from broker_stub.values.fields import Command, Duration, NonEmpty, Port, StrictModel

# How long a launcher waits before it asks again about a machine being woken.
WAKE_RETRY_AFTER_S = 5
_OUTPUT_IN_ERROR = 200  # characters of a failed command's output kept for the log


class StaticBackendConfig(StrictModel):
    """The pools file's [pools.backend] table for fixed hosts."""

    type: Literal["static"] = "static"
    wake_address: NonEmpty = "255.255.255.255"
    wake_port: Port = 9
    reset_command: Command | None = None
    restart_command: Command | None = None
    command_timeout: Duration = timedelta(seconds=30)

    def options(self) -> dict[str, Any]:
        """The options as plain JSON, as they are stored with the pool."""
        return {
            "type": self.type,
            "wake_address": self.wake_address,
            "wake_port": self.wake_port,
            "reset_command": self.reset_command,
            "restart_command": self.restart_command,
            "command_timeout_s": int(self.command_timeout.total_seconds()),
        }


@dataclass(frozen=True)
class StaticOptions:
    wake_address: str = "255.255.255.255"
    wake_port: int = 9
    reset_command: tuple[str, ...] | None = None
    restart_command: tuple[str, ...] | None = None
    command_timeout_s: float = 30.0

    @classmethod
    def from_json(cls, options: Mapping[str, Any]) -> StaticOptions:
        def command(key: str) -> tuple[str, ...] | None:
            value = options.get(key)
            return tuple(str(arg) for arg in value) if value else None

        return cls(
            wake_address=str(options.get("wake_address", cls.wake_address)),
            wake_port=int(options.get("wake_port", cls.wake_port)),
            reset_command=command("reset_command"),
            restart_command=command("restart_command"),
            command_timeout_s=float(options.get("command_timeout_s", cls.command_timeout_s)),
        )


def magic_packet(mac: str) -> bytes:
    """Six 0xFF bytes, then the MAC address 16 times."""
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return b"\xff" * 6 + raw * 16


def send_magic_packet(mac: str, address: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.sendto(magic_packet(mac), (address, port))


class StaticBackend:
    name = "static"
    # Answered from the pools file alone: no thread of their own needed (backends/calls.py).
    _FROM_THE_FILE = frozenset({"check", "console", "console_password"})

    def runs_inline(self, call: str, machine: MachineRef | None) -> bool:
        """True for the calls the pools file answers: all but a power-on that
        may probe the host and send it a Wake-on-LAN packet (it has a MAC)."""
        if call == "power_on":
            return machine is not None and machine.mac is None
        return call in self._FROM_THE_FILE

    def __init__(self, options: StaticOptions) -> None:
        self.options = options

    def check(self) -> None:
        return None  # no hypervisor: each machine answers for itself

    def discover(self) -> Mapping[str, PowerState]:
        raise NotSupported("find", self.name, "list the machines in the pools file")

    def power_state(self, machine: MachineRef) -> PowerState:
        if machine.mac is None:
            return PowerState.UNKNOWN
        return PowerState.RUNNING if self._answers(machine) else PowerState.STOPPED

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        if machine.mac is None:
            return Power(running=True)
        port = machine.ports.get(protocol)
        if port is not None and answers(machine.host, port):
            return Power(running=True)
        try:
            send_magic_packet(machine.mac, self.options.wake_address, self.options.wake_port)
        except OSError as exc:
            raise BackendError(
                f"cannot send the Wake-on-LAN packet for {machine.name} to "
                f"{self.options.wake_address}:{self.options.wake_port}: {exc.strerror or exc}"
            ) from None
        log.backend.info("woke machine %s (%s)", machine.name, machine.mac)
        return Power(running=False, retry_after=WAKE_RETRY_AFTER_S)

    def power_off(self, machine: MachineRef) -> None:
        raise NotSupported("power off", self.name, "fixed hosts power themselves off")

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        if mode != RecycleMode.NONE:
            raise NotSupported(f"{mode} and recycle", self.name, 'use recycle = "none"')
        # Nothing to undo on a fixed host: the user's own logoff cleaned it up.

    def reset(self, machine: MachineRef) -> None:
        self._run("reset", self.options.reset_command, machine)

    def restart(self, machine: MachineRef) -> None:
        self._run("restart", self.options.restart_command, machine)

    def provision(self, name: str) -> None:
        raise NotSupported("make", self.name, "add machines to the pools file instead")

    def destroy(self, machine: MachineRef) -> None:
        raise NotSupported("delete", self.name, "remove machines from the pools file instead")

    def console(self, machine: MachineRef, protocol: str) -> Console:
        tls_port = machine.ports.get("spice_tls") if protocol == "spice" else None
        port = machine.ports.get(protocol)
        if port is None and tls_port is None:
            raise NotSupported(
                f"reach {protocol} on", self.name, f"{machine.name} has no {protocol} port"
            )
        return Console(host=machine.host, port=port, tls_port=tls_port)

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        # A fixed host has a fixed password; it cannot be made one-time.
        return ConsoleTicket(password=machine.password, expires_at=None)

    def close(self) -> None:
        return None

    def _answers(self, machine: MachineRef) -> bool:
        return any(answers(machine.host, port) for port in machine.ports.values())

    def _run(self, action: str, template: tuple[str, ...] | None, machine: MachineRef) -> None:
        if template is None:
            raise NotSupported(
                action,
                self.name,
                f"the pools file gives this pool no {action}_command",
            )
        values = {"name": machine.name, "host": machine.host, "mac": machine.mac or ""}
        argv = [arg.format(**values) for arg in template]
        log.backend.info("%s %s: running %s", action, machine.name, argv[0])
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.options.command_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BackendError(
                f"the {action} command for {machine.name} ran longer than "
                f"{self.options.command_timeout_s:g}s and was stopped"
            ) from None
        except OSError as exc:
            raise BackendError(
                f"cannot run the {action} command {argv[0]!r} for {machine.name}: "
                f"{exc.strerror or exc}"
            ) from None
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()[-_OUTPUT_IN_ERROR:]
            raise BackendError(
                f"the {action} command for {machine.name} failed with exit status "
                f"{done.returncode}: {output or '(no output)'}"
            )


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    return StaticBackendConfig.model_validate({**table, "type": "static"}).options()


def _create(options: Mapping[str, Any], _context: Context) -> StaticBackend:
    return StaticBackend(StaticOptions.from_json(options))


KIND = BackendKind(name="static", options=_options, create=_create)
