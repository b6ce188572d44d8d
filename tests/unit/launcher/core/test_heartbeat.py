"""The heartbeat ticker with a local function, and its HTTP calls replayed.

The broker's heartbeat and disconnect routes answer 204 (docs/api.md); the
bundled broker does not serve them yet, so the HTTP side is checked against
httpx.MockTransport replaying that answer.
"""

from __future__ import annotations

import itertools
import threading
import time

import httpx
import pytest

from launcher.core import heartbeat
from launcher.core.broker import BrokerClient, BrokerUnreachable
from launcher.core.heartbeat import Heartbeat, StopBeating
from tests.helpers.e2e import wait_for


def test_beats_every_interval_until_stopped() -> None:
    calls: list[float] = []
    beat = Heartbeat(lambda: calls.append(time.monotonic()), interval=0.05, name="s1").start()
    wait_for(lambda: len(calls) >= 3, 5, "three beats")
    beat.stop(timeout=5)
    assert not beat.running
    count = len(calls)
    time.sleep(0.15)
    assert len(calls) == count
    assert beat.beats == count
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= 0.04


def test_a_failed_beat_is_logged_once_and_the_next_one_tried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = iter([OSError("down"), OSError("down"), None, None])
    done = threading.Event()

    def beat() -> None:
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome
        done.set()

    caplog.set_level("DEBUG", logger="rubicon")
    ticker = Heartbeat(beat, interval=0.02, name="s1").start()
    assert done.wait(5)
    ticker.stop(timeout=5)
    assert ticker.failures == 2
    assert ticker.beats >= 1
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "heartbeat s1 failed (1 so far): down" in warnings[0].getMessage()
    assert "heartbeat s1 works again" in caplog.text


def test_stop_beating_ends_the_ticker() -> None:
    calls: list[int] = []

    def beat() -> None:
        calls.append(1)
        raise StopBeating("session gone")

    ticker = Heartbeat(beat, interval=0.01, name="s1").start()
    wait_for(lambda: not ticker.running, 5, "the heartbeat to stop")
    assert calls == [1]


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Heartbeat(lambda: None, interval=0, name="x")


# --- over HTTP (replayed) ---------------------------------------------------------


def broker(answer: httpx.Response | Exception, seen: list[httpx.Request]) -> BrokerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = BrokerClient("https://b.example", transport=httpx.MockTransport(handler))
    client._token = "tok"  # signed in
    return client


@pytest.mark.parametrize("action", ["heartbeat", "disconnect"])
def test_heartbeat_and_disconnect_post_to_the_session(action: str) -> None:
    seen: list[httpx.Request] = []
    client = broker(httpx.Response(204), seen)
    assert getattr(client, action)("s-42") is None
    [request] = seen
    assert (request.method, request.url.path) == ("POST", f"/api/v1/sessions/s-42/{action}")
    assert request.headers["authorization"] == "Bearer tok"


def test_a_session_id_cannot_leave_its_path() -> None:
    client = broker(httpx.Response(204), [])
    with pytest.raises(ValueError, match="not a valid id"):
        client.heartbeat("../admin")


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "detail": code})


@pytest.mark.parametrize(
    ("answer", "stops"),
    [
        (httpx.Response(204), False),
        (problem(404, "session_not_found"), True),
        (problem(409, "session_ended"), True),
        (problem(404, "not_found"), True),  # a broker without heartbeats
        (problem(401, "invalid_token"), True),
        (problem(503, "database_unavailable"), False),
        (httpx.ConnectError("refused"), False),
    ],
)
def test_for_session_stops_only_when_beating_again_is_pointless(
    answer: httpx.Response | Exception, stops: bool
) -> None:
    seen: list[httpx.Request] = []
    ticker = heartbeat.for_session(broker(answer, seen), "s-1", interval=0.02).start()
    wait_for(lambda: len(seen) >= (1 if stops else 3), 5, "the beats")
    if stops:
        wait_for(lambda: not ticker.running, 5, "the heartbeat to stop")
        assert len(seen) == 1
    else:
        assert ticker.running
        ticker.stop(timeout=5)


def test_unreachable_broker_is_a_broker_error() -> None:
    client = broker(httpx.ConnectError("refused"), [])
    with pytest.raises(BrokerUnreachable):
        client.disconnect("s-1")


def test_the_first_heartbeat_goes_out_at_once() -> None:
    seen: list[httpx.Request] = []
    ticker = heartbeat.for_session(broker(httpx.Response(204), seen), "s-1", interval=60).start()
    try:
        wait_for(lambda: len(seen) == 1, 5, "one beat")
    finally:
        ticker.stop(timeout=5)
    assert heartbeat.DEFAULT_INTERVAL == 60  # what the broker asks for
