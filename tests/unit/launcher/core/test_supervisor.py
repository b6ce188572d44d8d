from __future__ import annotations

import os
import queue
from pathlib import Path

import pytest

from launcher.core import supervisor
from launcher.core.protocols import LaunchError, LaunchPlan, vnc
from launcher.core.supervisor import ClientExit
from tests.helpers import fake_client

DATA = Path(__file__).parents[3] / "data" / "vncviewer"


def run(plan: LaunchPlan) -> tuple[supervisor.RunningClient, queue.Queue[ClientExit]]:
    exits: queue.Queue[ClientExit] = queue.Queue()
    client = supervisor.start(
        plan, name="VNC viewer", classify=vnc.classify_line, on_exit=exits.put
    )
    return client, exits


def test_stdin_reaches_the_client_and_a_clean_exit_has_no_reason(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, replay=DATA / "connected.txt")
    client, exits = run(
        LaunchPlan(argv=(str(fake.path), "-passwd", "/dev/stdin", "h::1"), stdin=b"\x01\x02secret")
    )
    result = exits.get(timeout=10)
    recorded = fake.recorded()
    assert recorded["argv"][1:] == ["-passwd", "/dev/stdin", "h::1"]
    assert recorded["stdin"] == b"\x01\x02secret"
    assert recorded["pid"] == client.pid
    assert result.returncode == 0
    assert result.reason is None
    assert "CConnection: Enabling continuous updates" in result.last_lines[-1]
    assert client.wait(5)


def test_a_viewer_stuck_on_its_error_dialog_is_stopped_with_the_reason(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, replay=DATA / "auth-failure.txt", hang=True)
    client, exits = run(LaunchPlan(argv=(str(fake.path),)))
    result = exits.get(timeout=15)
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert result.returncode != 0
    assert not client.running()


def test_unexpected_exit_code_is_reported(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, exit_code=3)
    _, exits = run(LaunchPlan(argv=(str(fake.path),)))
    result = exits.get(timeout=10)
    assert result.returncode == 3
    assert result.reason is not None
    assert "exit code 3" in result.reason.message


def test_stop_ends_a_client_that_ignores_sigterm(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, hang=True, ignore_term=True)
    client, exits = run(LaunchPlan(argv=(str(fake.path),)))
    fake.recorded()  # up, and already ignoring SIGTERM
    client.stop(timeout=1.0)
    result = exits.get(timeout=10)
    assert result.returncode == -9
    assert result.reason is None  # we stopped it: not a failure to report
    with pytest.raises(ProcessLookupError):
        os.kill(client.pid, 0)


def test_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="Could not start"):
        run(LaunchPlan(argv=(str(tmp_path / "nope"),)))
