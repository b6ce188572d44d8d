"""Sign-in answers the broker documents (TOTP, lockout, directory down), power-on
and session actions: replayed with httpx.MockTransport, and against the live broker
where it serves them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from broker_stub.auth import totp
from broker_stub.db.models import User
from launcher.core.broker import (
    AccountLocked,
    BrokerBusy,
    BrokerClient,
    DesktopStarting,
    InvalidCredentials,
    InvalidOtp,
    OtpRequired,
    OtpRequiredForPool,
    TooManyAttempts,
    new_idempotency_key,
    wait_in_words,
)
from tests.helpers.fake_broker import PROBLEMS, FakeBroker, desktop
from tests.helpers.live_broker import LiveBroker, Machine, live_broker


def problem(status: int, code: str, retry_after: int | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {
        "type": f"urn:rubicon:problem:{code}",
        "title": code,
        "status": status,
        "detail": PROBLEMS.get(code, "Nope."),
        "code": code,
    }
    return httpx.Response(status, json=body, headers=headers)


def replay(*responses: httpx.Response) -> tuple[BrokerClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    answers = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return BrokerClient("https://b.example", transport=httpx.MockTransport(handler)), seen


SIGNED_IN = httpx.Response(
    200,
    json={
        "token": "t",
        "expires_at": "2030-01-01T00:00:00Z",
        "user": {"username": "ann", "display_name": "Ann", "role": "admin"},
    },
)


def test_the_code_is_asked_for_then_sent_with_the_same_login() -> None:
    client, seen = replay(problem(401, "otp_required"), SIGNED_IN)
    with pytest.raises(OtpRequired) as caught:
        client.login(username="ann", password="pw")
    assert "one-time code" in str(caught.value)
    sign_in = client.login(username="ann", password="pw", otp="123456")
    assert sign_in.user.role == "admin"
    assert [json.loads(r.content) for r in seen] == [
        {"username": "ann", "password": "pw"},
        {"username": "ann", "password": "pw", "otp": "123456"},
    ]


def test_a_wrong_code_and_a_pool_that_wants_one() -> None:
    client, _ = replay(problem(401, "invalid_otp"))
    with pytest.raises(InvalidOtp, match="wrong, too old, or was already used"):
        client.login(username="ann", password="pw", otp="000000")
    client, _ = replay(SIGNED_IN, problem(403, "otp_required_for_pool"))
    client.login(username="ann", password="pw")
    with pytest.raises(OtpRequiredForPool):
        client.launch("secure")


@pytest.mark.parametrize(
    ("code", "cls"), [("account_locked", AccountLocked), ("too_many_attempts", TooManyAttempts)]
)
def test_lockouts_carry_retry_after(code: str, cls: type[TooManyAttempts]) -> None:
    client, _ = replay(problem(429, code, retry_after=300))
    with pytest.raises(cls) as caught:
        client.login(username="ann", password="pw")
    assert caught.value.retry_after == 300
    assert caught.value.status == 429
    assert isinstance(caught.value, TooManyAttempts)
    assert str(caught.value).count("Try again in") == 1  # the broker said it already


def test_a_lockout_without_words_about_when_gets_them() -> None:
    client, _ = replay(
        httpx.Response(
            429,
            json={"code": "account_locked", "detail": "Locked.", "status": 429},
            headers={"Retry-After": "90"},
        )
    )
    with pytest.raises(AccountLocked) as caught:
        client.login(username="ann", password="pw")
    assert str(caught.value) == "Locked. You can try again in 2 minutes."


def test_directory_down_is_busy_not_a_wrong_password() -> None:
    client, _ = replay(problem(503, "directory_unavailable", retry_after=30))
    with pytest.raises(BrokerBusy) as caught:
        client.login(username="ann", password="pw")
    assert not isinstance(caught.value, InvalidCredentials)
    assert caught.value.retry_after == 30
    assert "user directory" in str(caught.value)


def test_retry_after_that_is_a_date_is_ignored() -> None:
    client, _ = replay(
        httpx.Response(
            503,
            json={"code": "database_unavailable", "detail": "Down.", "status": 503},
            headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"},
        )
    )
    with pytest.raises(BrokerBusy) as caught:
        client.login(username="ann", password="pw")
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (40, "40 seconds"), (60, "1 minute"), (89, "1 minute"), (300, "5 minutes")],
)
def test_wait_in_words(seconds: int, words: str) -> None:
    assert wait_in_words(seconds) == words


def test_launch_sends_the_idempotency_key_and_202_says_when() -> None:
    starting = httpx.Response(
        202,
        json={"status": "starting", "session_id": "s1", "detail": "Lab is starting."},
        headers={"Retry-After": "7"},
    )
    client, seen = replay(SIGNED_IN, starting)
    client.login(username="ann", password="pw")
    key = new_idempotency_key()
    with pytest.raises(DesktopStarting) as caught:
        client.launch("lab", idempotency_key=key)
    assert caught.value.retry_after == 7  # from the header when the body has none
    assert seen[-1].headers["Idempotency-Key"] == key
    assert new_idempotency_key() != key


def test_no_key_no_header() -> None:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "h", "port": 5901}},
    )
    client = broker.client()
    client.login(username="ann", password="ann-password")
    client.launch("lab")
    assert broker.requests[-1].idempotency_key is None


def test_reset_restart_and_the_pool_flags() -> None:
    broker = FakeBroker(
        desktops=[
            desktop("win", "rdp", state="connected", session="s-win", allow_reset=True),
            desktop("lab", "vnc"),
        ],
        connections={},
    )
    client = broker.client()
    client.login(username="ann", password="ann-password")
    win, lab = client.desktops()
    assert (win.allow_reset, win.allow_restart) == (True, False)
    assert (lab.allow_reset, lab.allow_restart) == (False, False)  # absent means no
    client.reset("s-win")
    client.restart("s-win")
    assert broker.paths()[-2:] == ["/api/v1/sessions/s-win/reset", "/api/v1/sessions/s-win/restart"]


# -- the live broker -----------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LiveBroker]:
    with live_broker(
        tmp_path / "broker",
        pools={"solo": [Machine("solo-1", port=5901)]},
        users={"ann": "ann-pw", "bob": "bob-pw"},
    ) as live:
        yield live


def enrol(database_url: str, username: str) -> str:
    engine = create_engine(database_url)
    try:
        with Session(engine) as db:
            user = db.scalar(select(User).where(User.username == username))
            assert user is not None
            return totp.enrol(db, user)
    finally:
        engine.dispose()


def test_totp_against_the_live_broker(broker: LiveBroker) -> None:
    secret = enrol(broker.database_url, "ann")
    with BrokerClient(broker.url) as client:
        with pytest.raises(OtpRequired):
            client.login(username="ann", password="ann-pw")
        with pytest.raises(InvalidOtp):
            client.login(username="ann", password="ann-pw", otp="000000")
        sign_in = client.login(username="ann", password="ann-pw", otp=pyotp.TOTP(secret).now())
        assert sign_in.user.role == "user"


def test_lockout_against_the_live_broker(broker: LiveBroker) -> None:
    with BrokerClient(broker.url) as client:
        for _ in range(4):
            with pytest.raises(InvalidCredentials):
                client.login(username="bob", password="wrong")
        with pytest.raises(AccountLocked) as caught:
            client.login(username="bob", password="wrong")
        assert caught.value.retry_after is not None
        assert caught.value.retry_after > 0
        with pytest.raises(AccountLocked):
            client.login(username="bob", password="bob-pw")  # even the right one
