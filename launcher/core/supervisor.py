"""Start a :class:`LaunchPlan` and watch the native client until it exits.

The client's output is logged line by line and matched against the
protocol's known fatal lines, because some clients (vncviewer) report a
failure on a dialog and then wait; we stop such a client and say why.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from launcher.core import log
from launcher.core.protocols import ExitReason, LaunchError, LaunchPlan

Classifier = Callable[[str], ExitReason | None]


@dataclass(frozen=True, slots=True)
class ClientExit:
    """How a client ended. ``reason`` is None when it closed normally."""

    returncode: int
    reason: ExitReason | None
    last_lines: tuple[str, ...] = ()


class RunningClient:
    """A started native client; the watcher thread reports its exit once."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        name: str,
        classify: Classifier,
        on_exit: Callable[[ClientExit], None],
    ) -> None:
        self._process = process
        self.name = name
        self._classify = classify
        self._on_exit = on_exit
        self._reason: ExitReason | None = None
        self._stopping = False
        self._last_lines: deque[str] = deque(maxlen=20)
        self._done = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)
        self._watcher.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self, *, timeout: float = 5.0) -> None:
        """Ask the client to quit; kill it if it has not after ``timeout``."""
        self._stopping = True
        self._terminate(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the exit has been reported; False on timeout."""
        return self._done.wait(timeout)

    def _terminate(self, timeout: float) -> None:
        if self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.launch.warning("%s (pid %d) ignored SIGTERM; killing it", self.name, self.pid)
            self._process.kill()
            self._process.wait()

    def _take_line(self, line: str) -> None:
        if not line.strip():
            return
        self._last_lines.append(line)
        log.client.info("%s: %s", self.name, line.strip())
        reason = self._classify(line)
        if reason is not None and self._reason is None and not self._stopping:
            self._reason = reason
            log.launch.warning("%s reported: %s", self.name, reason.message)
            # Stop it from another thread: this one must keep draining its output.
            threading.Thread(target=self._terminate, args=(5.0,), daemon=True).start()

    def _watch(self) -> None:
        assert self._process.stdout is not None
        with self._process.stdout as output:
            for raw in output:
                self._take_line(raw.decode("utf-8", "replace").rstrip())
        code = self._process.wait()
        reason = self._reason
        if reason is None and code != 0 and not self._stopping:
            reason = ExitReason(
                f"The {self.name} stopped unexpectedly (exit code {code}).",
                hint="Connect again; if it keeps happening, send the log to your administrator.",
            )
        log.launch.info("%s (pid %d) exited with %d", self.name, self.pid, code)
        try:
            self._on_exit(ClientExit(code, reason, tuple(self._last_lines)))
        finally:
            self._done.set()


def start(
    plan: LaunchPlan,
    *,
    name: str,
    classify: Classifier,
    on_exit: Callable[[ClientExit], None],
    cwd: Path | None = None,
) -> RunningClient:
    """Start the client described by ``plan``; never blocks on it."""
    env = {**os.environ, **plan.env}
    try:
        process = subprocess.Popen(
            plan.argv,
            stdin=subprocess.PIPE if plan.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            close_fds=True,
        )
    except OSError as e:
        raise LaunchError(
            f"Could not start {plan.argv[0]}: {e.strerror or e}.",
            hint="Check that the client is installed and may be run.",
        ) from e
    log.launch.info("started %s as pid %d", name, process.pid)
    if plan.stdin is not None:
        assert process.stdin is not None
        try:
            # Small and written at once: a pipe buffer holds far more.
            process.stdin.write(plan.stdin)
        except BrokenPipeError:
            log.launch.warning("%s closed its input before reading it", name)
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
    return RunningClient(process, name=name, classify=classify, on_exit=on_exit)
