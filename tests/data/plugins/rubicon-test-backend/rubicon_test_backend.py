"""A test bed for Rubicon's backend plug-ins.

[pools.backend]
type = "testbed"
host = "127.0.0.1"
machines = { bed-1 = 5901, bed-2 = 5902 }   # name = console port (VNC)
hang_file = "/tmp/hang"                      # while this file exists, every call waits
call_timeout = 2.0                           # seconds the broker waits for a call

Machines are found ("discovered") from the table; they are always running and
have the fixed console password "testbed".
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from broker_stub.backends import (
    BackendKind,
    Console,
    ConsoleTicket,
    MachineMissing,
    MachineRef,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
)


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(table) - {"host", "machines", "hang_file", "call_timeout"}
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    machines = table.get("machines", {})
    if not isinstance(machines, dict) or not all(isinstance(p, int) for p in machines.values()):
        raise ValueError("machines: a table of name = port")
    return {
        "host": str(table.get("host", "127.0.0.1")),
        "machines": dict(machines),
        "hang_file": table.get("hang_file"),
        "call_timeout": float(table.get("call_timeout", 5.0)),
    }


class TestBed:
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.host = options["host"]
        self.machines: dict[str, int] = dict(options["machines"])
        self.hang_file = options["hang_file"]
        timeout = options["call_timeout"]
        calls = ("check", "discover", "power_state", "power_on", "reset", "restart", "recycle")
        self.timeouts = dict.fromkeys((*calls, "console", "console_password"), timeout)

    def _wait(self) -> None:
        while self.hang_file and os.path.exists(self.hang_file):
            time.sleep(0.05)

    def _port(self, machine: MachineRef) -> int:
        self._wait()
        if machine.name not in self.machines:
            raise MachineMissing(f"the test bed has no machine {machine.name!r}")
        return self.machines[machine.name]

    def check(self) -> None:
        self._wait()

    def discover(self) -> Mapping[str, PowerState]:
        self._wait()
        return dict.fromkeys(self.machines, PowerState.RUNNING)

    def power_state(self, machine: MachineRef) -> PowerState:
        self._port(machine)
        return PowerState.RUNNING

    def power_on(self, machine: MachineRef, protocol: str) -> Power:
        self._port(machine)
        return Power(running=True)

    def power_off(self, machine: MachineRef) -> None:
        raise NotSupported("power off", "testbed", "test bed machines are always on")

    def reset(self, machine: MachineRef) -> None:
        self._port(machine)

    def restart(self, machine: MachineRef) -> None:
        self._port(machine)

    def recycle(self, machine: MachineRef, mode: RecycleMode) -> None:
        self._port(machine)

    def provision(self, name: str) -> None:
        raise NotSupported("make", "testbed", "list machines in the table")

    def destroy(self, machine: MachineRef) -> None:
        raise NotSupported("delete", "testbed", "list machines in the table")

    def console(self, machine: MachineRef, protocol: str) -> Console:
        return Console(host=self.host, port=self._port(machine))

    def console_password(self, machine: MachineRef, protocol: str) -> ConsoleTicket:
        self._port(machine)
        return ConsoleTicket(password="testbed")

    def close(self) -> None:
        return None


KIND = BackendKind(
    name="testbed",
    options=_options,
    create=lambda options, _context: TestBed(options),
    recycle_modes=frozenset({RecycleMode.NONE, RecycleMode.REVERT}),
    discovers=True,
)
