"""Start a :class:`LaunchPlan` and watch the native client until it exits.

The client's output is logged line by line and matched against the
protocol's known fatal lines, because some clients (vncviewer) report a
failure on a dialog and then wait; we stop such a client and say why.

A :class:`ConnectWatch` says how to tell that the client has connected and
how long to wait for it. Clients that print a sign of success (vncviewer,
remote-viewer with ``--debug``) are stopped with "The desktop did not
answer in time" when the sign has not come after ``timeout`` seconds: they
are stuck on a dialog or a server that accepted the connection and said
nothing. Clients that print no such sign (FreeRDP at its default log level,
mstsc) are instead counted as connected when they are still running after
``timeout`` seconds without a fatal line; they are never stopped for being
slow, because stopping a session that works would be worse than leaving a
stuck window the user can close.
Either way ``on_connected`` is called once, from a supervisor thread.

When the client exits by itself, its exit code becomes a reason through
the protocol's ``exit_reason`` (FreeRDP's normal session ends are not
failures). A client killed by a signal we did not send has crashed
(SIGSEGV, SIGABRT, ...) or was ended from outside (SIGTERM, SIGKILL, ...).

Before the start, the plan's ``pass_fds`` become pipes the client inherits
(written in full and closed on our side first, so a client that never reads
cannot block us) and its ``temp_files`` are written, mode 0600, into a
private 0700 directory that is removed when the client exits or
``cleanup_after`` seconds after the start.

A client named by its plan's ``title`` but without a title option of its own
(``retitle``: TigerVNC) has its window named once it has connected, and
:meth:`RunningClient.bring_to_front` shows a running client's window in front
(both through ``protocols.window``, on X11; a no-op elsewhere).
:meth:`RunningClient.let_go` leaves a client running after the launcher
exits ("keep the desktop open"): its output, which the launcher can no longer
read, goes to a ``cat`` of its own, so the client never writes into a pipe
nobody reads.

The plan's steps (a Windows credential for ``mstsc``) are done by a
``run_step`` function, ``launcher.core.wincred.run_step`` unless a test
gives another. Pre steps run right before the start; one that fails is
logged and the launch goes on (mstsc then asks for the password). A
credential's :class:`~launcher.core.secret.Secret` is cleared once it has
been handed over. Post steps run once: when the client exits or
``cleanup_after`` seconds after the start, whichever comes first; at once if
the start fails; at the latest when the launcher exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from launcher.core import childenv, log, wincred
from launcher.core.protocols import (
    AGAIN_OR_SEND_THE_LOG,
    CONNECT_AGAIN,
    Credential,
    ExitReason,
    LaunchError,
    LaunchPlan,
    Step,
    platform_key,
    substitute,
    window,
)
from launcher.core.texts import Text

Classifier = Callable[[str], ExitReason | None]
ExitCodeReason = Callable[[int], ExitReason | None]
StepRunner = Callable[[Step], None]

DID_NOT_ANSWER = ExitReason(
    Text("client.no_answer", "The desktop did not answer in time."),
    hint=Text(
        "client.no_answer.hint",
        "It may be starting or busy; try again in a minute. "
        "If it keeps happening, tell your administrator.",
    ),
)


@dataclass(frozen=True, slots=True)
class ConnectWatch:
    """How to tell that a client connected, and how long to wait for it.

    ``connected_line``: a line of the client's output that proves the
    connection (and its sign-in) worked. ``assume_connected``: the client
    prints no such line; still running after ``timeout`` seconds with no
    fatal line counts as connected, and it is never stopped for slowness.
    """

    timeout: float
    connected_line: Callable[[str], bool] | None = None
    assume_connected: bool = False

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("a connect timeout must be positive")
        if self.connected_line is None and not self.assume_connected:
            raise ValueError("give connected_line, or assume_connected for a silent client")


def default_exit_reason(name: str) -> ExitCodeReason:
    """Any non-zero exit code is a failure: for clients without a code table."""

    def reason(code: int) -> ExitReason | None:
        if code == 0:
            return None
        return ExitReason(
            Text(
                "client.stopped",
                "The {client} stopped unexpectedly (exit code {code}).",
                client=name,
                code=code,
            ),
            hint=AGAIN_OR_SEND_THE_LOG,
        )

    return reason


_CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
)


def _killed(name: str, code: int) -> ExitReason:
    """The reason for a client ended by signal ``-code`` that we did not send."""
    try:
        sig: signal.Signals | None = signal.Signals(-code)
    except ValueError:
        sig = None
    what = sig.name if sig is not None else f"signal {-code}"
    if sig in _CRASH_SIGNALS:
        return ExitReason(
            Text("client.crashed", "The {client} crashed ({signal}).", client=name, signal=what),
            hint=AGAIN_OR_SEND_THE_LOG,
        )
    return ExitReason(
        Text(
            "client.killed",
            "The {client} was ended from outside Rubicon ({signal}).",
            client=name,
            signal=what,
        ),
        hint=CONNECT_AGAIN,
    )


@dataclass(frozen=True, slots=True)
class ClientExit:
    """How a client ended. ``reason`` is None when it closed normally.

    ``connected``: it had connected before it ended.
    """

    returncode: int
    reason: ExitReason | None
    last_lines: tuple[str, ...] = ()
    connected: bool = False


class RunningClient:
    """A started native client; the watcher thread reports its exit once."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        name: str,
        classify: Classifier,
        on_exit: Callable[[ClientExit], None],
        cleanup: Callable[[], None] | None = None,
        cleanup_after: float | None = None,
        exit_reason: ExitCodeReason | None = None,
        connect: ConnectWatch | None = None,
        on_connected: Callable[[], None] | None = None,
        undo: Callable[[], None] | None = None,
        title: str = "",
        retitle: bool = False,
    ) -> None:
        """``cleanup`` runs at exit, or ``cleanup_after`` seconds after the start
        if given; ``undo`` (idempotent) at whichever of the two comes first.
        ``retitle``: name the client's window ``title`` once it has connected."""
        self._process = process
        self.name = name
        self.title = title
        self._retitle = retitle and bool(title)
        self._let_go = False
        self._drain: subprocess.Popen[bytes] | None = None  # reads its output after let_go
        self._classify = classify
        self._on_exit = on_exit
        self._exit_reason = exit_reason or default_exit_reason(name)
        self._connect = connect
        self._on_connected = on_connected
        self._cleanup = cleanup if cleanup_after is None else None
        self._undo = undo
        if cleanup_after is not None and (cleanup is not None or undo is not None):
            timer = threading.Timer(cleanup_after, self._timed_cleanup, args=(cleanup,))
            timer.daemon = True
            timer.name = f"cleanup-{name}"
            timer.start()
        self._lock = threading.Lock()
        self._reason: ExitReason | None = None
        self._stopping = False
        self._connected = False
        self._exited = False
        self._last_lines: deque[str] = deque(maxlen=20)
        self._done = threading.Event()
        self._connect_timer: threading.Timer | None = None
        if connect is not None:
            self._connect_timer = threading.Timer(connect.timeout, self._connect_timeout)
            self._connect_timer.daemon = True
            self._connect_timer.name = f"connect-{name}"
            self._connect_timer.start()
        self._watcher = threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True)
        self._watcher.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    @property
    def connected(self) -> bool:
        """The client gave its sign of success (or was counted as connected)."""
        return self._connected

    def stop(self, *, timeout: float = 5.0) -> None:
        """Ask the client to quit; kill it if it has not after ``timeout``."""
        with self._lock:
            self._stopping = True
        if self._connect_timer is not None:
            self._connect_timer.cancel()
        self._terminate(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the exit has been reported; False on timeout."""
        return self._done.wait(timeout)

    # -- its window (X11) --------------------------------------------------------

    def windows(self) -> tuple[str, ...]:
        """The ids of the client's X11 windows; () where they cannot be asked for.

        Blocking (a process): call it off the GUI thread, as the two below.
        """
        xdotool = _x11_tool("xdotool")
        if xdotool is None or not self.running():
            return ()
        found = _run_tool(window.find_windows(xdotool, self.pid))
        return window.window_ids(found.stdout) if found is not None else ()

    def bring_to_front(self) -> bool:
        """Show the client's window in front, with the keyboard; True if that was done.

        An EWMH window manager is asked to activate it (which restores a
        minimised window); without one it is raised and focused.
        """
        xdotool = _x11_tool("xdotool")
        if xdotool is None:
            return False
        brought = False
        for wid in self.windows():
            done = _run_tool(window.activate(xdotool, wid))
            if done is None or done.returncode != 0:
                done = _run_tool(window.raise_and_focus(xdotool, wid))
            brought = brought or (done is not None and done.returncode == 0)
        log.launch.info("%s (pid %d) brought to the front: %s", self.name, self.pid, brought)
        return brought

    def _name_window(self, *, attempts: int = 30, pause: float = 0.1) -> None:
        """Name the client's window after the desktop (it may be mapped just after
        it connected: looked for a few times)."""
        xprop = _x11_tool("xprop")
        if xprop is None:
            return
        for _ in range(attempts):
            found = self.windows()
            if found:
                for wid in found:
                    for argv in window.set_title(xprop, wid, self.title):
                        _run_tool(argv)
                log.launch.info("%s (pid %d) window named %r", self.name, self.pid, self.title)
                return
            if self._done.wait(pause):
                return
        log.launch.info("%s (pid %d): no window to name", self.name, self.pid)

    # -- keep it open after the launcher ------------------------------------------

    def let_go(self) -> None:
        """The launcher leaves and this client stays: stop watching for its connection,
        and give its output a reader of its own that outlives the launcher (POSIX)."""
        with self._lock:
            if self._let_go:
                return
            self._let_go = True
            self._stopping = True  # whatever it does from now on is not reported as ours
        if self._connect_timer is not None:
            self._connect_timer.cancel()
        output = self._process.stdout
        cat = shutil.which("cat")
        if output is None or os.name != "posix" or cat is None or not self.running():
            return
        try:
            self._drain = subprocess.Popen(
                [cat],
                stdin=output.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,
                env=childenv.for_children(),
            )
        except OSError as e:
            log.launch.warning("%s: nothing reads its output after we exit: %s", self.name, e)
            return
        log.launch.info("%s (pid %d) keeps running without the launcher", self.name, self.pid)

    def _timed_cleanup(self, cleanup: Callable[[], None] | None) -> None:
        if cleanup is not None:
            cleanup()
        if self._undo is not None:
            self._undo()

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

    def _fail(self, reason: ExitReason) -> None:
        """Record ``reason`` (the first one wins) and stop the client from another thread."""
        with self._lock:
            if self._reason is not None or self._stopping or self._exited:
                return
            self._reason = reason
        log.launch.warning("%s reported: %s", self.name, reason.message)
        # Never from the watcher itself: it must keep draining the output.
        threading.Thread(target=self._terminate, args=(5.0,), daemon=True).start()

    def _mark_connected(self, how: str) -> None:
        with self._lock:
            if self._connected or self._reason is not None or self._stopping or self._exited:
                return
            self._connected = True
        if self._connect_timer is not None:
            self._connect_timer.cancel()
        log.launch.info("%s (pid %d) connected (%s)", self.name, self.pid, how)
        if self._retitle:
            threading.Thread(
                target=self._name_window, name=f"title-{self.name}", daemon=True
            ).start()
        if self._on_connected is not None:
            try:
                self._on_connected()
            except Exception:
                log.launch.exception("on_connected of %s failed", self.name)

    def _connect_timeout(self) -> None:
        watch = self._connect
        if watch is None or self._connected or self._process.poll() is not None:
            return
        if watch.assume_connected:
            self._mark_connected(f"still running after {watch.timeout:g} s")
        else:
            log.launch.warning(
                "%s (pid %d) gave no sign of a connection within %g s",
                self.name,
                self.pid,
                watch.timeout,
            )
            self._fail(DID_NOT_ANSWER)

    def _take_line(self, line: str) -> None:
        if not line.strip():
            return
        self._last_lines.append(line)
        log.client.info("%s: %s", self.name, line.strip())
        reason = self._classify(line)
        if reason is not None:
            self._fail(reason)
            return
        watch = self._connect
        if watch is not None and watch.connected_line is not None and watch.connected_line(line):
            self._mark_connected("it said so")

    def _watch(self) -> None:
        assert self._process.stdout is not None
        with self._process.stdout as output:
            for raw in output:
                self._take_line(raw.decode("utf-8", "replace").rstrip())
        code = self._process.wait()
        if self._drain is not None:
            self._drain.wait()  # its input ended with the client
        with self._lock:
            self._exited = True
            reason, stopping = self._reason, self._stopping
        if self._connect_timer is not None:
            self._connect_timer.cancel()
        if reason is None and not stopping:
            reason = _killed(self.name, code) if code < 0 else self._exit_reason(code)
        log.launch.info("%s (pid %d) exited with %d", self.name, self.pid, code)
        if self._cleanup is not None:
            self._cleanup()
        if self._undo is not None:
            self._undo()
        try:
            self._on_exit(ClientExit(code, reason, tuple(self._last_lines), self._connected))
        finally:
            self._done.set()


class _LaunchFiles:
    """The private directory of one launch; removed once, from any thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._removed = False
        atexit.register(self.remove)

    def remove(self) -> None:
        with self._lock:
            if self._removed:
                return
            self._removed = True
        atexit.unregister(self.remove)
        try:
            shutil.rmtree(self.directory)
        except FileNotFoundError:
            pass
        except OSError as e:
            log.launch.warning("could not remove launch files in %s: %s", self.directory, e)
        else:
            log.launch.debug("removed launch files in %s", self.directory)


class _PostSteps:
    """A plan's post steps, done once from whichever thread asks first.

    Registered with atexit, so a launcher that quits while the client runs
    still removes a stored credential. A failing step is logged, never
    raised: this runs from timers, the watcher thread and at exit.
    """

    def __init__(self, steps: tuple[Step, ...], run_step: StepRunner, name: str) -> None:
        self._steps = steps
        self._run_step = run_step
        self._name = name
        self._lock = threading.Lock()
        self._done = not steps
        if steps:
            atexit.register(self.run)

    def run(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        atexit.unregister(self.run)
        for step in self._steps:
            try:
                self._run_step(step)
            except Exception as e:
                log.launch.warning("after %s: %s", self._name, e)


def _pre_steps(steps: tuple[Step, ...], run_step: StepRunner, name: str) -> None:
    """Do ``steps``; a failed one is logged and the client asks for what is missing.

    A credential's secret is cleared once handed over, whether or not that worked.
    """
    for step in steps:
        try:
            run_step(step)
        except LaunchError as e:
            log.launch.warning("before %s: %s", name, e)
        finally:
            if isinstance(step, Credential):
                step.password.clear()


def _x11_tool(name: str) -> str | None:
    """``xdotool`` or ``xprop``, where this is an X11 session that has it."""
    if not window.usable(os.environ, platform=platform_key()):
        return None
    return shutil.which(name)


def _run_tool(
    argv: tuple[str, ...], *, timeout: float = 5.0
) -> subprocess.CompletedProcess[str] | None:
    """Run a small X11 tool; None if it could not run (logged, never raised)."""
    try:
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=childenv.for_children(),
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        log.launch.info("%s failed: %s", argv[:2], e)
        return None


def _private_base() -> str | None:
    """Where launch directories go: the user's runtime dir (tmpfs, per user) if any."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return runtime
    return None


def _write_files(plan: LaunchPlan) -> tuple[_LaunchFiles | None, list[str]]:
    if not plan.temp_files:
        return None, []
    files: _LaunchFiles | None = None
    try:
        # mkdtemp makes the directory 0700; the files are created 0600 and
        # never follow a link someone else put there.
        files = _LaunchFiles(Path(tempfile.mkdtemp(prefix="rubicon-launch-", dir=_private_base())))
        paths: list[str] = []
        for index, spec in enumerate(plan.temp_files):
            path = files.directory / f"launch-{index}{spec.suffix}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(path, flags, spec.mode)
            with os.fdopen(fd, "wb") as out:
                out.write(spec.contents)
            os.chmod(path, spec.mode)  # whatever the umask said
            paths.append(str(path))
    except OSError as e:
        if files is not None:
            files.remove()
        raise LaunchError(
            Text(
                "launch.file_unwritable",
                "Could not write the launch file: {why}.",
                why=str(e.strerror or e),
            ),
            hint=Text(
                "launch.file_unwritable.hint", "Check that your temporary folder is writable."
            ),
        ) from e
    return files, paths


def _fill_pipe(data: bytes) -> int:
    """A pipe holding ``data`` with its write end closed; returns the read end."""
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(write_end, False)
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(write_end, view) :]
            except BlockingIOError:
                os.close(read_end)
                raise LaunchError(
                    Text(
                        "launch.pipe_full",
                        "The launch data is too large to hand to the client through a pipe.",
                    ),
                    hint=Text("launch.pipe_full.hint", "Report this to your administrator."),
                ) from None
    finally:
        os.close(write_end)
    return read_end


def start(
    plan: LaunchPlan,
    *,
    name: str,
    classify: Classifier,
    on_exit: Callable[[ClientExit], None],
    cwd: Path | None = None,
    exit_reason: ExitCodeReason | None = None,
    connect: ConnectWatch | None = None,
    on_connected: Callable[[], None] | None = None,
    run_step: StepRunner | None = None,
) -> RunningClient:
    """Start the client described by ``plan``; never blocks on it.

    ``run_step`` does the plan's pre and post steps (default:
    :func:`launcher.core.wincred.run_step`). The secrets of its credential
    steps are cleared by the time this returns or raises.
    """
    try:
        return _start(
            plan,
            name=name,
            classify=classify,
            on_exit=on_exit,
            cwd=cwd,
            exit_reason=exit_reason,
            connect=connect,
            on_connected=on_connected,
            run_step=run_step or wincred.run_step,
        )
    finally:
        for step in plan.pre_steps:
            if isinstance(step, Credential):
                step.password.clear()


def _start(
    plan: LaunchPlan,
    *,
    name: str,
    classify: Classifier,
    on_exit: Callable[[ClientExit], None],
    cwd: Path | None,
    exit_reason: ExitCodeReason | None,
    connect: ConnectWatch | None,
    on_connected: Callable[[], None] | None,
    run_step: StepRunner,
) -> RunningClient:
    env = {**childenv.for_children(), **plan.env}
    files, paths = _write_files(plan)
    post = _PostSteps(plan.post_steps, run_step, name)
    child_fds: list[int] = []
    try:
        for data in plan.pass_fds:
            child_fds.append(_fill_pipe(data))
        argv = substitute(plan.argv, files=paths, fds=child_fds)
        _pre_steps(plan.pre_steps, run_step, name)
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if plan.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            close_fds=True,
            pass_fds=tuple(child_fds),
        )
    except OSError as e:
        post.run()
        if files is not None:
            files.remove()
        raise LaunchError(
            Text(
                "launch.cannot_start",
                "Could not start {program}: {why}.",
                program=plan.argv[0],
                why=str(e.strerror or e),
            ),
            hint=Text(
                "launch.cannot_start.hint", "Check that the client is installed and may be run."
            ),
        ) from e
    except BaseException:
        post.run()
        if files is not None:
            files.remove()
        raise
    finally:
        # The child has its copies; ours would keep the pipes open forever.
        for fd in child_fds:
            os.close(fd)
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
    return RunningClient(
        process,
        name=name,
        classify=classify,
        on_exit=on_exit,
        cleanup=files.remove if files is not None else None,
        cleanup_after=plan.cleanup_after,
        exit_reason=exit_reason,
        connect=connect,
        on_connected=on_connected,
        undo=post.run if plan.post_steps else None,
        title=plan.title,
        retitle=plan.retitle,
    )
