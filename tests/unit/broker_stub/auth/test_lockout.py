"""Lockout (5 failures in 5 minutes lock an account for 5 minutes) and the
per-address throttle (20 failures in 5 minutes block the address), in the database.

The broker's clock is a FakeClock in app.state.clock, moved by hand.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from broker_stub.auth.users import set_user
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.db.models import AuditEvent, LoginBlock, LoginFailure, User
from broker_stub.demo.xdisplay import free_tcp_port, port_open, stop_process
from broker_stub.domain import audit
from tests.helpers.clock import FakeClock
from tests.helpers.e2e import wait_for

from ..conftest import Broker, assert_problem

LOGIN = "/api/v1/auth/login"
ALICE_PASSWORD = "alice-Secret-1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker(make_broker: Callable[..., Broker], clock: FakeClock) -> Broker:
    broker = make_broker()
    broker.app.state.clock = clock
    return broker


def login(client: httpx2.Client, username: str, password: str) -> Response:
    return client.post(LOGIN, json={"username": username, "password": password})


@contextmanager
def client_at(broker: Broker, address: str) -> Iterator[TestClient]:
    """A client of the same app that connects from `address`."""
    with TestClient(broker.app, client=(address, 40000)) as client:
        yield client


def fail(broker: Broker, times: int, username: str = "alice") -> list[Response]:
    return [login(broker.client, username, f"wrong-{i}") for i in range(times)]


def audit_actions(broker: Broker, action: str) -> list[AuditEvent]:
    with broker.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_five_failures_lock_the_account_for_five_minutes(broker: Broker, clock: FakeClock) -> None:
    replies = fail(broker, 5)

    for reply in replies[:4]:
        assert_problem(reply, 401, "invalid_credentials")
    # The fifth failure sets the lock off and says so.
    locked = assert_problem(replies[4], 429, "account_locked")
    assert replies[4].headers["retry-after"] == "300"
    assert "5 minutes" in locked["detail"]

    # The right password does not help while the lock lasts.
    clock.advance(minutes=2)
    reply = login(broker.client, "alice", ALICE_PASSWORD)
    assert_problem(reply, 429, "account_locked")
    assert reply.headers["retry-after"] == "180"
    assert "3 minutes" in reply.json()["detail"]

    clock.advance(minutes=3)
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200


def test_a_locked_account_does_not_lock_others(broker: Broker) -> None:
    fail(broker, 5)

    assert login(broker.client, "carol", "carol-Secret-3").status_code == 200
    assert_problem(login(broker.client, "alice", ALICE_PASSWORD), 429, "account_locked")


def test_failures_outside_the_window_do_not_add_up(broker: Broker, clock: FakeClock) -> None:
    fail(broker, 4)
    clock.advance(minutes=5, seconds=1)

    assert_problem(fail(broker, 1)[0], 401, "invalid_credentials")
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200


def test_the_window_slides(broker: Broker, clock: FakeClock) -> None:
    fail(broker, 2)
    clock.advance(minutes=3)
    fail(broker, 2)
    clock.advance(minutes=2, seconds=1)  # the first two are now older than 5 minutes

    assert_problem(fail(broker, 1)[0], 401, "invalid_credentials")
    clock.advance(seconds=30)
    assert_problem(fail(broker, 1)[0], 401, "invalid_credentials")
    # 4 failures in the last 5 minutes; one more makes 5.
    assert_problem(fail(broker, 1)[0], 429, "account_locked")


def test_a_good_sign_in_forgets_the_failures(broker: Broker) -> None:
    fail(broker, 4)
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200

    for reply in fail(broker, 4):
        assert_problem(reply, 401, "invalid_credentials")


def test_after_the_lock_the_count_starts_afresh(broker: Broker, clock: FakeClock) -> None:
    fail(broker, 5)
    clock.advance(minutes=5)

    for reply in fail(broker, 4):
        assert_problem(reply, 401, "invalid_credentials")
    assert_problem(fail(broker, 1)[0], 429, "account_locked")


def test_unknown_usernames_are_counted_but_not_made(broker: Broker) -> None:
    with broker.session() as db:
        users_before = db.scalar(select(func.count()).select_from(User))

    # One account to a directory, however it is typed.
    replies = fail(broker, 2, "zed") + fail(broker, 1, "ZED") + fail(broker, 1, " zed ")
    replies += fail(broker, 1, "ｚｅｄ")  # fullwidth letters

    assert [r.status_code for r in replies] == [401, 401, 401, 401, 429]
    assert_problem(replies[4], 429, "account_locked")
    with broker.session() as db:
        assert db.scalar(select(func.count()).select_from(User)) == users_before
        assert db.scalar(select(User).where(User.username.ilike("%zed%"))) is None


def test_the_lock_is_audited_once(broker: Broker) -> None:
    fail(broker, 5)
    login(broker.client, "alice", ALICE_PASSWORD)  # refused while locked: no new event

    (event,) = audit_actions(broker, audit.ACCOUNT_LOCKED)
    assert event.actor is None
    assert event.target == "user:alice"
    assert event.address == "testclient"
    assert event.detail["failures"] == 5
    assert event.detail["window_minutes"] == 5
    assert event.detail["until"] == "2026-11-26T09:05:00+00:00"
    # Each failure has its own sign_in_failed event as before.
    assert len(audit_actions(broker, audit.SIGN_IN_FAILED)) == 5


def test_lockout_numbers_come_from_settings(
    make_broker: Callable[..., Broker], clock: FakeClock
) -> None:
    broker = make_broker(
        lockout_failures=2,
        lockout_window=timedelta(minutes=1),
        lockout_duration=timedelta(seconds=90),
    )
    broker.app.state.clock = clock

    replies = fail(broker, 2)

    assert_problem(replies[1], 429, "account_locked")
    assert replies[1].headers["retry-after"] == "90"
    clock.advance(seconds=90)
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200


def test_an_address_that_sprays_usernames_is_throttled(broker: Broker, clock: FakeClock) -> None:
    names = [f"user{i}" for i in range(20)]  # never 5 on one account
    with client_at(broker, "192.0.2.66") as sprayer, client_at(broker, "192.0.2.7") as other:
        replies = [login(sprayer, name, "Spring2026!") for name in names]

        assert [r.status_code for r in replies[:19]] == [401] * 19
        blocked = assert_problem(replies[19], 429, "too_many_attempts")
        assert replies[19].headers["retry-after"] == "300"
        assert "network address" in blocked["detail"]

        # Even the right password of a real account, from that address...
        reply = login(sprayer, "alice", ALICE_PASSWORD)
        assert_problem(reply, 429, "too_many_attempts")
        # ...while other addresses sign in as usual.
        assert login(other, "alice", ALICE_PASSWORD).status_code == 200

        clock.advance(minutes=5)
        assert login(sprayer, "alice", ALICE_PASSWORD).status_code == 200

    (event,) = audit_actions(broker, audit.ADDRESS_BLOCKED)
    assert event.target == "address:192.0.2.66"
    assert event.detail["failures"] == 20


def test_a_good_sign_in_does_not_clear_the_address_count(
    make_broker: Callable[..., Broker], clock: FakeClock
) -> None:
    broker = make_broker(throttle_failures=3)
    broker.app.state.clock = clock
    with client_at(broker, "192.0.2.66") as client:
        login(client, "bob", "guess-1")
        login(client, "carol", "guess-2")
        assert login(client, "alice", ALICE_PASSWORD).status_code == 200

        assert_problem(login(client, "dave", "guess-3"), 429, "too_many_attempts")


def test_failed_attempts_while_blocked_are_not_counted(broker: Broker, clock: FakeClock) -> None:
    fail(broker, 5)
    fail(broker, 10)  # refused at the door

    with broker.session() as db:
        counted = db.execute(
            select(LoginFailure.scope, func.count()).group_by(LoginFailure.scope)
        ).all()
    # The lock forgot the account's five; the address keeps its five, and no more.
    assert counted == [("address", 5)]
    clock.advance(minutes=5)
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200


def test_old_rows_are_cleaned_up(broker: Broker, clock: FakeClock) -> None:
    fail(broker, 5)  # a lock and its failures
    fail(broker, 3, "bob")
    clock.advance(minutes=6)

    fail(broker, 1, "carol")

    with broker.session() as db:
        failures = db.execute(select(LoginFailure.scope, LoginFailure.key)).all()
        blocks = db.scalars(select(LoginBlock.key)).all()
    assert sorted(failures) == [("address", "testclient"), ("user", "carol")]
    assert blocks == []


# Two broker nodes on one database


def test_two_brokers_share_the_counts(make_broker: Callable[..., Broker], clock: FakeClock) -> None:
    one = make_broker()
    two = make_broker()  # a second app, engine and connection pool on the same database
    one.app.state.clock = two.app.state.clock = clock

    replies = [login((one if i % 2 else two).client, "alice", f"wrong-{i}") for i in range(5)]

    assert [r.status_code for r in replies] == [401, 401, 401, 401, 429]
    assert_problem(login(one.client, "alice", ALICE_PASSWORD), 429, "account_locked")
    assert_problem(login(two.client, "alice", ALICE_PASSWORD), 429, "account_locked")
    clock.advance(minutes=5)
    assert login(two.client, "alice", ALICE_PASSWORD).status_code == 200


def test_concurrent_failures_on_two_brokers_lock_once(
    make_broker: Callable[..., Broker], clock: FakeClock
) -> None:
    brokers = [make_broker(), make_broker()]
    for broker in brokers:
        broker.app.state.clock = clock
    start = threading.Barrier(8)

    def attempt(i: int) -> int:
        start.wait(timeout=10)
        return login(brokers[i % 2].client, "alice", f"wrong-{i}").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(8)))

    # However the eight interleave, at least the fifth failure counted locks the
    # account, and only one broker reports the lock.
    assert statuses.count(429) >= 1
    assert set(statuses) <= {401, 429}
    assert_problem(login(brokers[0].client, "alice", ALICE_PASSWORD), 429, "account_locked")
    assert len(audit_actions(brokers[0], audit.ACCOUNT_LOCKED)) == 1


def test_two_broker_processes_share_the_lock(
    database_url: str, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    """Two real `rubicon-broker serve` processes on one database, by the real clock."""
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with make_session_factory(engine)() as db:
            set_user(db, "alice", ALICE_PASSWORD)
    finally:
        engine.dispose()
    config = write_config()
    ports = [free_tcp_port()]
    while len(ports) < 2:
        ports = list({*ports, free_tcp_port()})
    logs = [tmp_path / f"broker-{port}.log" for port in ports]
    with ExitStack() as stack:
        # One after the other: brokers that start at the same moment race to
        # apply the pools file (a start-up matter, not what this test is about).
        for port, log_path in zip(ports, logs, strict=True):
            argv = [sys.executable, "-m", "broker_stub.cli", "serve", "--config", str(config)]
            argv += ["--host", "127.0.0.1", "--port", str(port), "--insecure-http"]
            argv += ["--database-url", database_url, "--log-level", "warning"]
            log_file = stack.enter_context(log_path.open("wb"))
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file
            )
            stack.callback(stop_process, proc)
            wait_for(
                partial(port_open, "127.0.0.1", port),
                30,
                f"the broker on port {port} to start",
                process=proc,
                output=log_path,
            )
        client = stack.enter_context(httpx.Client(timeout=30))
        urls = [f"http://127.0.0.1:{port}{LOGIN}" for port in ports]

        def attempt(node: int, password: str) -> httpx.Response:
            return client.post(urls[node], json={"username": "alice", "password": password})

        statuses = [attempt(i % 2, f"wrong-{i}").status_code for i in range(5)]
        locked = [attempt(node, ALICE_PASSWORD) for node in (0, 1)]

    assert statuses == [401, 401, 401, 401, 429]
    for reply in locked:
        assert reply.status_code == 429
        assert reply.json()["code"] == "account_locked"
        assert 0 < int(reply.headers["retry-after"]) <= 300


# Concurrent guesses: the lock holds however many arrive at once

BURST = 40
WAIT_S = 30


class HeldChecks:
    """Counts the broker's password checks (argon2 verifications) and holds
    each one until release(), so a test can send more while they run."""

    def __init__(self, real: Callable[[str, str], bool]) -> None:
        self._real = real
        self._changed = threading.Condition()
        self._released = threading.Event()
        self.started = 0

    def __call__(self, password_hash: str, password: str) -> bool:
        with self._changed:
            self.started += 1
            self._changed.notify_all()
        if not self._released.wait(timeout=WAIT_S):
            raise TimeoutError("the test never released the password checks")
        return self._real(password_hash, password)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout=WAIT_S):
                pytest.fail(f"waited {WAIT_S} s for {what}; {self.started} checks started")

    def poke(self) -> None:
        """Something the waiter watches changed (a reply came)."""
        with self._changed:
            self._changed.notify_all()

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def held_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChecks]:
    from broker_stub.auth import users

    checks = HeldChecks(users.verify_password)
    monkeypatch.setattr(users, "verify_password", checks)
    yield checks
    checks.release()  # a failed test must not leave request threads waiting


def wrong_password_events(broker: Broker) -> int:
    return sum(
        1
        for e in audit_actions(broker, audit.SIGN_IN_FAILED)
        if e.detail.get("reason") == "wrong_password"
    )


@pytest.mark.parametrize("nodes", [1, 2])
def test_a_burst_of_guesses_checks_at_most_five_passwords(
    make_broker: Callable[..., Broker], clock: FakeClock, held_checks: HeldChecks, nodes: int
) -> None:
    """40 wrong passwords at once, on one node or spread over two: 5 are checked,
    and the right password sent in the middle of the burst gets no token."""
    # Over real HTTP: uvicorn runs each request on its own thread, as in production.
    # Eight requests at work at once, so that the other guesses are answered
    # while five checks are held; at SQLite's default of two they would wait
    # for a place meanwhile, and the checks would be as few.
    brokers = [make_broker(live=True, request_slots=8) for _ in range(nodes)]
    for broker in brokers:
        broker.app.state.clock = clock
    replies: dict[int, Response] = {}

    def guess(i: int) -> None:
        replies[i] = login(brokers[i % nodes].client, "alice", f"wrong-{i}")
        held_checks.poke()

    with ThreadPoolExecutor(BURST + 1) as pool:
        guesses = [pool.submit(guess, i) for i in range(BURST)]
        try:
            # Five checks run (held); every other guess must be answered
            # meanwhile, without a check of its own.
            held_checks.wait_for(
                lambda: (
                    held_checks.started > 5
                    or (held_checks.started == 5 and len(replies) == BURST - 5)
                ),
                "5 password checks under way and the other guesses answered",
            )
            assert held_checks.started == 5
            for reply in replies.values():
                assert_problem(reply, 429, "account_locked")

            # The account's owner signs in now, while the five are being checked.
            right = pool.submit(login, brokers[-1].client, "alice", ALICE_PASSWORD)
            assert_problem(right.result(timeout=WAIT_S), 429, "account_locked")
        finally:
            held_checks.release()
        for future in guesses:
            future.result(timeout=WAIT_S)

    statuses = [replies[i].status_code for i in range(BURST)]
    assert statuses.count(401) == 4  # the five checked: four wrong, the fifth locks
    assert statuses.count(429) == BURST - 4
    assert held_checks.started == 5
    assert wrong_password_events(brokers[0]) == 5
    assert len(audit_actions(brokers[0], audit.ACCOUNT_LOCKED)) == 1
    assert audit_actions(brokers[0], audit.SIGN_IN) == []
    for broker in brokers:
        assert_problem(login(broker.client, "alice", ALICE_PASSWORD), 429, "account_locked")
    clock.advance(minutes=5)
    assert login(brokers[0].client, "alice", ALICE_PASSWORD).status_code == 200
