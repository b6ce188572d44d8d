"""Morning login storm against a live broker: sign in and launch every user.

    python benchmarks/storm.py                      # 30,000 users, 64 at a time, HTTP and TLS
    python benchmarks/storm.py --users 2000 --tls off
    python benchmarks/storm.py --smoke              # seconds; what the test suite runs

It seeds N users (one group, entitled to one pool of N + spare machines), starts
`rubicon-broker serve` as a real uvicorn process on loopback, and drives it
with C concurrent clients: each signs in, then launches. It prints sign-ins/s,
launches/s, latency percentiles, errors and double allocations (must be 0),
and, measured on the same machine in the same run, the limits they are bounded
by: argon2id verifications per second with the broker's own parameters on all
cores, and requests per second of a bare endpoint under the same server. Each
figure is printed with its ratio to its limit.

Every user gets the same password hash (one argon2id hash computed once):
verifying it costs exactly what a per-user hash costs, and seeding 30,000
distinct hashes would take longer than the storm.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

PASSWORD = "storm-password"  # noqa: S105 - every seeded user shares it
POOL = "storm"
GROUP = "storm-users"


@dataclass
class Phase:
    """Latencies (seconds) and failures of one kind of request."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0

    def add_error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def summary(self) -> str:
        p = common.percentiles(self.latencies)
        errors = sum(self.errors.values())
        detail = f" {self.errors}" if errors else ""
        return (
            f"{self.name:<9} {len(self.latencies):>7} ok {self.rate:>8.1f}/s  "
            f"p50 {p[50] * 1000:6.1f} ms  p95 {p[95] * 1000:6.1f} ms  "
            f"p99 {p[99] * 1000:6.1f} ms  errors {errors}{detail}"
        )


@dataclass
class Outcome:
    sign_in: Phase
    launch: Phase
    listing_early: list[float]
    listing_late: list[float]
    double_allocations: int
    launch_early: list[float]
    launch_late: list[float]


def write_pools(path: Path, machines: int) -> None:
    lines = [
        "[[pools]]",
        f'id = "{POOL}"',
        'name = "Storm desktop"',
        'protocol = "vnc"',
        f'groups = ["{GROUP}"]',
    ]
    for n in range(machines):
        # Hosts are never contacted: the storm measures the broker alone.
        lines += [
            "[[pools.machines]]",
            f'name = "m{n:06d}"',
            f'host = "10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"',
            "port = 5900",
            'password = "vncpass1"',
        ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


async def storm(base_url: str, users: int, concurrency: int, verify: str | bool) -> Outcome:
    """Sign everyone in, then launch everyone: two phases, each at ``concurrency``.

    Apart, each phase is bounded by what bounds it (argon2id for sign-in, the
    broker's request path and database for launch) instead of both by the slower.
    """
    sign_in, launch = Phase("sign-in"), Phase("launch")
    tokens: dict[int, str] = {}
    handed: dict[tuple[str, int], int] = {}
    doubles = 0
    launch_times: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, verify=verify, limits=limits, timeout=300
    ) as http:
        listing_early = await list_desktops(http, users, samples=20)

        async def sign_in_one(n: int) -> None:
            body = {"username": f"u{n:06d}", "password": PASSWORD}
            token = await timed(sign_in, lambda: http.post("/api/v1/auth/login", json=body))
            if token is not None:
                tokens[n] = str(token["token"])

        async def launch_one(n: int) -> None:
            nonlocal doubles
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            started = time.perf_counter()
            reply = await timed(
                launch, lambda: http.post(f"/api/v1/desktops/{POOL}/launch", headers=headers)
            )
            if reply is None:
                return
            launch_times.append((n, time.perf_counter() - started))
            where = (reply["connection"]["host"], reply["connection"]["port"])
            if handed.setdefault(where, n) != n:
                doubles += 1

        sign_in.wall = await run_all(sign_in_one, range(users), concurrency)
        launch.wall = await run_all(launch_one, sorted(tokens), concurrency)
        listing_late = await list_desktops(http, users, samples=20)

    launch_times.sort()
    tenth = max(1, len(launch_times) // 10)
    return Outcome(
        sign_in=sign_in,
        launch=launch,
        listing_early=listing_early,
        listing_late=listing_late,
        double_allocations=doubles,
        launch_early=[t for _, t in launch_times[:tenth]],
        launch_late=[t for _, t in launch_times[-tenth:]],
    )


async def run_all(
    one: Callable[[int], Awaitable[None]], items: Iterable[int], concurrency: int
) -> float:
    """Run ``one`` over ``items`` with ``concurrency`` workers; the wall time."""
    queue = list(items)
    queue.reverse()

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def timed(
    phase: Phase, call: Callable[[], Awaitable[httpx.Response]]
) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        response = await call()
    except httpx.HTTPError as e:
        phase.add_error(type(e).__name__)
        return None
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        code = response.json().get("code", str(response.status_code))
        phase.add_error(code)
        return None
    phase.latencies.append(elapsed)
    body: dict[str, Any] = response.json()
    return body


async def list_desktops(http: httpx.AsyncClient, users: int, *, samples: int) -> list[float]:
    """Latencies of the desktop list of one more user (entitled like the rest)."""
    user = f"u{users:06d}"
    token = (
        await http.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.get("/api/v1/desktops", headers=headers)
        response.raise_for_status()
        out.append(time.perf_counter() - started)
    return out


# -- limits --------------------------------------------------------------------


def _verify_for(seconds: float) -> int:
    from broker_stub.auth.passwords import hash_password, verify_password

    hashed = hash_password(PASSWORD)
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        verify_password(hashed, PASSWORD)
        done += 1
    return done


def argon2_limit(seconds: float = 5.0) -> float:
    """argon2id verifications per second with the broker's parameters, all cores."""
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        counts = pool.map(_verify_for, [seconds] * cores)
    return sum(counts) / seconds


async def bare_limit(base_url: str, concurrency: int, verify: str | bool, seconds: float) -> float:
    """Requests per second of a bare endpoint, same server, same client."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    async with httpx.AsyncClient(base_url=base_url, verify=verify, limits=limits) as http:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                (await http.get("/bare")).raise_for_status()
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - t0)


# -- running it ----------------------------------------------------------------


@contextmanager
def broker(workdir: Path, database_url: str, *, tls: bool) -> Iterator[tuple[str, str | bool]]:
    port = common.free_tcp_port()
    argv = [
        sys.executable,
        "-m",
        "broker_stub.cli",
        "serve",
        "--config",
        str(workdir / "pools.toml"),
        "--database-url",
        database_url,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    argv += common.tls_args(workdir, tls=tls)
    scheme = "https" if tls else "http"
    with common.process(argv, workdir / f"broker-{scheme}.log") as proc:
        url = f"{scheme}://127.0.0.1:{port}"
        verify: str | bool = str(workdir / "tls" / "cert.pem") if tls else False
        common.wait_healthy(url, proc, verify=verify, log=workdir / f"broker-{scheme}.log")
        yield url, verify


def run(args: argparse.Namespace) -> int:
    print(common.machine_line())
    with tempfile.TemporaryDirectory(prefix="rubicon-storm-") as tmp:
        workdir = Path(tmp)
        spare = max(10, args.users // 100)
        t0 = time.perf_counter()
        write_pools(workdir / "pools.toml", args.users + spare)
        print(f"pools file: {args.users + spare} machines ({time.perf_counter() - t0:.1f} s)")

        limit_verify = argon2_limit(args.limit_seconds)
        print(f"limit: argon2id verifications {limit_verify:.1f}/s on {os.cpu_count()} cores")
        with common.bare_server(workdir, tls=False) as (bare_url, bare_verify):
            limit_bare = asyncio.run(
                bare_limit(bare_url, args.concurrency, bare_verify, args.limit_seconds)
            )
        print(f"limit: bare endpoint {limit_bare:.0f} requests/s (plain HTTP)")

        failed = False
        for tls in args.tls_modes:
            database_url = f"sqlite:///{workdir / f'storm-{tls}.sqlite3'}"
            t0 = time.perf_counter()
            # One user more than the storm signs in: it samples the desktop list.
            common.seed(
                database_url,
                workdir / "pools.toml",
                users=args.users + 1,
                password=PASSWORD,
                group=GROUP,
            )
            print(
                f"\n== {'TLS' if tls else 'plain HTTP'}: {args.users} users at concurrency "
                f"{args.concurrency} (seeded in {time.perf_counter() - t0:.1f} s)"
            )
            with broker(workdir, database_url, tls=tls) as (url, verify):
                outcome = asyncio.run(storm(url, args.users, args.concurrency, verify))
            failed |= report(outcome, limit_verify, limit_bare)
        return 1 if failed else 0


def report(outcome: Outcome, limit_verify: float, limit_bare: float) -> bool:
    print(outcome.sign_in.summary())
    print(outcome.launch.summary())
    print(
        f"ratios    sign-ins/s ÷ argon2id limit = {outcome.sign_in.rate / limit_verify:.2f} "
        f"(target ≥ 0.80); launches/s ÷ bare endpoint = {outcome.launch.rate / limit_bare:.2f} "
        f"(target: ≥ 500 launches/s, p99 < 100 ms at 64 concurrent)"
    )
    early, late = statistics.median(outcome.launch_early), statistics.median(outcome.launch_late)
    list_early = statistics.median(outcome.listing_early)
    list_late = statistics.median(outcome.listing_late)
    print(
        f"growth    launch median first 10% {early * 1000:.1f} ms, last 10% {late * 1000:.1f} ms "
        f"(×{late / early:.2f}); desktop list before {list_early * 1000:.1f} ms, "
        f"after {list_late * 1000:.1f} ms (×{list_late / list_early:.2f})"
    )
    print(f"double allocations: {outcome.double_allocations} (must be 0)")
    errors = sum(outcome.sign_in.errors.values()) + sum(outcome.launch.errors.values())
    return outcome.double_allocations > 0 or errors > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tls", choices=["on", "off", "both"], default="both")
    parser.add_argument("--limit-seconds", type=float, default=5.0)
    parser.add_argument("--smoke", action="store_true", help="tiny run: 40 users, 8 at a time")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.concurrency, args.limit_seconds = 40, 8, 0.5
    args.tls_modes = {"on": [True], "off": [False], "both": [False, True]}[args.tls]
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
