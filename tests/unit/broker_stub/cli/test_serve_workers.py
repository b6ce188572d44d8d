"""`rubicon-broker serve --workers 2` as a real process: two worker processes
share the node's socket, launches through both never share a machine, a scrape
of either worker counts the requests of both, a killed worker is replaced,
and SIGTERM to the parent stops them all.

Which worker answered a request is read from the system, not asked of the
broker: the worker whose open file is the server end of the test's TCP
connection (/proc/net/tcp and /proc/<pid>/fd). Every process is started
with a timeout and stopped by its PID.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from broker_stub import cli
from broker_stub.auth.users import set_user
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.db.models import LIVE_SESSION_STATES, DesktopSession
from broker_stub.demo.xdisplay import free_tcp_port, stop_process
from tests.helpers.e2e import child_pids, pid_alive, wait_for

from ..conftest import PoolSpec

HOST = "127.0.0.1"
WORKERS = 2
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0
HEALTHZ = ("GET", "/healthz", "200")

POOL = "lab"
MACHINES = 6
USERS = {f"u{i:02}": f"u{i:02}-Secret-pw" for i in range(10)}
POOLS: list[PoolSpec] = [
    {
        "id": POOL,
        "name": "Lab",
        "protocol": "vnc",
        "health_check": False,  # made-up hosts: never probed
        "groups": ["staff"],
        # A host each, so an answer names its machine.
        "machines": [{"name": f"m{i}", "host": f"10.0.0.{i + 1}"} for i in range(MACHINES)],
    }
]


class Connection:
    """One keep-alive HTTP connection to the node."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)

    def call(
        self, method: str, path: str, *, body: Any = None, token: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body)
        self.http.request(method, path, body=data, headers=headers)
        reply = self.http.getresponse()
        return reply.status, reply.read()

    def close(self) -> None:
        self.http.close()


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    connections: list[Connection] = field(default_factory=list)
    healthz_sent: int = 0
    seen: set[int] = field(default_factory=set)  # every child PID we saw, to clean up

    def children(self) -> list[int]:
        pids = [p for p in child_pids(self.process.pid) if pid_alive(p)]
        self.seen.update(pids)
        return pids

    def workers(self) -> list[int]:
        """The worker processes (not multiprocessing's resource tracker)."""
        return [p for p in self.children() if b"spawn_main" in _cmdline(p)]

    def wait_ready(self) -> None:
        """Until WORKERS workers run and each has built its app (uvicorn then logs its PID).

        Waiting here, not in one_per_worker, keeps a connection to a ready worker
        from idling past uvicorn's 5 s keep-alive while another starts. The
        parent only binds the socket; it listens once a worker has built its
        app (after the log line), so until then a connection is refused.
        """

        def ready() -> bool:
            workers, text = self.workers(), self.log.read_text()
            started = all(f"Started server process [{pid}]" in text for pid in workers)
            return len(workers) == WORKERS and started and self.listening()

        wait_for(
            ready,
            timeout=START_TIMEOUT,
            what=f"{WORKERS} workers to start",
            process=self.process,
            output=self.log,
        )

    def listening(self) -> bool:
        try:
            socket.create_connection((HOST, self.port), timeout=REQUEST_TIMEOUT).close()
        except OSError:
            return False
        return True

    def connect(self) -> Connection:
        conn = Connection(self.port)
        self.connections.append(conn)
        return conn

    def worker_of(self, conn: Connection) -> int:
        """The worker holding the server end of `conn`'s TCP connection."""
        sock = conn.http.sock
        assert sock is not None, "no request was sent on this connection"
        wanted = f"socket:[{_tcp_inode(local=sock.getpeername(), remote=sock.getsockname())}]"
        for pid in self.workers():
            fds = Path(f"/proc/{pid}/fd")
            for fd in os.listdir(fds):
                with contextlib.suppress(OSError):
                    if os.readlink(fds / fd) == wanted:
                        return pid
        raise AssertionError(f"no worker holds {wanted}")

    def one_per_worker(self) -> dict[int, Connection]:
        """A connection to each worker, each having answered a /healthz.

        New connections until each worker took one: a worker still starting
        takes none, and which of the others does is the kernel's choice.
        """
        found: dict[int, Connection] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while len(found) < WORKERS:
            assert time.monotonic() < deadline, f"only {sorted(found)} took connections"
            conn = self.connect()
            assert conn.call("GET", "/healthz")[0] == 200
            self.healthz_sent += 1
            worker = self.worker_of(conn)
            if worker in found:
                conn.close()
                time.sleep(0.02)
            else:
                found[worker] = conn
        return found

    def stop(self) -> None:
        for conn in self.connections:
            conn.close()
        self.children()
        stop_process(self.process, STOP_TIMEOUT)
        for pid in self.seen:  # only if the parent could not stop them
            with contextlib.suppress(ProcessLookupError):
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _tcp_inode(*, local: tuple[str, int], remote: tuple[str, int]) -> str:
    """The inode of the IPv4 socket from `local` to `remote`, from /proc/net/tcp."""

    def hexed(address: tuple[str, int]) -> str:
        # The kernel writes the address as a host-order (little-endian) word.
        return f"{socket.inet_aton(address[0])[::-1].hex().upper()}:{address[1]:04X}"

    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == hexed(local) and fields[2] == hexed(remote):
            return fields[9]
    raise AssertionError(f"no socket from {local} to {remote} in /proc/net/tcp")


def requests_counted(conn: Connection, route: tuple[str, str, str]) -> float:
    """rubicon_http_requests_total for (method, route, status), as a scrape of `conn` says."""
    status, body = conn.call("GET", "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = tuple(sample.labels.get(k) for k in ("method", "route", "status"))
            if sample.name == "rubicon_http_requests_total" and key == route:
                return float(sample.value)
    return 0.0


def wait_until_counted(conns: list[Connection], expected: int) -> None:
    # A worker counts a request just after its answer has gone out.
    wait_for(
        lambda: all(requests_counted(c, HEALTHZ) == expected for c in conns),
        timeout=10,
        what=f"every worker's /metrics to count {expected} /healthz requests",
    )
    # ... and never more than there were.
    assert [requests_counted(c, HEALTHZ) for c in conns] == [expected] * len(conns)


@pytest.fixture
def serve_workers(
    tmp_path: Path, write_config: Callable[..., Path]
) -> Iterator[Callable[..., Node]]:
    """Start `rubicon-broker serve --workers 2` on a free port; stopped by PID afterwards."""
    started: list[Node] = []

    def start(database_url: str | None = None) -> Node:
        port = free_tcp_port(HOST)
        url = database_url or f"sqlite:///{tmp_path / 'workers.sqlite3'}"
        log = tmp_path / f"node-{len(started)}.log"
        argv = [
            *(sys.executable, "-m", "broker_stub.cli", "serve", "--workers", str(WORKERS)),
            *("--insecure-http", "--host", HOST, "--port", str(port)),
            *("--config", str(write_config(POOLS)), "--database-url", url),
        ]
        with log.open("ab") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        node = Node(process=process, port=port, log=log)
        started.append(node)
        node.wait_ready()
        return node

    yield start
    for node in started:
        node.stop()


@pytest.mark.timeout(180)
def test_both_workers_answer_and_every_scrape_counts_both(
    serve_workers: Callable[..., Node],
) -> None:
    node = serve_workers()

    conns = node.one_per_worker()
    (first, a), (second, b) = conns.items()
    for _ in range(3):
        assert a.call("GET", "/healthz")[0] == 200
    assert b.call("GET", "/healthz")[0] == 200
    sent = node.healthz_sent + 4

    assert first != second
    wait_until_counted([a, b], sent)

    # Each worker logs as the parent does: one line per request, whichever answered.
    def logged() -> int:
        return node.log.read_text().count("rubicon.broker.http: GET /healthz 200")

    wait_for(lambda: logged() >= sent, timeout=10, what=f"{sent} request log lines")
    assert logged() == sent
    # The start-up work ran once, in the parent: one report on the pools file.
    assert node.log.read_text().count("pools file") == 1
    # Settings went over a pipe: the database URL is on the parent's command
    # line only, where the test put it.
    assert b"workers.sqlite3" in _cmdline(node.process.pid)
    assert all(b"workers.sqlite3" not in _cmdline(pid) for pid in (first, second))


@pytest.mark.timeout(180)
def test_a_killed_worker_is_replaced_and_its_counts_stay(
    serve_workers: Callable[..., Node],
) -> None:
    node = serve_workers()
    conns = node.one_per_worker()
    killed, survivor = conns
    # Counted before the kill: a worker counts a request just after answering it.
    wait_until_counted(list(conns.values()), node.healthz_sent)

    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: killed not in node.workers(), timeout=STOP_TIMEOUT, what="the kill")
    node.wait_ready()

    conns = node.one_per_worker()
    assert survivor in conns
    assert killed not in conns
    # One /healthz on each connection, the killed worker's included.
    wait_until_counted(list(conns.values()), node.healthz_sent)


@pytest.mark.timeout(180)
def test_sigterm_to_the_parent_stops_every_worker(serve_workers: Callable[..., Node]) -> None:
    node = serve_workers()
    workers = list(node.one_per_worker())
    children = node.children()  # the workers and multiprocessing's resource tracker
    shared = Path(
        next(
            line.split(b"=", 1)[1].decode()
            for line in Path(f"/proc/{workers[0]}/environ").read_bytes().split(b"\0")
            if line.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        )
    )
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700

    os.kill(node.process.pid, signal.SIGTERM)

    assert node.process.wait(timeout=STOP_TIMEOUT) == 0
    wait_for(
        lambda: not any(pid_alive(p) for p in children),
        timeout=STOP_TIMEOUT,
        what=f"the workers {children} to exit",
    )
    assert not shared.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, node.port), timeout=5).close()
    assert "Received SIGTERM" in node.log.read_text()


@pytest.mark.timeout(240)
def test_launches_through_two_workers_never_share_a_machine(
    serve_workers: Callable[..., Node], database_url: str
) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with make_session_factory(engine)() as db:
            for name, password in USERS.items():
                set_user(db, name, password, groups=["staff"])
            db.commit()
    finally:
        engine.dispose()
    node = serve_workers(database_url)
    # Three connections to each worker, one per thread below.
    per_worker: dict[int, list[Connection]] = {}
    while min((len(c) for c in per_worker.values()), default=0) < 3 or len(per_worker) < WORKERS:
        conns = node.one_per_worker()
        for pid, conn in conns.items():
            per_worker.setdefault(pid, []).append(conn)
    lanes = [c for conns in per_worker.values() for c in conns[:3]]
    names = sorted(USERS)
    tokens: dict[str, str] = {}
    for i, name in enumerate(names):
        status, body = lanes[i % len(lanes)].call(
            "POST", "/api/v1/auth/login", body={"username": name, "password": USERS[name]}
        )
        assert status == 200, body
        tokens[name] = json.loads(body)["token"]

    answers: list[tuple[str, int, dict[str, Any], int]] = []
    lock = threading.Lock()

    def launch_all(i: int) -> None:
        conn = lanes[i]
        # Each user twice: the second launch must find the first one's session.
        for name in names[i :: len(lanes)] * 2:
            status, body = conn.call("POST", f"/api/v1/desktops/{POOL}/launch", token=tokens[name])
            with lock:
                answers.append((name, status, json.loads(body), node.worker_of(conn)))

    threads = [threading.Thread(target=launch_all, args=(i,)) for i in range(len(lanes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT * 4)
    assert not any(t.is_alive() for t in threads)

    assert len(answers) == 2 * len(USERS)
    assert {status for _n, status, _b, _p in answers} == {200, 409}
    assert {p for _n, _s, _b, p in answers} == set(per_worker)
    granted = [(n, b) for n, status, b, _p in answers if status == 200]
    refused = [b for _n, status, b, _p in answers if status == 409]
    assert all(b["code"] == "no_machine_available" for b in refused)
    # Each user got one session and machine, and no machine went to two users.
    by_user: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for name, answer in granted:
        by_user[name].add((answer["session_id"], answer["connection"]["host"]))
    assert all(len(got) == 1 for got in by_user.values()), by_user
    hosts = [host for ((_session, host),) in by_user.values()]
    assert len(hosts) == len(set(hosts)) == MACHINES
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            live = db.scalars(
                select(DesktopSession).where(DesktopSession.state.in_(LIVE_SESSION_STATES))
            ).all()
    finally:
        engine.dispose()
    assert len(live) == MACHINES
    assert len({s.machine_id for s in live}) == len({s.user_id for s in live}) == MACHINES


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_worker_count_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--workers", value, "--insecure-http"])

    assert stopped.value.code == cli.EXIT_USAGE
    assert f"argument --workers: {value!r} is not a number of processes: give 1 or more" in (
        capsys.readouterr().err
    )


def test_a_bad_worker_count_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUBICON_BROKER_WORKERS", "0")

    assert cli.main(["serve", "--insecure-http"]) == cli.EXIT_USAGE
    assert "bad setting workers: Input should be greater than or equal to 1" in (
        capsys.readouterr().err
    )
