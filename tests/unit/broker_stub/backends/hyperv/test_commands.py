"""The statements the backend sends, exactly, as data and as the PowerShell they render;
machine names that try to break out stay one string value both ways.

`on_the_wire` serializes the statements the way the real runner hands them to
pypsrp (add_statements on a pypsrp PowerShell), with pypsrp's own Serializer,
into the [MS-PSRP] pipeline object a host receives, and reads it back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from pypsrp.complex_objects import Pipeline
from pypsrp.powershell import PowerShell
from pypsrp.serializer import Serializer

from broker_stub.backends.hyperv import commands
from broker_stub.backends.hyperv.commands import Command, Statement, cmd, exact, quote, render
from broker_stub.backends.hyperv.runner import add_statements

VM_ID = "6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51"
SELECT_VM = cmd("Select-Object", ("Property", ("Name", "Id", "State", "Notes")))
ATTACKS = [
    "x'; Remove-VM * -Force; '",
    "x$(Stop-Computer -Force)",
    "x`; Remove-VM *",
    'x"; Remove-VM *; "',
    "x\nRemove-VM * -Force",
    "x\u2019; Remove-VM *; \u2018",  # typographic quotes, which PowerShell takes as '
    "x\u201a\u201b; Remove-VM *",
    "x | Remove-VM",
    "x @(1) & {Remove-VM *}",
]


class _Pool:
    protocol_version = "2.3"


def on_the_wire(statements: list[Statement]) -> list[dict[str, Any]]:
    """What the host would receive: each command's name, IsScript, arguments (name,
    CLIXML tag, text) and end of statement, read from the serialized pipeline."""
    shell = add_statements(PowerShell(_Pool()), statements)  # type: ignore[arg-type]
    pipeline = Pipeline(
        is_nested=False, cmds=shell.commands, history=None, redirect_err_to_out=False
    )
    root = Serializer().serialize(pipeline)
    commands_sent = []
    for index, element in enumerate(root.find("MS/Obj[@N='Cmds']/LST") or []):
        arguments = []
        for argument in element.find("MS/Obj[@N='Args']/LST") or []:
            value = argument.find("MS/*[@N='V']")
            assert value is not None
            items = [(item.tag, item.text) for item in value.iter() if item.tag in ("S", "I32")]
            # Strings as PowerShell reads them (pypsrp writes control characters as _xHHHH_).
            text = Serializer().deserialize(value) if value.tag == "S" else value.text
            arguments.append(
                (
                    argument.findtext("MS/S[@N='N']"),
                    value.tag,
                    items if value.tag == "Obj" else text,
                )
            )
        commands_sent.append(
            {
                "cmd": element.findtext("MS/S[@N='Cmd']"),
                "script": element.findtext("MS/B[@N='IsScript']"),
                "args": arguments,
                "end": shell.commands[index].end_of_statement,
            }
        )
    ET.tostring(root)  # it serializes whole
    return commands_sent


def test_each_call_is_these_statements() -> None:
    assert commands.find_vm("lab-1") == [(cmd("Get-VM", ("Name", "lab-1")), SELECT_VM)]
    assert commands.list_vms() == [(cmd("Get-VM"), SELECT_VM)]
    assert commands.turn_off(VM_ID) == [
        (cmd("Get-VM", ("Id", VM_ID)), cmd("Stop-VM", ("TurnOff", True), ("Force", True)))
    ]
    assert commands.restore(VM_ID, "clean") == [
        (
            cmd("Get-VM", ("Id", VM_ID)),
            cmd("Get-VMCheckpoint", ("Name", "clean")),
            cmd("Restore-VMCheckpoint", ("Confirm", False)),
        )
    ]
    assert commands.new_vm(
        "vdi-001",
        generation=2,
        memory=4 << 30,
        processors=2,
        disk="D:\\Rubicon\\vdi\\vdi-001.vhdx",
        switch="LAN",
        notes="rubicon-pool:vdi",
    ) == [
        (
            cmd(
                "New-VM",
                ("Name", "vdi-001"),
                ("Generation", 2),
                ("MemoryStartupBytes", 4294967296),
                ("VHDPath", "D:\\Rubicon\\vdi\\vdi-001.vhdx"),
                ("SwitchName", "LAN"),
            ),
            cmd("Set-VM", ("ProcessorCount", 2), ("Notes", "rubicon-pool:vdi"), ("Passthru", True)),
            SELECT_VM,
        )
    ]


def test_the_rendering_is_the_powershell_an_admin_would_type() -> None:
    assert render(commands.find_vm("lab-1")) == (
        "Get-VM -Name 'lab-1' | Select-Object -Property 'Name', 'Id', 'State', 'Notes'"
    )
    assert render(commands.restore(VM_ID, "it's")) == (
        f"Get-VM -Id '{VM_ID}' | Get-VMCheckpoint -Name 'it''s' | "
        "Restore-VMCheckpoint -Confirm:$false"
    )
    assert render(commands.new_disk("D:\\x\\a.vhdx", "D:\\g.vhdx")) == (
        "New-VHD -Path 'D:\\x\\a.vhdx' -ParentPath 'D:\\g.vhdx' -Differencing"
        " | Select-Object -Property 'Path'"
    )
    two = [*commands.start(VM_ID), *commands.reset(VM_ID)]
    assert render(two).splitlines() == [
        f"Get-VM -Id '{VM_ID}' | Start-VM",
        f"Get-VM -Id '{VM_ID}' | Restart-VM -Force",
    ]


def test_get_vm_gets_exact_names_not_patterns() -> None:
    assert exact("lab-[1]*?`") == "lab-`[1`]`*`?``"
    assert exact("plain-name") == "plain-name"
    [(get, _)] = commands.find_vm("lab[1]")
    assert get.parameters == (("Name", "lab`[1`]"),)
    # New-VM takes the name as it is: it is no pattern there.
    [(new, *_)] = commands.new_vm(
        "a[1]", generation=1, memory=1, processors=1, disk="d", switch=None, notes="n"
    )
    assert new.parameters[0] == ("Name", "a[1]")
    assert "SwitchName" not in dict(new.parameters)


@pytest.mark.parametrize("name", ATTACKS)
def test_a_hostile_machine_name_stays_one_string_value(name: str) -> None:
    statements = commands.find_vm(name)
    [(get, select)] = statements
    assert get == Command("Get-VM", (("Name", exact(name)),))
    assert select == SELECT_VM
    # In the rendering: one single-quoted token in which every quote is doubled.
    text = render(statements)
    prefix, suffix = "Get-VM -Name ", " | Select-Object -Property 'Name', 'Id', 'State', 'Notes'"
    assert text.startswith(prefix)
    assert text.endswith(suffix)
    token = text.removeprefix(prefix).removesuffix(suffix)
    assert token == quote(exact(name))
    assert _unquote(token) == exact(name)
    # On the wire: two commands, neither a script, and the name one <S> value.
    sent = on_the_wire(statements)
    assert [(c["cmd"], c["script"]) for c in sent] == [
        ("Get-VM", "false"),
        ("Select-Object", "false"),
    ]
    assert sent[0]["args"] == [("Name", "S", exact(name))]


def _unquote(token: str) -> str:
    """Read a single-quoted PowerShell string as PowerShell's tokenizer does."""
    quotes = "'\u2018\u2019\u201a\u201b"
    assert token[0] in quotes
    assert token[-1] in quotes
    body, out, index = token[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char in quotes:
            # Inside, a quote only ever comes as a pair: one alone would end the string.
            assert index + 1 < len(body), token
            assert body[index + 1] in quotes, token
            index += 1
        out.append(char)
        index += 1
    return "".join(out)


def test_quoting_doubles_every_kind_of_single_quote() -> None:
    assert quote("a'b\u2018c\u2019d\u201ae\u201bf") == (
        "'a''b\u2018\u2018c\u2019\u2019d\u201a\u201ae\u201b\u201bf'"
    )
    assert quote('$(x) "y" `z') == "'$(x) \"y\" `z'"  # nothing else is special in '...'


def test_parameters_go_out_typed_and_switches_without_a_value() -> None:
    sent = on_the_wire(
        commands.new_vm(
            "vdi-001",
            generation=2,
            memory=4096,
            processors=2,
            disk="d.vhdx",
            switch=None,
            notes="n",
        )
    ) + on_the_wire(commands.restore(VM_ID, "clean"))
    assert [c["cmd"] for c in sent] == [
        "New-VM",
        "Set-VM",
        "Select-Object",
        "Get-VM",
        "Get-VMCheckpoint",
        "Restore-VMCheckpoint",
    ]
    assert [c["end"] for c in sent] == [False, False, True, False, False, True]
    assert sent[0]["args"] == [
        ("Name", "S", "vdi-001"),
        ("Generation", "I32", "2"),
        ("MemoryStartupBytes", "I32", "4096"),
        ("VHDPath", "S", "d.vhdx"),
    ]
    assert sent[1]["args"][2] == ("Passthru", "Nil", None)  # a switch
    assert sent[2]["args"] == [
        ("Property", "Obj", [("S", "Name"), ("S", "Id"), ("S", "State"), ("S", "Notes")])
    ]
    assert sent[5]["args"] == [("Confirm", "B", "false")]


def test_only_our_cmdlet_and_parameter_names_make_commands() -> None:
    with pytest.raises(AssertionError):
        Command("Get-VM; Remove-VM")
    with pytest.raises(AssertionError):
        Command("Get-VM", (("Name -Force", "x"),))
