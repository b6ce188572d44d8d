"""What the benchmarks share: processes, ports, percentiles, seeding."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from broker_stub.xdisplay import free_tcp_port, stop_process

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
def process(argv: list[str], log: Path, timeout: float = 15.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` with output to ``log``; stop it by PID on the way out."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent)
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
def bare_server(workdir: Path, *, tls: bool) -> Iterator[tuple[str, str | bool]]:
    """uvicorn serving benchmarks/bare_app.py the way `serve` serves the broker."""
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
    ]
    verify: str | bool = False
    if tls:
        tls_args(workdir, tls=True)
        argv += ["--ssl-certfile", str(workdir / "tls/cert.pem")]
        argv += ["--ssl-keyfile", str(workdir / "tls/key.pem")]
        verify = str(workdir / "tls/cert.pem")
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    with process(argv, workdir / "bare.log") as proc:
        wait_healthy(url, proc, verify=verify, log=workdir / "bare.log")
        yield url, verify


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
