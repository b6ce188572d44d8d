"""What the benchmarks share: processes, ports, percentiles, seeding."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from broker_stub.demo.xdisplay import free_tcp_port, stop_process

__all__ = [
    "bare_server",
    "cpu_seconds",
    "free_tcp_port",
    "machine_busy",
    "machine_line",
    "percentiles",
    "process",
    "seed",
    "stop_process",
    "tls_args",
    "wait_healthy",
]

HERE = Path(__file__).resolve().parent


def machine_line() -> str:
    return (
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def percentiles(values: Sequence[float]) -> dict[int, float]:
    if not values:
        return {50: 0.0, 95: 0.0, 99: 0.0}
    ordered = sorted(values)
    return {p: ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] for p in (50, 95, 99)}


@contextmanager
def process(
    argv: list[str],
    log: Path,
    timeout: float = 15.0,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (``env`` added to ours), output to ``log``; stop it by PID on the way out.

    It runs in a session of its own: a Ctrl-C reaches only the benchmark,
    which then stops its servers in order instead of having them die under it.
    """
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=HERE.parent,
            env={**os.environ, **env} if env else None,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop_process(proc, timeout)


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes], *, verify: str | bool, log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not healthy after {timeout:.0f} s")


def tls_args(workdir: Path, *, tls: bool) -> list[str]:
    """serve's TLS flags; makes the key and certificate once with `init`."""
    if not tls:
        return ["--insecure-http"]
    tls_dir = workdir / "tls"
    if not (tls_dir / "cert.pem").exists():
        subprocess.run(
            [sys.executable, "-m", "broker_stub.cli", "init", "--dir", str(tls_dir)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    return ["--tls-cert", str(tls_dir / "cert.pem"), "--tls-key", str(tls_dir / "key.pem")]


@contextmanager
def bare_server(
    workdir: Path, *, tls: bool, name: str = "bare", workers: int = 1
) -> Iterator[tuple[str, str | bool, int]]:
    """uvicorn serving benchmarks/bare_app.py the way `serve` serves the broker,
    with as many worker processes.

    Yields its URL, what to verify its certificate with, and its PID; its
    output goes to ``workdir/<name>.log``.
    """
    port = free_tcp_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(HERE),
        "bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    verify: str | bool = False
    if tls:
        tls_args(workdir, tls=True)
        argv += ["--ssl-certfile", str(workdir / "tls/cert.pem")]
        argv += ["--ssl-keyfile", str(workdir / "tls/key.pem")]
        verify = str(workdir / "tls/cert.pem")
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    log = workdir / f"{name}.log"
    with process(argv, log) as proc:
        wait_healthy(url, proc, verify=verify, log=log)
        yield url, verify, proc.pid


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, its reaped children and its live children.

    Linux only (/proc): the broker's own time, or PostgreSQL's postmaster with
    the backend processes it forked. 0 where /proc cannot tell.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        # Fields after the ")" that ends the command name: state is 3, ppid 4,
        # utime 14, stime 15, cutime 16, cstime 17 (proc(5)).
        own = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total += sum(int(x) for x in own[11:15])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile; its time is now in our cutime/cstime
        if int(fields[1]) == pid:
            total += sum(int(x) for x in fields[11:15])
    return total / tick


def machine_busy() -> float:
    """CPU seconds every process on the machine has used since boot (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")


def seed(database_url: str, pools: Path, *, users: int, password: str, group: str) -> None:
    """Schema, pools and ``users`` members of ``group`` named u000000, u000001, ..."""
    from sqlalchemy import insert

    from broker_stub.app import create_app
    from broker_stub.auth.passwords import hash_password
    from broker_stub.db.models import Group, Membership, User
    from broker_stub.settings import BrokerSettings

    app = create_app(BrokerSettings(database_url=database_url, config=pools))
    hashed = hash_password(password)
    with app.state.session_factory() as db:
        group_id = db.scalar(insert(Group).values(name=group).returning(Group.id))
        rows = [
            {"username": f"u{n:06d}", "display_name": f"User {n}", "password_hash": hashed}
            for n in range(users)
        ]
        ids = db.scalars(insert(User).returning(User.id), rows).all()
        db.execute(insert(Membership), [{"user_id": i, "group_id": group_id} for i in ids])
        db.commit()
    app.state.engine.dispose()
