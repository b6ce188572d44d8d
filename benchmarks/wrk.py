"""wrk, the storm's load generator: a bare endpoint's rate, and one request per user.

A load generator must not be what bounds a limit. The storm's httpx client
cost about 1.2 ms of CPU a request, more than the bare endpoint cost the
server, so its "bare endpoint" limit measured the client. wrk (Debian's
``wrk``: an event loop in C, scripted here by ``benchmarks/storm.lua``)
costs a few hundredths of that, and the storm prints what it cost.

Each wrk gets a folder of its own (0700) where the script reads its requests
and writes its answers; ``storm.lua`` describes the files. wrk runs until it
is interrupted (SIGINT), then reports and exits. Its CPU time is read from
/proc after it has exited and before it is reaped: a zombie's entry still
holds the time of all its threads.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import common

SCRIPT = Path(__file__).with_name("storm.lua")
MISSING = "wrk is not installed: apt-get install wrk"
# wrk's -d; it is interrupted as soon as its work is done.
DURATION = "24h"
# A slower answer counts in wrk's "timeout" errors but is still waited for and
# recorded; wrk sizes its latency histogram by it (8 bytes a microsecond).
TIMEOUT = "60s"
STOP_TIMEOUT = 30.0
POLL = 0.05


def find() -> str:
    """wrk's path; exits with what to install if there is none."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(MISSING)
    return path


@dataclass(frozen=True)
class Request:
    """One user's request: the Authorization header's value and the JSON body, each may be ""."""

    user: int
    authorization: str = ""
    body: str = ""


@dataclass(frozen=True)
class Reply:
    """One answer, as storm.lua recorded it; times in seconds of CLOCK_MONOTONIC."""

    user: int
    status: int
    sent: float
    answered: float
    body: str

    @property
    def latency(self) -> float:
        return self.answered - self.sent


@dataclass(frozen=True)
class Target:
    """One server for one wrk: its URL with the path, how many connections, what to send."""

    url: str
    connections: int
    requests: Sequence[Request] = ()


@dataclass
class Result:
    """What one wrk did. ``errors`` are wrk's own counts (connect, read, write, status, timeout)."""

    pid: int
    threads: int
    cpu: float = 0.0  # seconds, all its threads, from start to exit
    seconds: float = 0.0  # wrk's run time, its threads' start to their end
    requests: int = 0  # answers wrk counted
    errors: dict[str, int] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)


@dataclass
class _Run:
    proc: subprocess.Popen[bytes]
    folder: Path
    log: Path
    threads: int


def _start(stack: ExitStack, target: Target, *, folder: Path, method: str, threads: int) -> _Run:
    shutil.rmtree(folder, ignore_errors=True)  # left by an interrupted run in the same --workdir
    folder.mkdir(mode=0o700)
    shares = [target.requests[i::threads] for i in range(threads)] if target.requests else []
    for i, share in enumerate(shares):
        lines = "".join(f"{r.user}\t{r.authorization}\t{r.body}\n" for r in share)
        _private(folder / f"in-{i}").write_text(lines)
        _private(folder / f"out-{i}")  # storm.lua writes answers (tokens) into it
    # Per-user requests: one connection a thread (storm.lua says why).
    connections = threads if shares else target.connections
    argv = [find(), "-t", str(threads), "-c", str(connections)]
    argv += ["-d", DURATION, "--timeout", TIMEOUT, "-s", str(SCRIPT), target.url]
    env = {"RUBICON_WRK_DIR": str(folder), "RUBICON_WRK_METHOD": method}
    log = folder.with_name(folder.name + ".log")
    proc = stack.enter_context(common.process(argv, log, env=env))
    return _Run(proc, folder, log, threads)


def _private(path: Path) -> Path:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether it has exited, without reaping it (so /proc still has its CPU time)."""
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _stop(run: _Run) -> Result:
    """Interrupt wrk, wait for it to report and exit, and read what it left."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while not _exited(run.proc):
        if time.monotonic() > deadline:
            raise RuntimeError(f"wrk (pid {run.proc.pid}) did not stop on SIGINT")
        # Again each second: wrk ignores SIGINT until its threads are started.
        os.kill(run.proc.pid, signal.SIGINT)
        until = min(deadline, time.monotonic() + 1.0)
        while time.monotonic() < until and not _exited(run.proc):
            time.sleep(POLL)
    result = Result(run.proc.pid, run.threads, cpu=common.cpu_seconds(run.proc.pid))
    if run.proc.wait() != 0 or not (run.folder / "summary").exists():
        raise RuntimeError(f"wrk failed ({run.proc.returncode}):\n{run.log.read_text()[-2000:]}")
    summary = dict(line.split() for line in (run.folder / "summary").read_text().splitlines())
    result.seconds = int(summary.pop("duration")) / 1e6
    result.requests = int(summary.pop("requests"))
    result.errors = {name: int(count) for name, count in summary.items()}
    for out in sorted(run.folder.glob("out-*")):
        for line in out.read_text().splitlines():
            user, status, sent, answered, body = line.split("\t", 4)
            reply = Reply(int(user), int(status), int(sent) / 1e6, int(answered) / 1e6, body)
            result.replies.append(reply)
    return result


def fixed_rate(
    targets: Sequence[Target], *, threads: int, seconds: float, workdir: Path, name: str
) -> list[Result]:
    """Each target's URL with GET for ``seconds``: one wrk a target, all at once."""
    with _running(targets, method="GET", workdir=workdir, name=name, threads=threads) as runs:
        time.sleep(seconds)
        return [_stop(run) for run in runs if run is not None]


class Load:
    """The wrks of ``each_once``; ``results`` is filled once they have stopped."""

    def __init__(self, runs: list[_Run | None], stall: float) -> None:
        self._runs = runs
        self._stall = stall
        self.results: list[Result] = []

    def wait(self) -> None:
        """Until every thread has had its share answered, or nothing moved for ``stall`` s.

        After a stall the users left unanswered are simply missing from the
        replies, where the caller counts them.
        """
        runs = [run for run in self._runs if run is not None]
        files = [(run, i) for run in runs for i in range(run.threads)]
        seen, moved = -1, time.monotonic()
        while True:
            for run in runs:
                if _exited(run.proc):
                    raise RuntimeError(
                        f"wrk exited before its work was done:\n{run.log.read_text()[-2000:]}"
                    )
            done = sum((run.folder / f"done-{i}").exists() for run, i in files)
            if done == len(files):
                return
            progress = sum((run.folder / f"out-{i}").stat().st_size for run, i in files) + done
            if progress != seen:
                seen, moved = progress, time.monotonic()
            elif time.monotonic() - moved > self._stall:
                print(f"wrk: nothing answered for {self._stall:.0f} s; stopping", file=sys.stderr)
                return
            time.sleep(POLL)

    @property
    def pids(self) -> list[int]:
        return [run.proc.pid for run in self._runs if run is not None]

    def stop(self) -> None:
        self.results = [Result(0, 0) if run is None else _stop(run) for run in self._runs]


@contextmanager
def each_once(
    targets: Sequence[Target], *, method: str, workdir: Path, name: str, stall: float
) -> Iterator[Load]:
    """One wrk a target, all at once, each request sent once on one of its connections.

    A wrk runs one thread per connection (storm.lua says why). Call
    ``wait()`` inside the block; after it ``results`` has one Result a
    target (an empty one for a target with nothing to send). The folders,
    which hold tokens, are deleted on the way out.
    """
    with _running(targets, method=method, workdir=workdir, name=name, threads=None) as runs:
        load = Load(runs, stall)
        yield load
        load.stop()


@contextmanager
def _running(
    targets: Sequence[Target], *, method: str, workdir: Path, name: str, threads: int | None
) -> Iterator[list[_Run | None]]:
    """A wrk for each target, all at once; stopped (if still running) and their folders
    deleted on the way out.

    ``threads`` None means per-user requests: a thread for each of the
    target's connections, but no more than it has requests, and no wrk
    (None) for a target without any.
    """
    with ExitStack() as stack:
        runs: list[_Run | None] = []
        stack.callback(_remove, runs)
        for i, target in enumerate(targets):
            if threads is None and not target.requests:
                runs.append(None)
                continue
            most = len(target.requests) if threads is None else threads
            folder = workdir / f"{name}-{i + 1}"
            threads_here = min(target.connections, most)
            runs.append(_start(stack, target, folder=folder, method=method, threads=threads_here))
        yield runs


def _remove(runs: list[_Run | None]) -> None:
    for run in runs:
        if run is not None:
            shutil.rmtree(run.folder, ignore_errors=True)
