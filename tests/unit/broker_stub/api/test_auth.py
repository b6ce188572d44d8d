"""POST /api/v1/auth/login and /logout, and bearer tokens on other routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from broker_stub.db.models import Token, User
from tests.helpers.clock import FakeClock

from ..conftest import SQLITE_FILE, Broker, assert_problem, sqlite_only

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
DESKTOPS = "/api/v1/desktops"


def test_login(broker: Broker) -> None:
    before = datetime.now(UTC)

    reply = broker.client.post(LOGIN, json={"username": "alice", "password": "alice-Secret-1"})

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {"username": "alice", "display_name": "Alice Liddell", "role": "user"}
    assert len(body["token"]) >= 43
    assert body["expires_at"].endswith("Z")
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(hours=10) <= expires_at <= datetime.now(UTC) + timedelta(hours=10)


def test_token_ttl_comes_from_settings(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(token_ttl=timedelta(minutes=5))

    reply = broker.client.post(LOGIN, json={"username": "alice", "password": "alice-Secret-1"})

    expires_at = datetime.fromisoformat(reply.json()["expires_at"])
    assert expires_at - datetime.now(UTC) <= timedelta(minutes=5)
    assert expires_at - datetime.now(UTC) > timedelta(minutes=4)


def test_wrong_password_and_unknown_user_look_the_same(broker: Broker) -> None:
    wrong = broker.client.post(LOGIN, json={"username": "alice", "password": "nope"})
    unknown = broker.client.post(LOGIN, json={"username": "zed", "password": "alice-Secret-1"})

    assert assert_problem(wrong, 401, "invalid_credentials") == assert_problem(
        unknown, 401, "invalid_credentials"
    )
    assert wrong.headers["www-authenticate"].startswith("Bearer")


@sqlite_only
@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"username": "alice"}, ["body", "password"]),
        ({"password": "x"}, ["body", "username"]),
        ({"username": "", "password": "x"}, ["body", "username"]),
        ({"username": "alice", "password": 5}, ["body", "password"]),
        ([], ["body"]),
    ],
)
def test_login_validation(broker: Broker, body: object, where: list[str]) -> None:
    reply = broker.client.post(LOGIN, json=body)

    problem = assert_problem(reply, 422, "invalid_request")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert [e["loc"] for e in errors] == [where]
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)


@sqlite_only
def test_validation_errors_do_not_echo_the_input(broker: Broker) -> None:
    secret = "Sup3r-secret-" + "x" * 2000  # over the length limit

    reply = broker.client.post(LOGIN, json={"username": "alice", "password": secret})

    assert_problem(reply, 422, "invalid_request")
    assert "Sup3r-secret-" not in reply.text


def test_logout_revokes_the_token(broker: Broker) -> None:
    headers = broker.login("alice")
    other = broker.login("alice")
    assert broker.client.get(DESKTOPS, headers=headers).status_code == 200

    reply = broker.client.post(LOGOUT, headers=headers)

    assert reply.status_code == 204
    assert reply.content == b""
    assert_problem(broker.client.get(DESKTOPS, headers=headers), 401, "invalid_token")
    assert_problem(broker.client.post(LOGOUT, headers=headers), 401, "invalid_token")
    # Signing out one launcher does not sign out another.
    assert broker.client.get(DESKTOPS, headers=other).status_code == 200


def test_expired_token(broker: Broker) -> None:
    headers = broker.login("alice")
    with broker.session() as db:
        db.execute(update(Token).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.commit()

    reply = broker.client.get(DESKTOPS, headers=headers)

    assert_problem(reply, 401, "invalid_token")
    assert reply.headers["www-authenticate"].startswith("Bearer")


@sqlite_only
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWxpY2U6YWxpY2UtU2VjcmV0LTE="},
    ],
)
def test_missing_or_bad_token(broker: Broker, headers: dict[str, str]) -> None:
    assert_problem(broker.client.get(DESKTOPS, headers=headers), 401, "invalid_token")
    assert_problem(broker.client.post(LOGOUT, headers=headers), 401, "invalid_token")


@sqlite_only  # it reads the database file
def test_user_password_is_not_stored_in_plaintext(broker: Broker, tmp_path: Path) -> None:
    broker.login("alice")
    with broker.session() as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored is not None
    assert stored.startswith("$argon2id$")

    files = list(tmp_path.glob(f"{SQLITE_FILE}*"))
    assert files
    for path in files:
        data = path.read_bytes()
        for spec in broker.users.values():
            assert spec.password.encode() not in data


def test_no_secret_reaches_the_logs(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    alice_password = broker.users["alice"].password

    ok = broker.client.post(LOGIN, json={"username": "alice", "password": alice_password})
    token = ok.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    broker.client.post(LOGIN, json={"username": "alice", "password": "Wr0ng-guess!"})
    broker.client.post(LOGIN, json={"username": "zed", "password": "An0ther-guess!"})
    launched = broker.client.post("/api/v1/desktops/engineering/launch", headers=headers)
    vnc_password = launched.json()["connection"]["password"]
    broker.client.post(f"/api/v1/sessions/{launched.json()['session_id']}/logoff", headers=headers)
    broker.client.post(LOGOUT, headers=headers)

    assert vnc_password == "vncEng1!"
    assert "alice" in caplog.text  # the log did record these events
    for secret in (alice_password, "Wr0ng-guess!", "An0ther-guess!", token, vnc_password):
        assert secret not in caplog.text


# Idle and absolute expiry, by the app's clock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(make_broker: Callable[..., Broker], clock: FakeClock) -> Broker:
    broker = make_broker()
    broker.app.state.clock = clock
    return broker


def test_a_token_unused_for_30_minutes_stops_working(timed: Broker, clock: FakeClock) -> None:
    headers = timed.login("alice")

    clock.advance(minutes=29)
    assert timed.client.get(DESKTOPS, headers=headers).status_code == 200
    clock.advance(minutes=29)  # 29 minutes after the last use
    assert timed.client.get(DESKTOPS, headers=headers).status_code == 200
    clock.advance(minutes=30)

    assert_problem(timed.client.get(DESKTOPS, headers=headers), 401, "invalid_token")


def test_a_used_token_still_ends_after_10_hours(timed: Broker, clock: FakeClock) -> None:
    reply = timed.client.post(LOGIN, json={"username": "alice", "password": "alice-Secret-1"})
    headers = {"Authorization": f"Bearer {reply.json()['token']}"}
    assert datetime.fromisoformat(reply.json()["expires_at"]) == clock() + timedelta(hours=10)

    for _ in range(59):
        clock.advance(minutes=10)
        assert timed.client.get(DESKTOPS, headers=headers).status_code == 200
    clock.advance(minutes=10)  # 10 hours after sign-in

    assert_problem(timed.client.get(DESKTOPS, headers=headers), 401, "invalid_token")


def test_idle_timeout_comes_from_settings(
    make_broker: Callable[..., Broker], clock: FakeClock
) -> None:
    broker = make_broker(token_idle_timeout=timedelta(minutes=5))
    broker.app.state.clock = clock
    headers = broker.login("alice")

    clock.advance(minutes=4, seconds=59)
    assert broker.client.get(DESKTOPS, headers=headers).status_code == 200
    clock.advance(minutes=5)

    assert_problem(broker.client.get(DESKTOPS, headers=headers), 401, "invalid_token")


# The role claim


def test_login_says_who_is_an_admin(broker: Broker) -> None:
    with broker.session() as db:
        db.execute(update(User).where(User.username == "bob").values(role="admin"))
        db.commit()

    bob = broker.client.post(LOGIN, json={"username": "bob", "password": "bob-Secret-2"})
    alice = broker.client.post(LOGIN, json={"username": "alice", "password": "alice-Secret-1"})

    assert bob.json()["user"]["role"] == "admin"
    assert alice.json()["user"]["role"] == "user"


# Password hashes


def test_a_weak_hash_is_upgraded_at_sign_in(broker: Broker) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("alice-Secret-1")
    with broker.session() as db:
        db.execute(update(User).where(User.username == "alice").values(password_hash=weak))
        db.commit()

    assert (
        broker.client.post(
            LOGIN, json={"username": "alice", "password": "alice-Secret-1"}
        ).status_code
        == 200
    )

    stored = broker.user("alice").password_hash
    assert stored is not None
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert broker.login("alice")


@sqlite_only
def test_an_overlong_code_is_a_validation_error(broker: Broker) -> None:
    reply = broker.client.post(
        LOGIN, json={"username": "alice", "password": "alice-Secret-1", "otp": "1" * 33}
    )

    problem = assert_problem(reply, 422, "invalid_request")
    assert [e["loc"] for e in problem["errors"]] == [["body", "otp"]]


@sqlite_only
def test_openapi_lists_the_sign_in_problems(broker: Broker) -> None:
    schema = broker.client.get("/openapi.json").json()

    login = schema["paths"][LOGIN]["post"]
    assert {"200", "401", "422", "429", "503"} <= set(login["responses"])
    assert "otp" in schema["components"]["schemas"]["LoginRequest"]["properties"]
    assert "role" in schema["components"]["schemas"]["UserOut"]["properties"]
