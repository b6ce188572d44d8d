"""Morning login storm against live brokers: sign in and launch every user.

    python benchmarks/storm.py                      # 30,000 users, 64 at a time, HTTP and TLS
    python benchmarks/storm.py --users 2000 --tls off
    python benchmarks/storm.py --database postgresql --nodes 2   # two brokers, one PostgreSQL
    python benchmarks/storm.py --smoke              # seconds; what the test suite runs

It seeds N users (one group, entitled to one pool of N + spare machines),
starts `rubicon-broker serve` nodes on loopback, each with one worker process
per core by default (`--workers`): one node on a SQLite file, or several on
one database of a throwaway PostgreSQL cluster. Then wrk (Debian's `wrk`,
scripted by benchmarks/storm.lua) signs every user in once, then launches
every user once, C connections at a time. With several nodes, one wrk per
node runs at C/k connections, all at once; user n signs in on node n mod k
and launches on the next node, so every token is used on a node that did
not issue it.

It prints, per node and in total, sign-ins/s, launches/s, latency
percentiles and errors; and, measured on the same machine just before each
storm, the limits they are bounded by: argon2id verifications per second
with the broker's own parameters on all cores, and requests per second of a
bare endpoint under the same server (as many processes, same transport),
driven by the same wrk at the same concurrency. Each figure is printed with
its ratio to its limit, by rate and by CPU time: the CPU each request cost
the brokers and PostgreSQL (from /proc), against what an operation of the
limit cost. wrk's own CPU is printed too, so a reader sees that the load
generator is not what bounds a figure, and is left out of the CPU ratios.
It also prints how busy the machine was and how much of that was other
programs.

No slowdown with many tracked sessions: a few probe users launch and list
their desktops one request at a time, on a quiet broker, before the storm (no
sessions) and after it (N sessions); the medians are printed as a ratio.

Double allocations (must be 0) are counted from the launch answers and from
the database itself after the storm: a machine under two live sessions, a
user with two live sessions in one pool, a machine whose holder is not its
session's user, a launch answer that differs from what the database holds.

Every user gets the same password hash (one argon2id hash computed once):
verifying it costs exactly what a per-user hash costs, and seeding 30,000
distinct hashes would take longer than the storm. The pool's pre-launch
timeout and the token idle timeout are raised so that a slow storm's early
sessions and tokens do not expire before the end; neither changes what a
request costs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common, wrk  # noqa: E402

if TYPE_CHECKING:
    from benchmarks.pg_cluster import PostgresServer

PASSWORD = "storm-password"  # noqa: S105 - every seeded user shares it
POOL = "storm"
GROUP = "storm-users"
SIGN_IN = "/api/v1/auth/login"
LAUNCH = f"/api/v1/desktops/{POOL}/launch"
# Long enough for any storm: sessions stay pending (nobody starts a client)
# and tokens wait between the sign-in phase and the launch phase.
PRELAUNCH_TIMEOUT = "1d"
# Every storm user signs in from 127.0.0.1, and an address's sign-ins being
# checked count towards its throttle (20 by default): a burst from one
# address is refused in part, as docs/admin.md says for sites behind one NAT
# address, which raise it the same way.
BROKER_ENV = {
    "RUBICON_BROKER_TOKEN_IDLE_TIMEOUT": "PT12H",
    "RUBICON_BROKER_THROTTLE_FAILURES": "1000",
}
LIST_SAMPLES_PER_PROBE = 3
# A probe's request may take this long; a storm phase in which nothing is
# answered for this long is stopped, its unanswered users counted as errors.
REQUEST_TIMEOUT = 300.0
# Below uvicorn's keep-alive timeout (5 s): a connection the server is closing
# as it is reused fails with ReadError, which would count as a broker error.
KEEPALIVE_EXPIRY = 2.0
# wrk's errors that are about the connection, not the answer.
SOCKET_ERRORS = ("connect", "read", "write")
TARGET_SIGN_IN_RATIO = 0.8
TARGET_LAUNCHES = 500.0
TARGET_LAUNCH_P99 = 0.100


@dataclass
class Phase:
    """Latencies (seconds) and failures of one kind of request."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    socket_errors: Counter[str] = field(default_factory=Counter)  # wrk's, not per user
    wall: float = 0.0
    cpu: float = 0.0  # seconds of the broker process(es) while the phase ran

    def add(self, reply: wrk.Reply) -> None:
        if reply.status == 200:
            self.latencies.append(reply.latency)
        else:
            self.errors[problem_code(reply)] += 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def p99(self) -> float:
        return common.percentiles(self.latencies)[99]

    @classmethod
    def total(cls, name: str, parts: list[Phase]) -> Phase:
        out = cls(name, wall=max((p.wall for p in parts), default=0.0))
        for part in parts:
            out.latencies += part.latencies
            out.errors.update(part.errors)
            out.socket_errors.update(part.socket_errors)
            out.cpu += part.cpu
        return out

    def summary(self) -> str:
        p = common.percentiles(self.latencies)
        detail = f" {dict(self.errors)}" if self.errors else ""
        sockets = +self.socket_errors  # only the non-zero counts
        if sockets:
            detail += f" (wrk socket errors: {dict(sockets)})"
        return (
            f"{self.name:<12} {len(self.latencies):>7} ok {self.rate:>8.1f}/s  "
            f"p50 {p[50] * 1000:7.1f} ms  p95 {p[95] * 1000:7.1f} ms  "
            f"p99 {p[99] * 1000:7.1f} ms  errors {self.error_count}{detail}"
        )


def problem_code(reply: wrk.Reply) -> str:
    """The problem's stable ``code``, else the HTTP status."""
    try:
        return str(json.loads(reply.body).get("code", reply.status))
    except (ValueError, AttributeError):
        return str(reply.status)


@dataclass
class Measured:
    """One storm phase: a Phase per node, every answer, and the CPU around it."""

    parts: list[Phase]
    replies: list[wrk.Reply]
    generator: float  # CPU seconds of the wrk processes
    database: float | None  # of PostgreSQL, if it runs apart
    machine: float  # of every process on the machine

    @property
    def ok(self) -> list[wrk.Reply]:
        return [r for r in self.replies if r.status == 200]


@dataclass(frozen=True)
class Answer:
    """What a launch answered: the session and where to connect."""

    session_id: str
    host: str
    port: int


@dataclass
class Probe:
    """Quiet, one-at-a-time launches and desktop lists of a few extra users."""

    launches: list[float] = field(default_factory=list)
    listings: list[float] = field(default_factory=list)


@dataclass
class Outcome:
    sign_in: Measured
    launch: Measured
    answers: dict[str, Answer]  # username -> launch answer: storm, probes, warm-up
    sessions_before: int  # live sessions after the warm-up and the probes before the storm
    before: Probe
    after: Probe


@dataclass(frozen=True)
class Node:
    url: str
    verify: str | bool  # the certificate to trust (TLS), or False
    pid: int


def write_pools(path: Path, machines: int) -> None:
    lines = [
        "[[pools]]",
        f'id = "{POOL}"',
        'name = "Storm desktop"',
        'protocol = "vnc"',
        # Made-up hosts the broker must not probe: the storm measures the broker alone.
        "health_check = false",
        f'prelaunch_timeout = "{PRELAUNCH_TIMEOUT}"',
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


def username(n: int) -> str:
    return f"u{n:06d}"


def share(total: int, parts: int, i: int) -> int:
    """Part ``i`` of ``total`` split as evenly as whole numbers allow."""
    return total // parts + (i < total % parts)


# -- the storm -----------------------------------------------------------------


def storm(
    nodes: list[Node],
    *,
    users: int,
    concurrency: int,
    probes: int,
    database_pid: int | None,
    workdir: Path,
) -> Outcome:
    """Probe, sign everyone in, launch everyone, probe again.

    The two storm phases run apart, each at ``concurrency``, so each is bounded
    by what bounds it (argon2id for sign-in, the broker's request path and
    database for launch) instead of both by the slower.
    """
    k = len(nodes)
    answers: dict[str, Answer] = {}
    with probe_clients(nodes) as clients:
        # Untimed: every node's first launch and list, and the first connections.
        warm = users + 2 * probes
        probe(clients, range(warm, warm + k), answers)
        before = probe(clients, range(users, users + probes), answers)
        sessions_before = len(answers)

        def run(name: str, requests: list[wrk.Request], node_of: Callable[[int], int]) -> Measured:
            return run_phase(
                nodes,
                requests,
                node_of=node_of,
                path=SIGN_IN if name == "sign-in" else LAUNCH,
                concurrency=concurrency,
                database_pid=database_pid,
                workdir=workdir,
                name=name,
            )

        sign_in = run(
            "sign-in",
            [
                wrk.Request(n, body=json.dumps({"username": username(n), "password": PASSWORD}))
                for n in range(users)
            ],
            lambda n: n % k,
        )
        tokens = {r.user: str(json.loads(r.body)["token"]) for r in sign_in.ok}
        launch = run(
            "launch",
            [wrk.Request(n, authorization=f"Bearer {tokens[n]}") for n in sorted(tokens)],
            lambda n: (n + 1) % k,
        )
        for reply in launch.ok:
            answers[username(reply.user)] = answer_of(json.loads(reply.body))
        after = probe(clients, range(users + probes, users + 2 * probes), answers)
    return Outcome(
        sign_in=sign_in,
        launch=launch,
        answers=answers,
        sessions_before=sessions_before,
        before=before,
        after=after,
    )


def run_phase(
    nodes: list[Node],
    requests: list[wrk.Request],
    *,
    node_of: Callable[[int], int],
    path: str,
    concurrency: int,
    database_pid: int | None,
    workdir: Path,
    name: str,
) -> Measured:
    """Every request once, by one wrk per node, all at once; CPU until the last answer."""
    k = len(nodes)
    shares = [[r for r in requests if node_of(r.user) == i] for i in range(k)]
    targets = [
        wrk.Target(node.url + path, share(concurrency, k, i), mine)
        for i, (node, mine) in enumerate(zip(nodes, shares, strict=True))
    ]
    brokers = [common.cpu_seconds(n.pid) for n in nodes]
    database = common.cpu_seconds(database_pid) if database_pid else 0.0
    busy = common.machine_busy()
    with wrk.each_once(
        targets, method="POST", workdir=workdir, name=f"wrk-{name}", stall=REQUEST_TIMEOUT
    ) as load:
        load.wait()
        brokers = [common.cpu_seconds(n.pid) - cpu for n, cpu in zip(nodes, brokers, strict=True)]
        database = common.cpu_seconds(database_pid) - database if database_pid else 0.0
        busy = common.machine_busy() - busy
    replies = [r for result in load.results for r in result.replies]
    # First request sent to last answer received, over all nodes.
    wall = max(r.answered for r in replies) - min(r.sent for r in replies) if replies else 0.0
    parts = []
    for i, (result, mine, cpu) in enumerate(zip(load.results, shares, brokers, strict=True)):
        part = Phase(f"  node {i + 1}", wall=wall, cpu=cpu)
        for reply in result.replies:
            part.add(reply)
        answered = {r.user for r in result.replies}
        missing = sum(r.user not in answered for r in mine)
        if missing:
            part.errors["no answer"] += missing
        part.socket_errors.update({e: result.errors.get(e, 0) for e in SOCKET_ERRORS})
        parts.append(part)
    generator = sum(r.cpu for r in load.results)
    return Measured(parts, replies, generator, database if database_pid else None, busy)


def answer_of(reply: dict[str, Any]) -> Answer:
    connection = reply["connection"]
    return Answer(str(reply["session_id"]), str(connection["host"]), int(connection["port"]))


@contextmanager
def probe_clients(nodes: list[Node]) -> Iterator[list[httpx.Client]]:
    """One client per node, each with one keep-alive connection: one launcher's worth."""
    limits = httpx.Limits(
        max_connections=1,
        max_keepalive_connections=1,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                httpx.Client(
                    base_url=n.url,
                    verify=ssl.create_default_context(cafile=n.verify)
                    if isinstance(n.verify, str)
                    else False,
                    limits=limits,
                    timeout=REQUEST_TIMEOUT,
                )
            )
            for n in nodes
        ]


def probe(clients: list[httpx.Client], numbers: Iterable[int], answers: dict[str, Answer]) -> Probe:
    """Each user signs in, launches, then lists its desktops; one request at a time."""
    out = Probe()
    for i, n in enumerate(numbers):
        login = clients[i % len(clients)]
        http = clients[(i + 1) % len(clients)]
        body = {"username": username(n), "password": PASSWORD}
        response = login.post(SIGN_IN, json=body)
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {response.json()['token']}"}
        # A connection that outlived its keep-alive would time a new handshake.
        http.get("/healthz").raise_for_status()
        started = time.perf_counter()
        response = http.post(LAUNCH, headers=headers)
        out.launches.append(time.perf_counter() - started)
        response.raise_for_status()
        answers[username(n)] = answer_of(response.json())
        for _ in range(LIST_SAMPLES_PER_PROBE):
            started = time.perf_counter()
            response = http.get("/api/v1/desktops", headers=headers)
            out.listings.append(time.perf_counter() - started)
            response.raise_for_status()
            desktop = response.json()["desktops"][0]
            if (
                desktop["session"] is None
                or desktop["session"]["id"] != answers[username(n)].session_id
            ):
                raise RuntimeError(f"{username(n)}'s desktop list does not show its session")
    return out


# -- double allocations, in the database itself ----------------------------------


@dataclass
class Audit:
    """What the database holds after the storm, checked against the answers."""

    live_sessions: int
    machine_twice: int  # machines under more than one live session
    user_twice: int  # (user, pool) pairs with more than one live session
    holder_differs: int  # live sessions whose machine is not held by their user
    answer_differs: int  # answers whose session or machine the database does not hold
    answered_twice: int  # machines the answers handed to more than one user

    @property
    def double_allocations(self) -> int:
        return (
            self.machine_twice
            + self.user_twice
            + self.holder_differs
            + self.answer_differs
            + self.answered_twice
        )


def audit_database(database_url: str, answers: dict[str, Answer]) -> Audit:
    from sqlalchemy import create_engine, func, select

    from broker_stub.db.models import LIVE_SESSION_STATES, DesktopSession, Machine, User

    live = DesktopSession.state.in_(LIVE_SESSION_STATES)
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            machine_twice = db.scalar(
                select(func.count()).select_from(
                    select(DesktopSession.machine_id)
                    .where(live)
                    .group_by(DesktopSession.machine_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            user_twice = db.scalar(
                select(func.count()).select_from(
                    select(DesktopSession.user_id, DesktopSession.pool_id)
                    .where(live)
                    .group_by(DesktopSession.user_id, DesktopSession.pool_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            rows = db.execute(
                select(
                    User.username,
                    DesktopSession.id,
                    DesktopSession.user_id,
                    Machine.assigned_user_id,
                    Machine.host,
                    Machine.port,
                )
                .join(User, User.id == DesktopSession.user_id)
                .join(Machine, Machine.id == DesktopSession.machine_id)
                .where(live)
            ).all()
    finally:
        engine.dispose()
    held: dict[str, Answer] = {}
    holder_differs = 0
    for name, session_id, user_id, holder, host, port in rows:
        held[name] = Answer(session_id, host, port)
        holder_differs += holder != user_id
    answer_differs = sum(held.get(name) != answer for name, answer in answers.items())
    machines = Counter((a.host, a.port) for a in answers.values())
    return Audit(
        live_sessions=len(rows),
        machine_twice=machine_twice or 0,
        user_twice=user_twice or 0,
        holder_differs=holder_differs,
        answer_differs=answer_differs,
        answered_twice=sum(count - 1 for count in machines.values()),
    )


# -- limits --------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    rate: float  # operations per second
    cpu: float  # CPU seconds per operation: the verifying processes, or the servers
    others: float  # cores other programs kept busy meanwhile
    generator: float | None = None  # wrk's CPU seconds per request, for the bare endpoint

    def describe(self) -> str:
        each = f"{ms(self.cpu)} ms CPU each"
        if self.generator is not None:
            each = f"servers {each} + wrk {ms(self.generator)} ms"
        return f"{each}, others used {self.others:.2f} cores meanwhile"


def ms(seconds: float) -> str:
    """Milliseconds with two decimals, or three below 0.1 ms (wrk's share is that small)."""
    return f"{seconds * 1000:.{2 if seconds >= 0.0001 else 3}f}"


def _verify_for(seconds: float, start: Any, results: Any) -> None:
    from broker_stub.auth.passwords import hash_password, verify_password

    hashed = hash_password(PASSWORD)
    start.wait()
    busy, cpu, t0 = common.machine_busy(), time.process_time(), time.perf_counter()
    done = 0
    while time.perf_counter() - t0 < seconds:
        verify_password(hashed, PASSWORD)
        done += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu
    results.put((done, cpu, wall, busy, common.machine_busy()))


def argon2_limit(seconds: float = 5.0) -> Limit:
    """argon2id verifications per second with the broker's parameters: one process a core."""
    cores = os.cpu_count() or 1
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(cores), ctx.Queue()
    procs = [ctx.Process(target=_verify_for, args=(seconds, start, results)) for _ in range(cores)]
    for proc in procs:
        proc.start()
    try:
        counts = [results.get(timeout=seconds + 120) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()
    done = sum(c[0] for c in counts)
    cpu = sum(c[1] for c in counts)
    wall = max(c[2] for c in counts)
    busy = max(c[4] for c in counts) - min(c[3] for c in counts)
    rate = sum(c[0] / c[2] for c in counts)
    return Limit(rate, cpu / max(done, 1), max(0.0, busy - cpu) / wall)


def bare_limit(nodes: list[Node], *, concurrency: int, seconds: float, workdir: Path) -> Limit:
    """Requests per second of a bare endpoint: same servers, same wrk, same spread."""
    k = len(nodes)
    targets = [wrk.Target(n.url + "/bare", share(concurrency, k, i)) for i, n in enumerate(nodes)]
    servers = sum(common.cpu_seconds(n.pid) for n in nodes)
    busy = common.machine_busy()
    t0 = time.perf_counter()
    results = wrk.fixed_rate(
        targets, threads=os.cpu_count() or 1, seconds=seconds, workdir=workdir, name="wrk-bare"
    )
    wall = time.perf_counter() - t0
    busy = common.machine_busy() - busy
    servers = sum(common.cpu_seconds(n.pid) for n in nodes) - servers
    failed = {e: sum(r.errors.get(e, 0) for r in results) for e in (*SOCKET_ERRORS, "status")}
    if any(failed.values()):
        raise RuntimeError(f"the bare endpoint failed requests: {failed}")
    done = max(1, sum(r.requests for r in results))
    generator = sum(r.cpu for r in results)
    return Limit(
        rate=sum(r.requests / r.seconds for r in results if r.seconds),
        cpu=servers / done,
        others=max(0.0, busy - servers - generator) / wall,
        generator=generator / done,
    )


def wrk_spread(concurrency: int, nodes: int, *, threads: int) -> str:
    """How wrk ran against one node, as its options."""
    c = share(concurrency, nodes, 0)
    each = " a node" if nodes > 1 else ""
    return f"wrk -t {min(threads, c)} -c {c}{each}"


# -- running it ----------------------------------------------------------------


@contextmanager
def broker(
    workdir: Path, database_url: str, *, tls: bool, name: str, workers: int
) -> Iterator[Node]:
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
        "--workers",
        str(workers),
    ]
    argv += common.tls_args(workdir, tls=tls)
    scheme = "https" if tls else "http"
    log = workdir / f"{name}-{scheme}.log"
    with common.process(argv, log, env=BROKER_ENV) as proc:
        url = f"{scheme}://127.0.0.1:{port}"
        verify: str | bool = str(workdir / "tls" / "cert.pem") if tls else False
        # It applies the pools file first: 30,000 machines take a while on a busy machine.
        common.wait_healthy(url, proc, verify=verify, log=log, timeout=600)
        yield Node(url, verify, proc.pid)


@contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """A throwaway cluster for the run; stopped and deleted on the way out."""
    from benchmarks import pg_cluster

    bindir = pg_cluster.find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    server = pg_cluster.start_postgres(bindir, own_session=True)
    print(f"PostgreSQL: {bindir.parent.name} on port {server.port}, pid {server.pid}")
    try:
        yield server
    finally:
        server.stop()


def wrk_version() -> str:
    # `wrk -v` prints its version line, then its usage, and exits 1.
    done = subprocess.run([wrk.find(), "-v"], capture_output=True, text=True, timeout=10)
    return done.stdout.splitlines()[0] if done.stdout else "wrk"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run(args: argparse.Namespace) -> int:
    print(common.machine_line())
    print(f"load generator: {wrk_version()}")
    with ExitStack() as stack:
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="rubicon-storm-"))
            )
        # u000000... storm, then the probes before and after, then one warm-up user per node.
        seeded_users = args.users + 2 * args.probes + args.nodes
        machines = seeded_users + max(10, args.users // 100)
        t0 = time.perf_counter()
        write_pools(workdir / "pools.toml", machines)
        print(f"pools file: {machines} machines ({time.perf_counter() - t0:.1f} s)")
        cluster = stack.enter_context(postgres_cluster()) if args.database == "postgresql" else None

        failed = False
        for tls in args.tls_modes:
            transport = "TLS" if tls else "plain HTTP"
            if cluster is not None:
                database_url = cluster.create_database("storm")
                where = f"PostgreSQL, {args.nodes} node{'s' if args.nodes > 1 else ''}"
            else:
                sqlite = workdir / ("storm-tls.sqlite3" if tls else "storm-http.sqlite3")
                for old in (sqlite, *(sqlite.with_name(sqlite.name + x) for x in ("-wal", "-shm"))):
                    old.unlink(missing_ok=True)  # from an earlier run in the same --workdir
                database_url = f"sqlite:///{sqlite}"
                where = "SQLite, 1 node"
            print(
                f"\n== {where} of {args.workers} worker{'s' if args.workers > 1 else ''}, "
                f"{transport}: {args.users} users at concurrency {args.concurrency} "
                f"(load average {load()})"
            )
            limit_verify = argon2_limit(args.limit_seconds)
            print(
                f"limit     argon2id verifications {limit_verify.rate:.1f}/s on "
                f"{os.cpu_count()} cores, {limit_verify.describe()}"
            )
            with ExitStack() as bare_stack:
                bare = [
                    Node(
                        *bare_stack.enter_context(
                            common.bare_server(
                                workdir, tls=tls, name=f"bare-{i + 1}", workers=args.workers
                            )
                        )
                    )
                    for i in range(args.nodes)
                ]
                limit_bare = bare_limit(
                    bare,
                    concurrency=args.concurrency,
                    seconds=args.limit_seconds,
                    workdir=workdir,
                )
            spread = wrk_spread(args.concurrency, args.nodes, threads=os.cpu_count() or 1)
            print(
                f"limit     bare endpoint {limit_bare.rate:.0f} requests/s "
                f"({args.nodes} × {args.workers} uvicorn worker{'s' if args.workers > 1 else ''}, "
                f"{transport}, {spread}), {limit_bare.describe()}"
            )
            t0 = time.perf_counter()
            common.seed(
                database_url,
                workdir / "pools.toml",
                users=seeded_users,
                password=PASSWORD,
                group=GROUP,
            )
            print(f"seeded    {seeded_users} users in {time.perf_counter() - t0:.1f} s")
            with ExitStack() as nodes_stack:
                # One after the other: each applies the pools file as it starts.
                nodes = [
                    nodes_stack.enter_context(
                        broker(
                            workdir,
                            database_url,
                            tls=tls,
                            name=f"node-{i + 1}",
                            workers=args.workers,
                        )
                    )
                    for i in range(args.nodes)
                ]
                outcome = storm(
                    nodes,
                    users=args.users,
                    concurrency=args.concurrency,
                    probes=args.probes,
                    database_pid=cluster.pid if cluster is not None else None,
                    workdir=workdir,
                )
            audit = audit_database(database_url, outcome.answers)
            failed |= report(outcome, audit, limit_verify, limit_bare, args)
            print(f"load average now {load()}")
        return 1 if failed else 0


def report(
    outcome: Outcome,
    audit: Audit,
    limit_verify: Limit,
    limit_bare: Limit,
    args: argparse.Namespace,
) -> bool:
    measured = {"sign-in": outcome.sign_in, "launch": outcome.launch}
    totals = {name: Phase.total(name, m.parts) for name, m in measured.items()}
    for name, total in totals.items():
        print(total.summary())
        if len(measured[name].parts) > 1:
            for part in measured[name].parts:
                print(part.summary())
    cpu = {name: cpu_per_request(totals[name], m) for name, m in measured.items()}
    for name, m in measured.items():
        print(cpu_line(name, cpu[name]))
        wall = totals[name].wall or 1.0
        ours = totals[name].cpu + m.generator + (m.database or 0.0)
        print(
            f"          machine busy {m.machine / wall:.2f} of {os.cpu_count()} cores "
            f"during the {name} phase, others' share {max(0.0, m.machine - ours) / wall:.2f}"
        )
    sign_in, launch = totals["sign-in"], totals["launch"]
    sign_in_ratio = sign_in.rate / limit_verify.rate
    print(
        f"ratios    sign-ins/s ÷ argon2id limit = {sign_in_ratio:.2f} by rate, "
        f"{cpu_ratio(limit_verify.cpu, cpu['sign-in'])} by CPU; "
        f"launches/s ÷ bare endpoint = {launch.rate / limit_bare.rate:.2f} by rate, "
        f"{cpu_ratio(limit_bare.cpu, cpu['launch'])} by CPU"
    )
    print(
        "          (by CPU: the limit's CPU per operation ÷ the phase's CPU per request in "
        "brokers + PostgreSQL; wrk's CPU is left out of both sides)"
    )
    print(
        f"targets   sign-ins ≥ {TARGET_SIGN_IN_RATIO:.1f} × argon2id: "
        f"{verdict(sign_in_ratio >= TARGET_SIGN_IN_RATIO)}; "
        f"launches ≥ {TARGET_LAUNCHES:.0f}/s: {verdict(launch.rate >= TARGET_LAUNCHES)}; "
        f"launch p99 < {TARGET_LAUNCH_P99 * 1000:.0f} ms: "
        f"{verdict(launch.p99 < TARGET_LAUNCH_P99)}"
        + ("" if args.concurrency == 64 else " (the targets are for concurrency 64)")
    )
    b, a = outcome.before, outcome.after
    quiet_launch = ratio_line(b.launches, a.launches)
    quiet_list = ratio_line(b.listings, a.listings)
    # In the order they were sent.
    launched = [r.latency for r in sorted(outcome.launch.ok, key=lambda r: r.sent)]
    tenth = max(1, len(launched) // 10)
    load_launch = ratio_line(launched[:tenth], launched[-tenth:])
    print(
        f"tracked   {outcome.sessions_before} → {audit.live_sessions} live sessions: "
        f"launch {quiet_launch}, desktop list {quiet_list} "
        f"(medians, one request at a time)"
    )
    print(f"          under load: launch median first 10% → last 10% {load_launch}")
    print(
        f"database  {audit.live_sessions} live sessions, {len(outcome.answers)} launches answered; "
        f"machines under two live sessions {audit.machine_twice}, "
        f"users with two in one pool {audit.user_twice}, "
        f"machines held by someone else {audit.holder_differs}, "
        f"answers not in the database {audit.answer_differs}, "
        f"machines answered to two users {audit.answered_twice}"
    )
    print(f"double allocations: {audit.double_allocations} (must be 0)")
    errors = sign_in.error_count + launch.error_count
    return audit.double_allocations > 0 or errors > 0 or audit.live_sessions != len(outcome.answers)


def cpu_per_request(phase: Phase, measured: Measured) -> list[tuple[str, float]]:
    """CPU seconds per request of the brokers, PostgreSQL (if apart) and wrk."""
    done = max(1, len(phase.latencies) + phase.error_count)
    parts = [("brokers", phase.cpu / done)]
    if measured.database is not None:
        parts.append(("PostgreSQL", measured.database / done))
    parts.append(("wrk", measured.generator / done))
    return parts


def cpu_line(name: str, parts: list[tuple[str, float]]) -> str:
    each = " + ".join(f"{who} {ms(cpu)}" for who, cpu in parts)
    total = sum(cpu for _, cpu in parts)
    cores = os.cpu_count() or 1
    ceiling = f"{cores / total:.0f}/s" if total else "-"
    return f"cpu       per {name}: {each} = {ms(total)} ms; {cores} cores: ≤ {ceiling}"


def cpu_ratio(limit: float, parts: list[tuple[str, float]]) -> str:
    """The limit's CPU per operation ÷ the servers' per request: wrk left out."""
    total = sum(cpu for who, cpu in parts if who != "wrk")
    return f"{limit / total:.2f}" if total else "-"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def ratio_line(before: list[float], after: list[float]) -> str:
    if not before or not after:
        return "(no samples)"
    b, a = statistics.median(before), statistics.median(after)
    return f"{b * 1000:.1f} → {a * 1000:.1f} ms (×{a / b:.2f})"


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Raised in the main thread, so every `with` above stops what it started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tls", choices=["on", "off", "both"], default="both")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="broker processes on one database (PostgreSQL)",
    )
    parser.add_argument(
        "--probes",
        type=int,
        default=10,
        help="quiet probe users before and after the storm",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes per node (serve --workers), also for the bare endpoint; default: cores",
    )
    parser.add_argument("--limit-seconds", type=float, default=5.0)
    parser.add_argument("--workdir", help="keep pools file, databases and logs here")
    parser.add_argument("--smoke", action="store_true", help="tiny run: 40 users, 8 at a time")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.concurrency, args.limit_seconds, args.probes = 40, 8, 0.5, 3
    if min(args.nodes, args.users, args.concurrency, args.probes, args.workers) < 1:
        parser.error("--users, --concurrency, --nodes, --probes and --workers must be at least 1")
    if args.nodes > 1 and args.database != "postgresql":
        parser.error("several nodes share one PostgreSQL database: add --database postgresql")
    if args.concurrency < args.nodes:
        parser.error("--concurrency must be at least --nodes: each node gets its share")
    wrk.find()  # before anything starts: says what to install
    args.tls_modes = {"on": [True], "off": [False], "both": [False, True]}[args.tls]
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; everything this run started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
