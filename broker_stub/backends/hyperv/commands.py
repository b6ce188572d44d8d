"""What the backend asks of Hyper-V, as data: statements of cmdlets and typed parameters.

Nothing here builds PowerShell source. A `Statement` is one pipeline of
`Command`s; each parameter value travels to the host as a typed, serialized
object (pypsrp's `add_cmdlet`/`add_parameter`), so a machine name full of
quotes, semicolons or `$(...)` is only ever a string. `render` writes the same
statements as readable PowerShell for logs, docs and the recorded exchanges,
with single-quoted strings escaped as PowerShell reads them (it takes the
typographic quotes U+2018-U+201B for quotes too).

Cmdlets whose `-Name` takes wildcards (Get-VM, Get-VMCheckpoint) get names
through `exact`, which escapes `*`, `?`, `[`, `]` and the backtick.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Value = str | int | bool | None
_WORD = re.compile(r"[A-Za-z]+(-[A-Za-z]+)?")
# PowerShell reads each of these as a single quote; inside quotes, two make one.
_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"

VM_PROPERTIES = ("Name", "Id", "State", "Notes")
TEMPLATE_PROPERTIES = ("Name", "Id", "Generation", "MemoryStartup", "ProcessorCount")


@dataclass(frozen=True)
class Command:
    """One cmdlet with its parameters, in order. A value of True is a switch
    (`-Force`), False a switch turned off (`-Confirm:$false`)."""

    cmdlet: str
    parameters: tuple[tuple[str, Value | tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        # Both are our constants; a check keeps them from ever becoming anything else.
        assert _WORD.fullmatch(self.cmdlet), self.cmdlet
        for name, _ in self.parameters:
            assert _WORD.fullmatch(name), name
            assert "-" not in name, name


Statement = tuple[Command, ...]


def cmd(cmdlet: str, *parameters: tuple[str, Value | tuple[str, ...]]) -> Command:
    return Command(cmdlet, tuple(parameters))


def exact(name: str) -> str:
    """`name` as a wildcard pattern that matches only itself (WildcardPattern.Escape)."""
    return re.sub(r"([`*?\[\]])", r"`\1", name)


def quote(text: str) -> str:
    """`text` as a PowerShell single-quoted string: nothing in it is expanded."""
    return "'" + "".join(c + c if c in _SINGLE_QUOTES else c for c in text) + "'"


def render(statements: Sequence[Statement]) -> str:
    """The statements as PowerShell, one per line."""
    return "\n".join(" | ".join(_command(c) for c in statement) for statement in statements)


def _command(command: Command) -> str:
    parts = [command.cmdlet]
    for name, value in command.parameters:
        if value is True:
            parts.append(f"-{name}")
        elif value is False:
            parts.append(f"-{name}:$false")
        elif value is None:
            parts.append(f"-{name} $null")
        else:
            parts.append(f"-{name} {_value(value)}")
    return " ".join(parts)


def _value(value: str | int | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        return ", ".join(quote(v) for v in value)
    if isinstance(value, int):
        return str(value)
    return quote(value)


def _select(*properties: str) -> Command:
    return cmd("Select-Object", ("Property", properties))


def _vm(vm_id: str) -> Command:
    return cmd("Get-VM", ("Id", vm_id))


# The calls


def host() -> list[Statement]:
    """Reach the host; fails without the Hyper-V module or the rights to use it."""
    return [(cmd("Get-VMHost"), _select("Name"))]


def list_vms() -> list[Statement]:
    return [(cmd("Get-VM"), _select(*VM_PROPERTIES))]


def find_vm(name: str) -> list[Statement]:
    return [(cmd("Get-VM", ("Name", exact(name))), _select(*VM_PROPERTIES))]


def start(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Start-VM"))]


def resume(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Resume-VM"))]


def shut_down(vm_id: str) -> list[Statement]:
    """Orderly, through the guest's shutdown integration service."""
    return [(_vm(vm_id), cmd("Stop-VM", ("Force", True)))]


def turn_off(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Stop-VM", ("TurnOff", True), ("Force", True)))]


def reset(vm_id: str) -> list[Statement]:
    """Restart-VM is a hard reset, like the reset button."""
    return [(_vm(vm_id), cmd("Restart-VM", ("Force", True)))]


def addresses(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Get-VMNetworkAdapter"), _select("SwitchName", "IPAddresses"))]


def checkpoints(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Get-VMCheckpoint"), _select("Name", "Id", "CreationTime"))]


def restore(vm_id: str, checkpoint: str) -> list[Statement]:
    return [
        (
            _vm(vm_id),
            cmd("Get-VMCheckpoint", ("Name", exact(checkpoint))),
            cmd("Restore-VMCheckpoint", ("Confirm", False)),
        )
    ]


def template(name: str) -> list[Statement]:
    return [(cmd("Get-VM", ("Name", exact(name))), _select(*TEMPLATE_PROPERTIES))]


def disks(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Get-VMHardDiskDrive"), _select("Path"))]


def new_disk(path: str, parent: str) -> list[Statement]:
    return [
        (
            cmd("New-VHD", ("Path", path), ("ParentPath", parent), ("Differencing", True)),
            _select("Path"),
        )
    ]


def new_vm(
    name: str,
    *,
    generation: int,
    memory: int,
    processors: int,
    disk: str,
    switch: str | None,
    notes: str,
) -> list[Statement]:
    create = cmd(
        "New-VM",
        ("Name", name),  # a new VM's name is no pattern
        ("Generation", generation),
        ("MemoryStartupBytes", memory),
        ("VHDPath", disk),
        *((("SwitchName", switch),) if switch else ()),
    )
    mark = cmd("Set-VM", ("ProcessorCount", processors), ("Notes", notes), ("Passthru", True))
    return [(create, mark, _select(*VM_PROPERTIES))]


def remove_vm(vm_id: str) -> list[Statement]:
    return [(_vm(vm_id), cmd("Remove-VM", ("Force", True)))]


def file_exists(path: str) -> list[Statement]:
    return [(cmd("Test-Path", ("LiteralPath", path)),)]


def remove_file(path: str) -> list[Statement]:
    return [(cmd("Remove-Item", ("LiteralPath", path), ("Force", True)),)]
