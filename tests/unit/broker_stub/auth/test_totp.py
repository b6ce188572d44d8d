"""TOTP: enrolment with `users totp`, codes at sign-in, and pools that require them."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from broker_stub import cli
from broker_stub.auth import tokens, totp
from broker_stub.db.models import Token, User
from tests.helpers.clock import FakeClock

from ..conftest import POOLS, Broker, PoolSpec, assert_problem

LOGIN = "/api/v1/auth/login"
ALICE_PASSWORD = "alice-Secret-1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def enrol(broker: Broker, username: str) -> pyotp.TOTP:
    with broker.session() as db:
        user = db.scalar(select(User).where(User.username == username))
        assert user is not None
        return pyotp.TOTP(totp.enrol(db, user))


@pytest.fixture
def broker(make_broker: Callable[..., Broker], clock: FakeClock) -> Broker:
    broker = make_broker()
    broker.app.state.clock = clock
    return broker


def login(broker: Broker, otp: str | None = None, username: str = "alice") -> dict[str, object]:
    body: dict[str, object] = {"username": username, "password": broker.users[username].password}
    if otp is not None:
        body["otp"] = otp
    reply = broker.client.post(LOGIN, json=body)
    return {"status": reply.status_code, "body": reply.json(), "headers": reply.headers}


# The code itself


def test_codes_one_step_either_side_are_accepted(clock: FakeClock) -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)
    now = clock()
    step = app.timecode(now)

    assert totp.matching_step(secret, app.at(now), now) == step
    assert totp.matching_step(secret, app.at(now - timedelta(seconds=30)), now) == step - 1
    assert totp.matching_step(secret, app.at(now + timedelta(seconds=30)), now) == step + 1
    assert totp.matching_step(secret, app.at(now - timedelta(seconds=60)), now) is None
    assert totp.matching_step(secret, app.at(now + timedelta(seconds=60)), now) is None


@pytest.mark.parametrize(
    ("typed", "digits"),
    [("123456", "123456"), ("123 456", "123456"), ("123-456", "123456"), (" 123456 ", "123456")],
)
def test_codes_are_read_as_apps_show_them(typed: str, digits: str) -> None:
    assert totp.normalize(typed) == digits


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123.456"])
def test_what_cannot_be_a_code(typed: str) -> None:
    assert totp.normalize(typed) is None


def test_secrets_are_160_random_bits() -> None:
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(re.fullmatch(r"[A-Z2-7]{32}", s) for s in secrets)


def test_provisioning_uri() -> None:
    uri = urlparse(totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice"))

    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Rubicon:alice")
    assert parse_qs(uri.query) == {
        "secret": ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"],
        "issuer": ["Rubicon"],
    }


# Sign-in


def test_a_user_without_totp_signs_in_with_a_password(broker: Broker) -> None:
    reply = login(broker)

    assert reply["status"] == 200
    with broker.session() as db:
        assert db.scalars(select(Token.mfa)).all() == [False]


def test_an_enrolled_user_is_asked_for_a_code(broker: Broker, clock: FakeClock) -> None:
    app = enrol(broker, "alice")

    asked = broker.client.post(LOGIN, json={"username": "alice", "password": ALICE_PASSWORD})
    problem = assert_problem(asked, 401, "otp_required")
    assert "authenticator app" in problem["detail"]
    assert asked.headers["www-authenticate"].startswith("Bearer")
    # An empty code is no code.
    assert login(broker, "")["body"]["code"] == "otp_required"  # type: ignore[index]

    reply = login(broker, app.at(clock()))

    assert reply["status"] == 200
    with broker.session() as db:
        assert db.scalars(select(Token.mfa)).all() == [True]


def test_a_wrong_password_is_refused_before_the_code_is_asked_for(broker: Broker) -> None:
    enrol(broker, "alice")

    reply = broker.client.post(LOGIN, json={"username": "alice", "password": "wrong"})

    assert_problem(reply, 401, "invalid_credentials")


def test_wrong_and_reused_codes(broker: Broker, clock: FakeClock) -> None:
    app = enrol(broker, "alice")
    code = app.at(clock())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    bad = broker.client.post(
        LOGIN, json={"username": "alice", "password": ALICE_PASSWORD, "otp": wrong}
    )
    assert "too old, or was already used" in assert_problem(bad, 401, "invalid_otp")["detail"]

    assert login(broker, code)["status"] == 200
    again = login(broker, code)
    assert again["status"] == 401
    assert again["body"]["code"] == "invalid_otp"  # type: ignore[index]

    # Nor an older code still inside the drift window, once a newer one was used.
    clock.advance(seconds=30)
    assert login(broker, app.at(clock() - timedelta(seconds=30)))["status"] == 401
    assert login(broker, app.at(clock()))["status"] == 200


def test_a_code_is_good_once_across_two_brokers(
    make_broker: Callable[..., Broker], clock: FakeClock
) -> None:
    one, two = make_broker(), make_broker()
    one.app.state.clock = two.app.state.clock = clock
    code = enrol(one, "alice").at(clock())

    assert login(one, code)["status"] == 200
    assert login(two, code)["status"] == 401


def test_wrong_codes_count_towards_lockout(broker: Broker, clock: FakeClock) -> None:
    app = enrol(broker, "alice")

    statuses = [login(broker, "000000")["status"] for _ in range(5)]

    assert statuses == [401, 401, 401, 401, 429]
    reply = login(broker, app.at(clock()))
    assert reply["body"]["code"] == "account_locked"  # type: ignore[index]


def test_a_missing_code_does_not_count_towards_lockout(broker: Broker, clock: FakeClock) -> None:
    app = enrol(broker, "alice")

    assert {login(broker)["status"] for _ in range(6)} == {401}

    assert login(broker, app.at(clock()))["status"] == 200


def test_no_code_or_secret_reaches_the_logs(
    broker: Broker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = enrol(broker, "alice")
    code = app.at(clock())

    login(broker)
    login(broker, code)
    login(broker, code)

    assert "alice" in caplog.text
    assert app.secret not in caplog.text
    assert code not in caplog.text


# Pools that require a code


@pytest.fixture
def strict_pools() -> list[PoolSpec]:
    pools = [dict(p) for p in POOLS]
    pools[0]["require_totp"] = True  # engineering: alice, group staff (bob)
    return pools


@pytest.fixture
def strict(
    make_broker: Callable[..., Broker], clock: FakeClock, strict_pools: list[PoolSpec]
) -> Broker:
    broker = make_broker(pools=strict_pools)
    broker.app.state.clock = clock
    return broker


def launch(broker: Broker, token: str, pool: str = "engineering") -> dict[str, object]:
    reply = broker.client.post(
        f"/api/v1/desktops/{pool}/launch", headers={"Authorization": f"Bearer {token}"}
    )
    return {"status": reply.status_code, "body": reply.json()}


def test_a_pool_that_requires_totp_refuses_a_password_only_token(
    strict: Broker, clock: FakeClock
) -> None:
    token = login(strict, username="bob")["body"]["token"]  # type: ignore[index]

    reply = strict.client.post(
        "/api/v1/desktops/engineering/launch", headers={"Authorization": f"Bearer {token}"}
    )

    problem = assert_problem(reply, 403, "otp_required_for_pool")
    assert problem["detail"] == (
        '"Engineering desktop" needs a one-time code at sign-in. '
        "Ask your administrator to set up a one-time code for your account."
    )
    # Other pools do not mind.
    assert launch(strict, token, "art")["status"] == 200


def test_an_enrolled_user_is_told_to_sign_in_again_with_a_code(
    strict: Broker, clock: FakeClock
) -> None:
    app = enrol(strict, "alice")
    with strict.session() as db:
        # A token from before the enrolment, issued without a code.
        alice = db.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        old, _ = tokens.issue(db, alice, timedelta(hours=1), clock())

    refused = launch(strict, old)
    assert refused["status"] == 403
    assert "Sign out, then sign in again" in refused["body"]["detail"]  # type: ignore[index]

    token = login(strict, app.at(clock()))["body"]["token"]  # type: ignore[index]
    assert launch(strict, token)["status"] == 200


def test_the_pool_check_does_not_hide_other_answers(strict: Broker) -> None:
    token = login(strict, username="carol")["body"]["token"]  # type: ignore[index]

    # carol is not entitled to engineering: not_entitled, not otp_required_for_pool.
    assert launch(strict, token)["body"]["code"] == "not_entitled"  # type: ignore[index]
    assert launch(strict, token, "nope")["body"]["code"] == "pool_not_found"  # type: ignore[index]


# rubicon-broker users totp


def run_cli(args: list[str]) -> int:
    return cli.main(args)


def test_users_totp_command(
    broker: Broker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = broker.settings.database_url
    assert url is not None

    assert run_cli(["users", "totp", "alice", "--database-url", url]) == 0

    out = capsys.readouterr().out
    uri = re.search(r"otpauth://\S+", out)
    assert uri is not None
    secret = parse_qs(urlparse(uri.group()).query)["secret"][0]
    assert secret.replace(" ", "") in out.replace(" ", "")
    with broker.session() as db:
        stored = db.scalar(select(User.totp_secret).where(User.username == "alice"))
    assert stored == secret
    assert login(broker)["body"]["code"] == "otp_required"  # type: ignore[index]

    # Once enrolled, a new secret needs --force; --remove turns it off.
    assert run_cli(["users", "totp", "alice", "--database-url", url]) == 2
    assert "already has TOTP" in capsys.readouterr().err
    assert run_cli(["users", "totp", "alice", "--force", "--database-url", url]) == 0
    assert secret not in capsys.readouterr().out
    assert run_cli(["users", "totp", "alice", "--remove", "--database-url", url]) == 0
    assert "Removed TOTP" in capsys.readouterr().out
    assert login(broker)["status"] == 200


def test_users_totp_for_an_unknown_user(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    url = broker.settings.database_url
    assert url is not None

    assert run_cli(["users", "totp", "zed", "--database-url", url]) == 2
    assert "there is no user 'zed'" in capsys.readouterr().err
