"""A stand-in native client: records what it was given, replays recorded output.

``make(directory, ...)`` writes an executable that, when started, saves its
argv, stdin and pid as JSON to ``record``, prints a recorded client output
line by line, and then exits with ``exit_code`` or, with ``hang``, waits like
a viewer sitting on its own error dialog.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCRIPT = """#!{python}
import json, os, sys, time
record = {record!r}
if {ignore_term!r}:
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
data = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
with open(record + ".tmp", "w") as f:
    json.dump({{"argv": sys.argv, "stdin": data.hex(), "pid": os.getpid()}}, f)
os.replace(record + ".tmp", record)
for line in {lines!r}:
    print(line, flush=True)
if {hang!r}:
    time.sleep(120)
sys.exit({exit_code!r})
"""


@dataclass(frozen=True)
class FakeClient:
    path: Path
    record: Path

    def recorded(self, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.record.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.path} was never started")
            time.sleep(0.02)
        data: dict[str, Any] = json.loads(self.record.read_text())
        data["stdin"] = bytes.fromhex(data["stdin"])
        return data


def make(
    directory: Path,
    *,
    name: str = "vncviewer",
    replay: Path | None = None,
    exit_code: int = 0,
    hang: bool = False,
    ignore_term: bool = False,
) -> FakeClient:
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / f"{name}.record.json"
    lines = replay.read_text().splitlines() if replay else []
    path = directory / name
    path.write_text(
        _SCRIPT.format(
            python=sys.executable,
            record=str(record),
            lines=lines,
            exit_code=exit_code,
            hang=hang,
            ignore_term=ignore_term,
        )
    )
    path.chmod(0o755)
    return FakeClient(path=path, record=record)
