"""A stand-in native client: records what it was given, replays recorded output.

``make(directory, ...)`` writes an executable that, when started, saves its
argv, stdin and pid as JSON to ``record``, prints a recorded client output
line by line, and then exits with ``exit_code`` or, with ``hang``, waits like
a viewer sitting on its own error dialog.

It also records what a plan hands over besides stdin: every argument ending in
``fd:N`` is read to its end from descriptor N (like FreeRDP 3's
``/args-from:fd:N``), every argument naming an existing file is read with its
mode and its directory's mode, and the descriptors the process has open.

With ``version``, a run whose only argument is ``--version`` or ``-h`` prints
that text and exits 0 without recording (a version probe); each such run
adds a line to ``probes``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.e2e import wait_for

_SCRIPT = """#!{python}
import json, os, sys, time
record = {record!r}
if {version!r} is not None and sys.argv[1:] in (["--version"], ["-h"]):
    with open({probes!r}, "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    print({version!r}, flush=True)
    sys.exit(0)
if {ignore_term!r}:
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
data = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
fds, files = {{}}, {{}}
for arg in sys.argv[1:]:
    head, sep, tail = arg.rpartition("fd:")
    if sep and tail.isdigit():
        chunks = []
        while chunk := os.read(int(tail), 65536):
            chunks.append(chunk)
        fds[tail] = b"".join(chunks).hex()
    elif os.path.isfile(arg):
        with open(arg, "rb") as f:
            files[arg] = {{
                "contents": f.read().hex(),
                "mode": os.stat(arg).st_mode & 0o777,
                "dir_mode": os.stat(os.path.dirname(arg)).st_mode & 0o777,
            }}
proc_fds = "/proc/self/fd"
open_fds = sorted(int(n) for n in os.listdir(proc_fds)) if os.path.isdir(proc_fds) else []
with open(record + ".tmp", "w") as f:
    json.dump({{"argv": sys.argv, "stdin": data.hex(), "pid": os.getpid(), "fds": fds,
               "files": files, "open_fds": open_fds}}, f)
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
    probes: Path

    def probe_count(self) -> int:
        """How many version probes ran."""
        return len(self.probes.read_text().splitlines()) if self.probes.exists() else 0

    def recorded(self, timeout: float = 10.0) -> dict[str, Any]:
        wait_for(self.record.exists, timeout, f"{self.path} to be started", interval=0.02)
        data: dict[str, Any] = json.loads(self.record.read_text())
        data["stdin"] = bytes.fromhex(data["stdin"])
        data["fds"] = {int(n): bytes.fromhex(v) for n, v in data["fds"].items()}
        for entry in data["files"].values():
            entry["contents"] = bytes.fromhex(entry["contents"])
        return data


def make(
    directory: Path,
    *,
    name: str = "vncviewer",
    replay: Path | None = None,
    exit_code: int = 0,
    hang: bool = False,
    ignore_term: bool = False,
    version: str | None = None,
) -> FakeClient:
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / f"{name}.record.json"
    probes = directory / f"{name}.probes"
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
            version=version,
            probes=str(probes),
        )
    )
    path.chmod(0o755)
    return FakeClient(path=path, record=record, probes=probes)
