"""The real runner (PsrpRunner) through pypsrp's own pipeline layer, below which a
stand-in for the WinRM shell hands back PSRP messages.

What is real: PsrpRunner's invocation, state loop, timeout and error handling;
pypsrp's PowerShell and RunspacePool, its fragmenter (what the broker sends
is taken apart again here with pypsrp's own defragmenter and message
decoder), its message parser and deserializer. What is not: the WSMan/HTTP
transport (the shell stand-in), and the host's answers, which are the
recorded CLIXML of tests/data/hyperv/exchanges.xml (shaped from Microsoft's
documentation, not captured from a live host) framed as PSRP messages
([MS-PSRP] 2.2.1, 2.2.4) by this test.
"""

from __future__ import annotations

import base64
import struct
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from typing import Any

import pytest
from pypsrp.complex_objects import PSInvocationState
from pypsrp.messages import Destination, MessageType
from pypsrp.powershell import Fragment, RunspacePool
from pypsrp.serializer import Serializer
from pypsrp.wsman import NAMESPACES

from broker_stub.backends.hyperv import commands
from broker_stub.backends.hyperv.options import HyperVOptions
from broker_stub.backends.hyperv.runner import CallTimedOut, PowerShellFailed, PsrpRunner
from tests.helpers.hyperv import EXCHANGES

COMPLETED, FAILED = 4, 5  # PSInvocationState


def recorded(exchange_id: str, part: str) -> list[bytes]:
    """The raw CLIXML objects of one recorded exchange's Output or Errors."""
    root = ET.parse(EXCHANGES).getroot()  # noqa: S314 - our own data
    [exchange] = [e for e in root.iter("Exchange") if e.get("id") == exchange_id]
    found = exchange.find(part)
    return [ET.tostring(obj) for obj in (found if found is not None else [])]


class Connection:
    """All RunspacePool asks of a WSMan connection before it sends anything."""

    max_payload_size = 153600


class Shell:
    """Stands in for pypsrp's WinRS: keeps what the runner sends, answers with PSRP
    messages framed from recorded CLIXML."""

    def __init__(self, pool_id: str) -> None:
        self.pool_id = pool_id
        self.pipeline_id: str | None = None
        self.sent: list[bytes] = []
        self.answers: deque[bytes] = deque()
        self.signals: list[str] = []
        self.closed = False

    # What the host says

    def message(self, message_type: int, xml: bytes) -> bytes:
        assert self.pipeline_id is not None
        header = struct.pack("<I", Destination.CLIENT) + struct.pack("<I", message_type)
        header += uuid.UUID(self.pool_id).bytes_le + uuid.UUID(self.pipeline_id).bytes_le
        return header + b"\xef\xbb\xbf" + xml

    # What pypsrp calls

    def command(self, _executable: str, arguments: list[str], command_id: str) -> ET.Element:
        self.pipeline_id = command_id
        self.sent.append(base64.b64decode(arguments[0]))
        body = ET.Element("Body")
        response = ET.SubElement(body, f"{{{NAMESPACES['rsp']}}}CommandResponse")
        ET.SubElement(response, f"{{{NAMESPACES['rsp']}}}CommandId").text = command_id
        return body

    def send(self, _stream: str, data: bytes, command_id: str | None = None) -> None:
        self.sent.append(data)

    def receive(
        self, _stream: str, command_id: str | None = None, timeout: int | None = None
    ) -> tuple[Any, Any, dict[str, bytes]]:
        assert command_id == self.pipeline_id
        return None, None, {"stdout": self.answers.popleft() if self.answers else b""}

    def signal(self, code: str, command_id: str) -> None:
        self.signals.append(code)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def wired() -> tuple[PsrpRunner, Shell]:
    options = HyperVOptions.model_validate(
        {"host": "hv1.example.com", "auth": "kerberos", "name_pattern": "lab-*"}
    )
    runner = PsrpRunner(options)
    pool = RunspacePool(Connection())  # type: ignore[arg-type]
    shell = Shell(pool.id)
    pool.shell = shell  # type: ignore[assignment]
    pool.protocol_version = "2.3"
    runner._idle.append(pool)  # as if opened before
    return runner, shell


def state(value: int, error: bytes = b"") -> bytes:
    record = error.replace(b"<Obj ", b'<Obj N="ExceptionAsErrorRecord" ', 1) if error else b""
    return (
        f'<Obj RefId="0"><MS><I32 N="PipelineState">{value}</I32>'.encode()
        + record
        + b"</MS></Obj>"
    )


def sent_pipeline(shell: Shell) -> list[tuple[str | None, list[tuple[str | None, Any]]]]:
    """The commands of the CreatePipeline message the runner sent, read from its bytes
    as a host would: fragments joined, the message header checked, the CLIXML parsed."""
    data, body = b"".join(shell.sent), b""
    while data:
        fragment, data = Fragment.unpack(data)
        body += fragment.data
    assert struct.unpack("<I", body[4:8])[0] == MessageType.CREATE_PIPELINE
    root = ET.fromstring(body[40:].removeprefix(b"\xef\xbb\xbf"))  # noqa: S314 - ours
    found = []
    for command in root.iterfind("MS/Obj[@N='PowerShell']/MS/Obj[@N='Cmds']/LST/Obj"):
        arguments = []
        for argument in command.iterfind("MS/Obj[@N='Args']/LST/Obj"):
            value = argument.find("MS/*[@N='V']")
            assert value is not None
            arguments.append((argument.findtext("MS/S[@N='N']"), Serializer().deserialize(value)))
        found.append((command.findtext("MS/S[@N='Cmd']"), arguments))
    assert found, ET.tostring(root)[:500]
    return found


def test_output_objects_come_back_plain_across_fragments(wired: tuple[PsrpRunner, Shell]) -> None:
    runner, shell = wired
    [vm] = recorded("find-lab-1-running", "Output")
    shell.answers = _late(
        shell,
        (MessageType.PIPELINE_OUTPUT, vm),
        (MessageType.PIPELINE_STATE, state(COMPLETED)),
        pieces=3,
    )
    got = runner.run(commands.find_vm("lab[1]"), timeout=5)
    assert got == [
        {
            "Name": "lab-1",
            "Id": "6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51",
            "State": "Running",
            "Notes": "",
        }
    ]
    assert sent_pipeline(shell) == [
        ("Get-VM", [("Name", "lab`[1`]")]),
        ("Select-Object", [("Property", ["Name", "Id", "State", "Notes"])]),
    ]
    assert runner._idle, "a pool that worked is kept for the next call"


def test_error_records_become_powershell_failed(wired: tuple[PsrpRunner, Shell]) -> None:
    runner, shell = wired
    [error] = recorded("find-lab-9-missing", "Errors")
    shell.answers = _late(
        shell, (MessageType.ERROR_RECORD, error), (MessageType.PIPELINE_STATE, state(COMPLETED))
    )
    with pytest.raises(PowerShellFailed) as failed:
        runner.run(commands.find_vm("lab-9"), timeout=5)
    [info] = failed.value.errors
    assert info.error_id == "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM"
    assert info.category == 5
    assert info.message == 'Hyper-V was unable to find a virtual machine with name "lab-9".'
    assert runner._idle, "the session is fine: only the cmdlet failed"


def test_a_failed_pipeline_carries_its_error_in_the_state(wired: tuple[PsrpRunner, Shell]) -> None:
    runner, shell = wired
    [error] = recorded("start-lab-1-no-memory", "Errors")
    shell.answers = _late(shell, (MessageType.PIPELINE_STATE, state(FAILED, error)))
    with pytest.raises(PowerShellFailed, match="Not enough memory in the system"):
        runner.run(commands.start("6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51"), timeout=5)


def test_a_pipeline_that_never_finishes_is_stopped_at_the_timeout(
    wired: tuple[PsrpRunner, Shell],
) -> None:
    runner, shell = wired
    with pytest.raises(CallTimedOut, match="did not finish Get-VM within 1s; it was stopped"):
        runner.run(commands.shut_down("6f1d2c3e-4a5b-4c6d-8e9f-0a1b2c3d4e51"), timeout=1)
    assert len(shell.signals) == 1  # Ctrl+C to the pipeline
    assert shell.closed, "a session whose pipeline hung is not used again"
    assert runner._idle == []


def _late(shell: Shell, *messages: tuple[int, bytes], pieces: int = 1) -> deque[bytes]:
    """Answers framed at the first Receive, once the pipeline's id is known; each
    message cut into `pieces` fragments."""

    class Late(deque[bytes]):
        def popleft(self) -> bytes:
            data = b""
            for object_id, (kind, xml) in enumerate(messages, start=1):
                message = shell.message(kind, xml)
                size = -(-len(message) // pieces)
                chunks = [message[i : i + size] for i in range(0, len(message), size)]
                for index, chunk in enumerate(chunks):
                    end = index == len(chunks) - 1
                    data += Fragment(object_id, index, chunk, start=index == 0, end=end).pack()
            self.clear()
            return data

    return Late([b""])


assert PSInvocationState.COMPLETED == COMPLETED
assert PSInvocationState.FAILED == FAILED
