"""Launch storms: no machine is ever handed to two users, and a broker killed
mid-storm leaves no assignment lost and no machine half-claimed.

- thousands of launches from many threads on one SQLite file and one PostgreSQL;
- the same over HTTP against two `rubicon-broker serve` processes sharing one
  PostgreSQL;
- SIGKILL to a broker process in the middle of a storm, then a restart.

Users and tokens are written straight into the database (argon2 sign-ins
would take minutes and prove nothing here). Every broker process is started
with a timeout and stopped by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from broker_stub.app import create_app
from broker_stub.auth.tokens import token_hash
from broker_stub.clock import utcnow
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Group,
    Machine,
    Membership,
    Token,
    User,
)
from broker_stub.demo.xdisplay import free_tcp_port
from broker_stub.domain import allocation
from broker_stub.domain.errors import NoMachineAvailable
from broker_stub.settings import BrokerSettings
from tests.helpers.e2e import wait_for

pytestmark = pytest.mark.e2e

POOL = "storm"
GROUP = "stormers"
HELD = {"assigned", "in_use", "disconnected"}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storm.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def postgres_only(postgres_url: str) -> str:
    return postgres_url


def write_pools(path: Path, machines: int) -> Path:
    lines = [
        "[[pools]]",
        f'id = "{POOL}"',
        'name = "Storm"',
        'protocol = "vnc"',
        # Made-up hosts: the broker must not knock on them (nor anywhere off this machine).
        "health_check = false",
        f'groups = ["{GROUP}"]',
    ]
    for i in range(machines):
        # A distinct host per machine, so responses tell machines apart.
        lines += [
            "[[pools.machines]]",
            f'name = "m{i:05}"',
            f'host = "10.{i // 65536}.{i // 256 % 256}.{i % 256}"',
            "port = 5900",
        ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


@dataclass
class Site:
    database_url: str
    config: Path
    tokens: dict[str, str]  # username → bearer token
    user_ids: dict[str, int]


def make_site(tmp_path: Path, database_url: str, users: int, machines: int) -> Site:
    """The database, migrated, with the pool, `users` users in its group, and tokens."""
    config = write_pools(tmp_path / "pools.toml", machines)
    app = create_app(BrokerSettings(database_url=database_url, config=config, scheduler=False))
    engine: Engine = app.state.engine
    now = utcnow()
    tokens = {f"s{i:05}": f"storm-token-{i:05}" for i in range(users)}
    try:
        with make_session_factory(engine)() as db:
            group = Group(name=GROUP)
            db.add(group)
            db.add_all(User(username=name, display_name=name, password_hash="-") for name in tokens)
            db.flush()
            ids = {u.username: u.id for u in db.scalars(select(User))}
            db.add_all(Membership(user_id=ids[name], group_id=group.id) for name in tokens)
            db.add_all(
                Token(
                    hash=token_hash(token),
                    user_id=ids[name],
                    created_at=now,
                    expires_at=now + timedelta(hours=10),
                    last_used_at=now,
                )
                for name, token in tokens.items()
            )
            db.commit()
    finally:
        engine.dispose()
    return Site(database_url=database_url, config=config, tokens=tokens, user_ids=ids)


def check_database(database_url: str) -> dict[int, int]:
    """Every held machine has exactly one live session, of its holder, and every
    live session holds its machine. Returns machine id → holder's user id."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            machines = db.scalars(select(Machine)).all()
            live = db.scalars(
                select(DesktopSession).where(DesktopSession.state.in_(LIVE_SESSION_STATES))
            ).all()
    finally:
        engine.dispose()
    by_machine: dict[int, list[DesktopSession]] = defaultdict(list)
    for session in live:
        by_machine[session.machine_id].append(session)
    holders: dict[int, int] = {}
    for machine in machines:
        sessions = by_machine.get(machine.id, [])
        if machine.state in HELD or machine.assigned_user_id is not None:
            assert machine.state in HELD, (machine.name, machine.state)
            assert machine.assigned_user_id is not None, machine.name
            assert [s.user_id for s in sessions] == [machine.assigned_user_id], machine.name
            holders[machine.id] = machine.assigned_user_id
        else:
            assert machine.state == "ready", (machine.name, machine.state)
            assert sessions == [], machine.name
    users = [s.user_id for s in live]
    assert len(users) == len(set(users)), "a user holds two sessions in one pool"
    return holders


def check_answers(answers: list[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Launch answers (username, body): no machine went to two users, and every
    answer a user got names the same session. Returns username → session id."""
    machine_users: dict[tuple[str, int], set[str]] = defaultdict(set)
    sessions: dict[str, set[str]] = defaultdict(set)
    for username, body in answers:
        connection = body["connection"]
        machine_users[(connection["host"], connection["port"])].add(username)
        sessions[username].add(body["session_id"])
    shared = {m: u for m, u in machine_users.items() if len(u) > 1}
    assert shared == {}, f"machines handed to two users: {shared}"
    assert all(len(ids) == 1 for ids in sessions.values())
    return {user: ids.pop() for user, ids in sessions.items()}


# Threads against one database


def test_thousands_of_threaded_launches(tmp_path: Path, database_url: str) -> None:
    users, machines, launches = 1500, 1000, 2400
    site = make_site(tmp_path, database_url, users, machines)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    names = sorted(site.tokens)
    # Everybody launches once, some launch twice at about the same time.
    order = names + names[: launches - users]
    # SQLite has one writer at a time: past a few dozen writers waiting, some
    # would wait longer than its 5 s busy timeout on a loaded machine.
    threads = 32 if database_url.startswith("postgresql") else 16
    start = threading.Barrier(threads)
    busy: list[str] = []

    def one(i: int) -> tuple[str, dict[str, Any]] | None:
        if i < threads:
            start.wait(timeout=60)
        name = order[i]
        with factory() as db:
            try:
                result = allocation.launch(db, db.get_one(User, site.user_ids[name]), POOL)
            except NoMachineAvailable:
                return None
            except OperationalError:
                # "database is locked": a 503 for the launcher, which tries again.
                busy.append(name)
                return None
            body = {
                "session_id": result.session.id,
                "connection": {"host": result.machine.host, "port": result.machine.port},
            }
            return name, body

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(one, range(len(order))))
    finally:
        engine.dispose()

    answers = [r for r in results if r is not None]
    granted = check_answers(answers)
    holders = check_database(database_url)
    assert {site.user_ids[u] for u in granted} == set(holders.values())
    assert len(holders) <= machines
    assert len(busy) < launches - machines, busy
    # Nobody is refused while a machine is free: SQLite has one writer at a
    # time, and on PostgreSQL a user's twin launches wait for each other, so a
    # row skipped as locked is always one another user's claim is taking.
    assert len(holders) == machines


# Broker processes


@dataclass
class BrokerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)


def start_broker(site: Site, tmp_path: Path, name: str) -> BrokerProcess:
    port = free_tcp_port("127.0.0.1")
    log = tmp_path / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "broker_stub.cli",
                "serve",
                "--insecure-http",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--config",
                str(site.config),
                "--database-url",
                site.database_url,
                "--log-level",
                "warning",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    broker = BrokerProcess(url=f"http://127.0.0.1:{port}", process=process, log=log)

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"broker {name} exited:\n{log.read_text()[-3000:]}", pytrace=False)
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{broker.url}/healthz", timeout=2).status_code == 200
        return False

    try:
        wait_for(healthy, timeout=START_TIMEOUT, what=f"broker {name} to answer /healthz")
    except BaseException:
        broker.stop()
        raise
    return broker


@contextlib.contextmanager
def brokers(site: Site, tmp_path: Path, count: int) -> Iterator[list[BrokerProcess]]:
    started: list[BrokerProcess] = []
    try:
        # One after the other: each applies the pools file at start-up.
        for i in range(count):
            started.append(start_broker(site, tmp_path, f"broker{i}"))
        yield started
    finally:
        for broker in started:
            broker.stop()


Outcome = tuple[str, int, dict[str, Any]] | tuple[str, None, str]


def storm(
    urls: list[str],
    site: Site,
    order: list[str],
    *,
    threads: int = 32,
    stop: threading.Event | None = None,
    on_answer: Callable[[], None] | None = None,
) -> list[Outcome]:
    """POST launch for each username in `order`, spread over `urls` and `threads`."""
    idle: queue.Queue[httpx.Client] = queue.Queue()
    clients = [
        httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) for url in urls for _ in range(threads)
    ]
    for client in clients:
        idle.put(client)

    def one(i: int) -> Outcome:
        name = order[i]
        if stop is not None and stop.is_set():
            return name, None, "not sent"
        client = idle.get()
        try:
            reply = client.post(
                f"/api/v1/desktops/{POOL}/launch",
                headers={"Authorization": f"Bearer {site.tokens[name]}"},
            )
        except httpx.HTTPError as exc:
            return name, None, type(exc).__name__
        finally:
            idle.put(client)
        if on_answer is not None and reply.status_code == 200:
            on_answer()
        return name, reply.status_code, reply.json()

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(one, range(len(order))))
    finally:
        for client in clients:
            client.close()


def granted(outcomes: list[Outcome]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, body) for name, status, body in outcomes if status == 200]  # type: ignore[misc]


def test_one_node_answers_more_requests_at_once_than_it_has_connections(
    tmp_path: Path, database_url: str
) -> None:
    # 64 launchers at once against one node: more than its connection pool and
    # its 40 request threads. Without the admission gate (api/admission.py),
    # threads waiting for a connection held by requests that waited for a
    # thread, until the pool's 30 s timeout failed them all.
    users, machines = 2000, 2000
    site = make_site(tmp_path, database_url, users, machines)
    names = sorted(site.tokens)

    with brokers(site, tmp_path, 1) as (node,):
        outcomes = asyncio.run(async_storm(node.url, site, names, clients=64))

    failed = [o for o in outcomes if o[1] != 200]
    assert failed == []
    by_user = check_answers(granted(outcomes))
    holders = check_database(database_url)
    assert {site.user_ids[u] for u in by_user} == set(holders.values())
    assert len(holders) == users


async def async_storm(url: str, site: Site, order: list[str], *, clients: int) -> list[Outcome]:
    """Like storm(), from `clients` launchers of one connection each on one event
    loop: every answer is followed at once by that launcher's next request."""
    todo = list(reversed(order))
    outcomes: list[Outcome] = []

    async def launcher() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as client:
            while todo:
                name = todo.pop()
                try:
                    reply = await client.post(
                        f"/api/v1/desktops/{POOL}/launch",
                        headers={"Authorization": f"Bearer {site.tokens[name]}"},
                    )
                except httpx.HTTPError as exc:
                    outcomes.append((name, None, type(exc).__name__))
                else:
                    outcomes.append((name, reply.status_code, reply.json()))

    await asyncio.gather(*(launcher() for _ in range(clients)))
    return outcomes


def test_two_broker_processes_share_one_postgresql(tmp_path: Path, postgres_only: str) -> None:
    users, machines = 1200, 800
    site = make_site(tmp_path, postgres_only, users, machines)
    names = sorted(site.tokens)
    order = names + names[:300]

    with brokers(site, tmp_path, 2) as nodes:
        outcomes = storm([n.url for n in nodes], site, order)

    statuses = {status for _name, status, _body in outcomes}
    assert statuses <= {200, 409}, [o for o in outcomes if o[1] not in (200, 409)][:5]
    answers = granted(outcomes)
    by_user = check_answers(answers)
    holders = check_database(postgres_only)
    assert {site.user_ids[u] for u in by_user} == set(holders.values())
    assert machines - 300 <= len(holders) <= machines
    refused = [body for _n, status, body in outcomes if status == 409]
    assert all(b["code"] == "no_machine_available" for b in refused)  # type: ignore[index]


def test_sigkill_in_the_middle_of_a_storm(tmp_path: Path, database_url: str) -> None:
    users, machines = 900, 600
    site = make_site(tmp_path, database_url, users, machines)
    names = sorted(site.tokens)
    stop = threading.Event()
    answered = 0
    lock = threading.Lock()

    with brokers(site, tmp_path, 1) as (node,):

        def counted() -> None:
            nonlocal answered
            with lock:
                answered += 1
                if answered == 150:
                    node.kill()  # mid-storm: requests are in flight on many threads
                    stop.set()

        outcomes = storm([node.url], site, names, threads=16, stop=stop, on_answer=counted)
        assert node.process.returncode == -signal.SIGKILL

    # Every answer a launcher got is in the database: no assignment lost ...
    before = check_answers(granted(outcomes))
    assert len(before) >= 150
    holders = check_database(database_url)
    for name in before:
        assert site.user_ids[name] in holders.values(), name
    # ... and some requests died with the broker, leaving nothing half done.
    assert any(status is None for _name, status, _body in outcomes)

    # Restarted, the broker serves on: everybody asks again and gets a coherent answer.
    with brokers(site, tmp_path, 1) as (node,):
        again = storm([node.url], site, names, threads=16)
    after = check_answers(granted(again))
    assert len(after) >= len(before)
    for name, session_id in before.items():
        # Reconnected, never given a second machine (SQLite may have said 503 instead).
        assert after.get(name, session_id) == session_id, name
    holders = check_database(database_url)
    assert len(holders) == min(users, machines)
