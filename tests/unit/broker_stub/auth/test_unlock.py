"""An administrator lifts a sign-in lock: `users unlock`, the admin API, or a new password.

Over real HTTP, on SQLite and on PostgreSQL (make_broker(live=True)).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import pytest

from broker_stub import cli
from broker_stub.domain import audit

from ..admin_helpers import API, admin_events, admin_headers
from ..conftest import Broker, assert_problem
from .test_lockout import ALICE_PASSWORD, fail, login

NEW_PASSWORD = "alice-Fresh-2"


@pytest.fixture
def locked(make_broker: Callable[..., Broker]) -> Broker:
    """A broker on which alice has just locked herself out."""
    # The real clock: `users unlock` reads it too, and the lock lasts 5 minutes.
    broker = make_broker(live=True)
    assert_problem(fail(broker, 5)[-1], 429, "account_locked")
    assert_problem(login(broker.client, "alice", ALICE_PASSWORD), 429, "account_locked")
    return broker


def run_cli(
    broker: Broker, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str]:
    """rubicon-broker ARGS on the broker's database: (status, stdout)."""
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = cli.main([*args, "--database-url", broker.settings.effective_database_url()])
    finally:
        sys.stdin = old_stdin
    return status, capsys.readouterr().out


def test_an_admin_unlocks_over_the_api(locked: Broker) -> None:
    headers = admin_headers(locked)

    reply = locked.client.post(f"{API}/users/alice/unlock", headers=headers)
    again = locked.client.post(f"{API}/users/alice/unlock", headers=headers)

    assert reply.status_code == 200, reply.text
    assert reply.json() == {"username": "alice", "was_locked": True}
    assert again.json() == {"username": "alice", "was_locked": False}
    assert login(locked.client, "alice", ALICE_PASSWORD).status_code == 200
    unlocks = [e for e in admin_events(locked) if e["action"] == audit.USER_UNLOCK]
    assert unlocks == [
        {"actor": "root", "action": audit.USER_UNLOCK, "target": "user:alice",
         "detail": {"was_locked": True}},
        {"actor": "root", "action": audit.USER_UNLOCK, "target": "user:alice",
         "detail": {"was_locked": False}},
    ]  # fmt: skip


def test_unlocking_needs_an_admin_and_a_user(locked: Broker) -> None:
    carol = locked.login("carol")
    assert_problem(
        locked.client.post(f"{API}/users/alice/unlock", headers=carol), 403, "admin_required"
    )
    assert_problem(
        locked.client.post(f"{API}/users/nobody/unlock", headers=admin_headers(locked)),
        404,
        "user_not_found",
    )
    assert_problem(login(locked.client, "alice", ALICE_PASSWORD), 429, "account_locked")


def test_users_unlock_on_the_command_line(
    locked: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run_cli(locked, capsys, "users", "unlock", "alice")

    assert (status, out) == (0, "Unlocked 'alice'; they can sign in again.\n")
    assert login(locked.client, "alice", ALICE_PASSWORD).status_code == 200
    [event] = [e for e in admin_events(locked) if e["action"] == audit.USER_UNLOCK]
    assert event["actor"].startswith("cli:")
    assert event["detail"] == {"was_locked": True}


def test_a_new_password_from_the_api_lifts_the_lock(locked: Broker) -> None:
    reply = locked.client.put(
        f"{API}/users/alice/password",
        json={"password": NEW_PASSWORD},
        headers=admin_headers(locked),
    )

    assert reply.status_code == 204, reply.text
    assert login(locked.client, "alice", NEW_PASSWORD).status_code == 200
    [event] = [e for e in admin_events(locked) if e["action"] == audit.USER_PASSWORD]
    assert event["detail"] == {"tokens_revoked": 0, "unlocked": True}


@pytest.mark.parametrize("command", [["users", "passwd"], ["users", "add"]])
def test_a_new_password_from_the_command_line_lifts_the_lock(
    locked: Broker, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    status, _out = run_cli(
        locked, capsys, *command, "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )

    assert status == 0
    assert login(locked.client, "alice", NEW_PASSWORD).status_code == 200


# The password policy (#19): the admin API refuses a short new password.


@pytest.mark.parametrize("minimum", [None, 12])
def test_the_admin_api_follows_the_password_policy(
    make_broker: Callable[..., Broker], minimum: int | None
) -> None:
    settings = {} if minimum is None else {"password_min_length": minimum}
    broker = make_broker(live=True, **settings)
    headers = admin_headers(broker)
    short = "x" * ((minimum or 8) - 1)

    created = broker.client.post(
        f"{API}/users", json={"username": "erin", "password": short}, headers=headers
    )
    changed = broker.client.put(
        f"{API}/users/alice/password", json={"password": short}, headers=headers
    )

    for reply in (created, changed):
        problem = assert_problem(reply, 422, "password_too_short")
        assert f"at least {minimum or 8} characters" in problem["detail"]
        # A 422 like every other: it says where (the schema's ValidationProblem).
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
            (["body", "password"], "password_too_short")
        ]
    assert login(broker.client, "alice", ALICE_PASSWORD).status_code == 200
    long_enough = short + "y"
    assert (
        broker.client.post(
            f"{API}/users", json={"username": "erin", "password": long_enough}, headers=headers
        ).status_code
        == 201
    )
