from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from launcher.core import supervisor, wincred
from launcher.core.models import ConnectionInfo, Protocol
from launcher.core.protocols import (
    Credential,
    LaunchError,
    LaunchPlan,
    RemoveCredential,
    Step,
    TempFile,
    spice,
    vnc,
)
from launcher.core.protocols.rdp import RdpOptions, freerdp
from launcher.core.secret import Secret
from launcher.core.supervisor import ClientExit
from tests.helpers import fake_client
from tests.helpers.e2e import wait_for
from tests.helpers.fake_wincred import FakeVault

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


# --- pass_fds, temp_files and steps ---------------------------------------------

XFREERDP = Path(__file__).parents[3] / "data" / "xfreerdp"
REMOTE_VIEWER = Path(__file__).parents[3] / "data" / "remote-viewer"


def test_pass_fds_reach_the_client_through_inherited_pipes(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, name="xfreerdp3")
    args = b"/v:10.0.0.8:3389\n/u:ann\n/p:fd-secret\n"
    plan = LaunchPlan(
        argv=(str(fake.path), "/args-from:fd:{fd:0}", "--second=fd:{fd:1}"),
        pass_fds=(args, b"x" * 50_000),
    )
    _, exits = run(plan)
    assert exits.get(timeout=10).returncode == 0
    recorded = fake.recorded()
    first, second = (int(a.rpartition("fd:")[2]) for a in recorded["argv"][1:])
    assert recorded["argv"][1:] == [f"/args-from:fd:{first}", f"--second=fd:{second}"]
    assert recorded["fds"] == {first: args, second: b"x" * 50_000}
    assert min(first, second) > 2
    # stdin, stdout, stderr, the two pipes and the one listing /proc/self/fd:
    # the write ends and nothing else of ours leaked into the client.
    assert len(recorded["open_fds"]) <= 6
    assert not any("secret" in a for a in recorded["argv"])


def test_pass_fds_close_our_ends(tmp_path: Path) -> None:
    before = set(os.listdir("/proc/self/fd"))
    fake = fake_client.make(tmp_path)
    _, exits = run(LaunchPlan(argv=(str(fake.path), "fd:{fd:0}"), pass_fds=(b"data",)))
    exits.get(timeout=10)
    wait_for(lambda: set(os.listdir("/proc/self/fd")) <= before, 10, "the pipes to be closed")


def test_more_than_a_pipe_holds_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # start() calls Popen before it returns or raises: a spy on it sees any start at
    # once, where looking for the fake's record a while later could look too early.
    started: list[object] = []
    real_popen = supervisor.subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(args[0] if args else kwargs.get("args"))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(supervisor.subprocess, "Popen", popen)
    fake = fake_client.make(tmp_path)
    with pytest.raises(LaunchError, match="too large"):
        run(LaunchPlan(argv=(str(fake.path), "fd:{fd:0}"), pass_fds=(b"x" * 4_000_000,)))
    assert started == []
    # The spy sees what a start would be: one that fits is started, through it.
    _, exits = run(LaunchPlan(argv=(str(fake.path), "fd:{fd:0}"), pass_fds=(b"x",)))
    assert exits.get(timeout=10).returncode == 0
    assert len(started) == 1


def test_temp_files_are_private_and_removed_when_the_client_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    fake = fake_client.make(tmp_path / "bin", name="mstsc")
    plan = LaunchPlan(
        argv=(str(fake.path), "{file:0}", "/other:{file:1}"),
        temp_files=(TempFile(b"full address:s:h:3389\r\n", suffix=".rdp"), TempFile(b"two")),
    )
    _, exits = run(plan)
    exits.get(timeout=10)
    recorded = fake.recorded()
    path = Path(recorded["argv"][1])
    assert path.parent.parent == runtime
    assert path.name == "launch-0.rdp"
    assert recorded["argv"][2] == f"/other:{path.parent / 'launch-1'}"
    assert recorded["files"] == {
        str(path): {"contents": b"full address:s:h:3389\r\n", "mode": 0o600, "dir_mode": 0o700}
    }
    # Removed before on_exit is called.
    assert not path.parent.exists()
    assert list(runtime.iterdir()) == []


def test_cleanup_after_keeps_files_for_a_client_that_hands_them_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    fake = fake_client.make(tmp_path / "bin", name="open")
    plan = LaunchPlan(
        argv=(str(fake.path), "{file:0}"), temp_files=(TempFile(b"x"),), cleanup_after=1.0
    )
    started = time.monotonic()
    _, exits = run(plan)
    exits.get(timeout=10)
    path = Path(fake.recorded()["argv"][1])
    if time.monotonic() - started < 0.8:
        assert path.exists()  # `open` has exited; the app may not have read it yet
    wait_for(lambda: not path.parent.exists(), 10, "the launch folder to go")


def test_files_are_removed_when_the_client_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    plan = LaunchPlan(argv=(str(tmp_path / "nope"), "{file:0}"), temp_files=(TempFile(b"x"),))
    with pytest.raises(LaunchError, match="Could not start"):
        run(plan)
    assert list(tmp_path.iterdir()) == []


# --- the mstsc credential: stored right before the start, always removed ------------

TARGET = "TERMSRV/10.0.0.8"


class Steps:
    """Records the steps the supervisor runs, and whether the client had started."""

    def __init__(self, fake: fake_client.FakeClient, vault: FakeVault | None = None) -> None:
        self.fake = fake
        self.vault = vault or FakeVault()
        self.done: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()

    def __call__(self, step: Step) -> None:
        with self.lock:
            kind = "store" if isinstance(step, Credential) else "remove"
            self.done.append((kind, step.target, self.fake.record.exists()))
        wincred.run_step(step, api=self.vault.api)

    def kinds(self) -> list[str]:
        with self.lock:
            return [kind for kind, _, _ in self.done]


def credential_plan(argv0: str, *, cleanup_after: float | None = None) -> tuple[LaunchPlan, Secret]:
    secret = Secret("cred-secret pw")
    plan = LaunchPlan(
        argv=(argv0, "{file:0}"),
        temp_files=(TempFile(b"full address:s:10.0.0.8:3389\r\n", suffix=".rdp"),),
        pre_steps=(Credential(TARGET, "CORP\\ann", secret),),
        post_steps=(RemoveCredential(TARGET),),
        cleanup_after=cleanup_after,
    )
    return plan, secret


def start_with(
    plan: LaunchPlan, steps: Steps
) -> tuple[supervisor.RunningClient, queue.Queue[ClientExit]]:
    exits: queue.Queue[ClientExit] = queue.Queue()
    client = supervisor.start(
        plan,
        name="Remote Desktop Connection",
        classify=lambda _line: None,
        on_exit=exits.put,
        run_step=steps,
    )
    return client, exits


def test_the_credential_is_stored_before_the_start_and_removed_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    fake = fake_client.make(tmp_path / "bin", name="mstsc", hang=True)
    steps = Steps(fake)
    plan, secret = credential_plan(str(fake.path))
    client, exits = start_with(plan, steps)
    recorded = fake.recorded()
    # Stored before the client existed, with what mstsc needs; the secret handed over once.
    assert steps.done == [("store", TARGET, False)]
    stored = steps.vault.entries[TARGET]
    assert (stored.username, stored.password, stored.persist) == ("CORP\\ann", "cred-secret pw", 1)
    assert secret.cleared
    assert all("cred-secret" not in arg for arg in recorded["argv"])
    assert all(b"cred-secret" not in f["contents"] for f in recorded["files"].values())
    client.stop()
    assert exits.get(timeout=10).reason is None
    assert steps.kinds() == ["store", "remove"]
    assert steps.vault.entries == {}
    assert "cred-secret" not in caplog.text


def test_the_credential_goes_after_cleanup_after_while_the_client_runs(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, name="mstsc", hang=True)
    steps = Steps(fake)
    plan, _ = credential_plan(str(fake.path), cleanup_after=0.5)
    client, exits = start_with(plan, steps)
    fake.recorded()
    wait_for(lambda: steps.kinds() == ["store", "remove"], 10, "the credential to be removed")
    assert client.running()
    assert steps.vault.entries == {}
    client.stop()
    exits.get(timeout=10)
    # Once. The timer removed it (above); the watcher, the other one that would
    # remove it, has done all it does at the exit once wait() says so.
    assert client.wait(10)
    assert steps.kinds() == ["store", "remove"]


def test_a_client_that_exits_at_once_takes_the_credential_with_it(tmp_path: Path) -> None:
    # mstsc closed (or failed) before cleanup_after: no reason to keep the credential.
    fake = fake_client.make(tmp_path, name="mstsc", exit_code=0)
    steps = Steps(fake)
    plan, _ = credential_plan(str(fake.path), cleanup_after=60.0)
    _, exits = start_with(plan, steps)
    exits.get(timeout=10)
    assert steps.kinds() == ["store", "remove"]
    assert steps.vault.entries == {}


def test_a_client_that_cannot_start_leaves_no_credential(tmp_path: Path) -> None:
    missing = tmp_path / "bin" / "mstsc"
    steps = Steps(fake_client.make(tmp_path / "other", name="unused"))
    plan, secret = credential_plan(str(missing), cleanup_after=30.0)
    with pytest.raises(LaunchError, match="Could not start"):
        start_with(plan, steps)
    assert steps.kinds() == ["store", "remove"]
    assert steps.vault.entries == {}
    assert secret.cleared


def test_a_launch_that_fails_before_the_store_still_clears_the_secret(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, name="mstsc")
    steps = Steps(fake)
    secret = Secret("cred-secret pw")
    plan = LaunchPlan(
        argv=(str(fake.path), "fd:{fd:0}"),
        pass_fds=(b"x" * 4_000_000,),  # more than a pipe holds
        pre_steps=(Credential(TARGET, "ann", secret),),
        post_steps=(RemoveCredential(TARGET),),
    )
    with pytest.raises(LaunchError, match="too large"):
        start_with(plan, steps)
    assert "store" not in steps.kinds()
    assert steps.vault.entries == {}
    assert secret.cleared


def test_a_crashed_client_leaves_no_credential(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, name="mstsc", hang=True)
    steps = Steps(fake)
    plan, _ = credential_plan(str(fake.path), cleanup_after=60.0)
    client, exits = start_with(plan, steps)
    fake.recorded()
    assert steps.vault.entries.keys() == {TARGET}
    os.kill(client.pid, signal.SIGSEGV)
    result = exits.get(timeout=10)
    assert result.reason is not None
    assert result.reason.message == "The Remote Desktop Connection crashed (SIGSEGV)."
    assert steps.kinds() == ["store", "remove"]
    assert steps.vault.entries == {}


def test_a_launcher_that_quits_first_removes_the_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_exit: list[Callable[[], None]] = []
    monkeypatch.setattr(supervisor.atexit, "register", at_exit.append)
    monkeypatch.setattr(supervisor.atexit, "unregister", lambda _f: None)
    fake = fake_client.make(tmp_path, name="mstsc", hang=True)
    steps = Steps(fake)
    plan, _ = credential_plan(str(fake.path), cleanup_after=60.0)
    client, exits = start_with(plan, steps)
    fake.recorded()
    for hook in at_exit:  # what the interpreter does on its way out
        hook()
    assert steps.kinds() == ["store", "remove"]
    client.stop()
    exits.get(timeout=10)
    assert steps.kinds() == ["store", "remove"]


def test_a_credential_windows_refuses_lets_the_client_start_and_ask(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    fake = fake_client.make(tmp_path, name="mstsc")
    steps = Steps(fake, FakeVault(write_error=1312))
    plan, secret = credential_plan(str(fake.path))
    _, exits = start_with(plan, steps)
    assert exits.get(timeout=10).reason is None
    assert fake.recorded()["argv"][0] == str(fake.path)
    assert secret.cleared
    assert steps.kinds() == ["store", "remove"]  # nothing there: ERROR_NOT_FOUND, no noise
    assert "Windows did not store the sign-in for TERMSRV/10.0.0.8" in caplog.text
    assert "cred-secret" not in caplog.text


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_off_windows_the_default_steps_fail_plainly_and_the_client_still_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rubicon")
    fake = fake_client.make(tmp_path, name="mstsc")
    plan, secret = credential_plan(str(fake.path))
    _, exits = run(plan)
    assert exits.get(timeout=10).reason is None
    assert secret.cleared
    assert caplog.text.count("Windows credentials can only be stored on Windows") == 2
    assert "cred-secret" not in caplog.text


# --- recorded outputs replayed through the supervisor ----------------------------


def test_remote_viewer_on_its_wrong_password_dialog_is_stopped_with_the_reason(
    tmp_path: Path,
) -> None:
    fake = fake_client.make(
        tmp_path, name="remote-viewer", replay=REMOTE_VIEWER / "vnc-wrong-password.txt", hang=True
    )
    exits: queue.Queue[ClientExit] = queue.Queue()
    client = supervisor.start(
        spice.plan(
            ConnectionInfo(Protocol.VNC, "127.0.0.1", 5901, password="pw"), client=str(fake.path)
        ),
        name="SPICE viewer",
        classify=spice.classify_line,
        on_exit=exits.put,
    )
    result = exits.get(timeout=15)
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    assert not client.running()
    assert b"password=pw\n" in fake.recorded()["stdin"]


def test_freerdp_certificate_change_is_reported(tmp_path: Path) -> None:
    fake = fake_client.make(
        tmp_path, name="xfreerdp", replay=XFREERDP / "certificate-changed.txt", exit_code=143
    )
    exits: queue.Queue[ClientExit] = queue.Queue()
    plan = freerdp.plan(
        ConnectionInfo(Protocol.RDP, "127.0.0.1", 3389, username="ann"),
        client=str(fake.path),
        version=(2, 11, 7),
        options=RdpOptions(sso_password="pw"),
    )
    supervisor.start(plan, name="RDP client", classify=freerdp.classify_line, on_exit=exits.put)
    result = exits.get(timeout=15)
    assert result.reason is not None
    assert (
        result.reason.message == "The desktop's certificate has changed since you last connected."
    )
    assert fake.recorded()["stdin"] == b"pw\n"


# --- connect watch, exit codes, signals -------------------------------------------------


def watched(
    plan: LaunchPlan,
    watch: supervisor.ConnectWatch,
    **kw: object,
) -> tuple[supervisor.RunningClient, queue.Queue[ClientExit], queue.Queue[float]]:
    exits: queue.Queue[ClientExit] = queue.Queue()
    connected: queue.Queue[float] = queue.Queue()
    client = supervisor.start(
        plan,
        name="VNC viewer",
        classify=vnc.classify_line,
        on_exit=exits.put,
        connect=watch,
        on_connected=lambda: connected.put(time.monotonic()),
        **kw,  # type: ignore[arg-type]
    )
    return client, exits, connected


def test_a_client_that_never_connects_is_stopped_in_time(tmp_path: Path) -> None:
    # Connected to the host, then nothing: a server that accepted and went silent.
    fake = fake_client.make(tmp_path, hang=True)
    started = time.monotonic()
    client, exits, connected = watched(
        LaunchPlan(argv=(str(fake.path),)),
        supervisor.ConnectWatch(1.0, connected_line=vnc.connected_line),
    )
    result = exits.get(timeout=15)
    assert 0.9 < time.monotonic() - started < 10
    assert result.reason is supervisor.DID_NOT_ANSWER
    assert result.reason.message == "The desktop did not answer in time."
    assert not result.connected
    assert connected.empty()
    assert not client.running()


def connect_timer_done(client: supervisor.RunningClient) -> None:
    """Wait until the connect watch's timer has fired or was cancelled: no timeout after it."""
    timer = client._connect_timer
    assert timer is not None
    timer.join(timeout=10)
    assert not timer.is_alive()


def test_the_sign_of_a_connection_is_reported_once_and_no_timeout_follows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rubicon")
    fake = fake_client.make(tmp_path, replay=DATA / "connected.txt", hang=True)
    client, exits, connected = watched(
        LaunchPlan(argv=(str(fake.path),)),
        supervisor.ConnectWatch(1.0, connected_line=vnc.connected_line),
    )
    connected.get(timeout=10)
    # Two lines are signs of a connection: the watcher has taken both once it logged
    # the last line, and the timer that would say "did not answer" has ended.
    last = "VNC viewer: CConnection: Enabling continuous updates"
    wait_for(lambda: last in caplog.messages, 10, "the last line in the log")
    connect_timer_done(client)
    assert "gave no sign of a connection" not in caplog.text
    assert client.running()
    assert client.connected
    assert connected.empty()
    client.stop()
    result = exits.get(timeout=10)
    assert (result.reason, result.connected) == (None, True)


def test_a_silent_client_still_running_counts_as_connected(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, hang=True)
    client, exits, connected = watched(
        LaunchPlan(argv=(str(fake.path),)),
        supervisor.ConnectWatch(0.5, assume_connected=True),
    )
    connected.get(timeout=10)
    assert client.running()
    client.stop()
    assert exits.get(timeout=10).connected


def test_a_fatal_line_wins_over_the_timeout(tmp_path: Path) -> None:
    fake = fake_client.make(tmp_path, replay=DATA / "auth-failure.txt", hang=True)
    client, exits, connected = watched(
        LaunchPlan(argv=(str(fake.path),)),
        supervisor.ConnectWatch(0.5, connected_line=vnc.connected_line, assume_connected=True),
    )
    result = exits.get(timeout=15)
    assert result.reason is not None
    assert result.reason.message == "The desktop refused the console password."
    # The timer that would count the silent client as connected has ended (the
    # watcher read every line before on_exit): no report can come any more.
    connect_timer_done(client)
    assert connected.empty()
    assert not result.connected


def test_watch_needs_a_sign_or_silence() -> None:
    with pytest.raises(ValueError, match="connected_line"):
        supervisor.ConnectWatch(5.0)
    with pytest.raises(ValueError, match="positive"):
        supervisor.ConnectWatch(0, assume_connected=True)


@pytest.mark.parametrize(
    ("code", "message", "failed", "logged_off"),
    [
        (0, None, None, None),
        (1, None, None, None),  # disconnected: the session goes on
        (11, None, None, None),  # closed by the user
        (2, "The session was logged off on the desktop.", False, True),
        (132, "The desktop refused the user name or password.", True, False),
    ],
)
def test_freerdp_exit_codes_become_reasons(
    tmp_path: Path, code: int, message: str | None, failed: bool | None, logged_off: bool | None
) -> None:
    fake = fake_client.make(tmp_path, name="xfreerdp", exit_code=code)
    exits: queue.Queue[ClientExit] = queue.Queue()
    supervisor.start(
        LaunchPlan(argv=(str(fake.path),)),
        name="RDP client",
        classify=freerdp.classify_line,
        exit_reason=freerdp.exit_reason,
        on_exit=exits.put,
    )
    reason = exits.get(timeout=10).reason
    if message is None:
        assert reason is None
    else:
        assert reason is not None
        assert (reason.message, reason.failed, reason.logged_off) == (message, failed, logged_off)


@pytest.mark.parametrize(
    ("sig", "message"),
    [
        ("SEGV", "The VNC viewer crashed (SIGSEGV)."),
        ("TERM", "The VNC viewer was ended from outside Rubicon (SIGTERM)."),
    ],
)
def test_a_client_killed_by_a_signal_we_did_not_send(
    tmp_path: Path, sig: str, message: str
) -> None:
    fake = fake_client.make(tmp_path, hang=True)
    client, exits = run(LaunchPlan(argv=(str(fake.path),)))
    fake.recorded()
    os.kill(client.pid, getattr(signal, f"SIG{sig}"))
    result = exits.get(timeout=10)
    assert result.reason is not None
    assert result.reason.message == message
