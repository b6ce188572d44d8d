"""A client kept open outlives the launcher ("keep the desktop open", issue 10 #5).

The launcher reads its clients' output through a pipe. When the launcher
exits, nobody reads that pipe any more, and a client that then writes a line
(clients log as they run) is killed by SIGPIPE, or fails its writes. After
``RunningClient.let_go`` a ``cat`` of its own reads the client's output, so
the client runs on, writing as before. The launcher here is a real process
that starts a chatty client through ``supervisor.start`` and exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.e2e import wait_for

ROOT = Path(__file__).parents[4]

LAUNCHER = textwrap.dedent(
    """
    import sys
    from launcher.core import supervisor
    from launcher.core.protocols import LaunchPlan

    ticks = sys.argv[2]
    # Like a client: it logs a line now and then, and keeps a record of its own.
    script = f"while true; do echo tick; echo tick >> {ticks}; sleep 0.05; done"
    client = supervisor.start(
        LaunchPlan(argv=("/bin/sh", "-c", script)),
        name="chatty",
        classify=lambda line: None,
        on_exit=lambda result: None,
    )
    if sys.argv[1] == "let-go":
        client.let_go()
    print(client.pid, flush=True)
    """
)


def alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("how", ["let-go", "stays-ours"])
def test_a_client_let_go_runs_on_after_the_launcher_exits(tmp_path: Path, how: str) -> None:
    ticks = tmp_path / "ticks"
    launcher = subprocess.run(
        [sys.executable, "-c", LAUNCHER, how, str(ticks)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    pid = int(launcher.stdout.split()[0])
    try:
        # The launcher has exited; the pipe's reader it held is gone with it.
        if how == "let-go":
            # Still writing long after: 40 more lines, each after a line to its output.
            after = lines(ticks)
            wait_for(lambda: lines(ticks) >= after + 40, 10, "40 more lines from the client")
            assert alive(pid)
        else:
            # Its next line to its output kills it: why let_go gives it a reader.
            wait_for(lambda: not alive(pid), 10, "the client to die of SIGPIPE")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
