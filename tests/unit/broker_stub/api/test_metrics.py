"""/metrics, the per-request log line and X-Request-ID."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from broker_stub import log
from broker_stub.db.engine import make_engine, make_session_factory

from ..admin_helpers import launch
from ..conftest import Broker, UserSpec, sqlite_only

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(broker: Broker, headers: dict[str, str] | None = None) -> Samples:
    reply = broker.client.get("/metrics", headers=headers or {})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def test_sign_ins_and_launches_are_counted(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(users={f"u{i}": UserSpec(f"pw{i}", ["staff"]) for i in (1, 2, 3)})
    broker.client.post("/api/v1/auth/login", json={"username": "u1", "password": "wrong"})
    launch(broker, "u1")
    launch(broker, "u2")
    launch(broker, "u2")  # reconnects
    broker.client.post("/api/v1/desktops/engineering/launch", headers=broker.login("u3"))
    broker.client.post("/api/v1/desktops/finance/launch", headers=broker.login("u3"))
    broker.client.post("/api/v1/desktops/made-up-pool/launch", headers=broker.login("u3"))

    samples = scrape(broker)

    assert samples[("rubicon_sign_ins_total", (("outcome", "ok"), ("reason", "")))] == 6
    failed = (("outcome", "failed"), ("reason", "invalid_credentials"))
    assert samples[("rubicon_sign_ins_total", failed)] == 1
    launches = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "rubicon_launches_total"
    }
    assert launches == {
        (("outcome", "ok"), ("pool", "engineering")): 3,
        (("outcome", "no_machine_available"), ("pool", "engineering")): 1,
        (("outcome", "not_entitled"), ("pool", "finance")): 1,
        # A pool id nobody has is not a label: clients could make up any number of them.
        (("outcome", "pool_not_found"), ("pool", "")): 1,
    }
    assert samples[("rubicon_launch_duration_seconds_count", ())] == 3
    assert samples[("rubicon_launch_duration_seconds_bucket", (("le", "+Inf"),))] == 3


def test_sessions_and_machines_by_state_come_from_the_database(broker: Broker) -> None:
    launch(broker, "alice")

    samples = scrape(broker)

    assert samples[("rubicon_database_up", ())] == 1
    live = {
        labels: value for (name, labels), value in samples.items() if name == "rubicon_sessions"
    }
    assert sum(live.values()) == 1
    assert live[(("pool", "finance"), ("state", "active"))] == 0  # every pool, every state
    machines = {
        labels: value for (name, labels), value in samples.items() if name == "rubicon_machines"
    }
    assert machines[(("pool", "engineering"), ("state", "ready"))] == 1
    assert sum(v for (pool, _state), v in machines.items() if pool == ("pool", "engineering")) == 2
    assert sum(machines.values()) == 4


def test_each_app_has_its_own_registry(make_broker: Callable[..., Broker]) -> None:
    first = make_broker()
    second = make_broker()
    first.login("alice")

    assert first.app.state.metrics.registry is not second.app.state.metrics.registry
    ok = ("rubicon_sign_ins_total", (("outcome", "ok"), ("reason", "")))
    assert scrape(first)[ok] == 1
    assert ok not in scrape(second)


@sqlite_only
def test_database_down(broker: Broker) -> None:
    engine = make_engine("sqlite:////nonexistent-dir/b.sqlite3")
    broker.app.state.metrics = type(broker.app.state.metrics)(make_session_factory(engine))
    broker.app.state.session_factory = make_session_factory(engine)
    try:
        samples = scrape(broker)
        health = broker.client.get("/healthz")
    finally:
        engine.dispose()

    assert samples[("rubicon_database_up", ())] == 0
    assert not any(name == "rubicon_sessions" for name, _ in samples)
    assert health.status_code == 503
    assert health.json()["code"] == "database_unavailable"


@sqlite_only
def test_scrape_token(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(metrics_token="scrape-Secret-1")

    missing = broker.client.get("/metrics")
    wrong = broker.client.get("/metrics", headers={"Authorization": "Bearer nope"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["code"] == "invalid_token"
    assert scrape(broker, {"Authorization": "Bearer scrape-Secret-1"})


@sqlite_only
def test_request_id_and_one_json_log_line_per_request(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    log.setup("info", json=True)
    headers = broker.login("alice")
    capsys.readouterr()

    given = broker.client.get(
        "/api/v1/desktops?token=sekrit", headers={**headers, "X-Request-ID": "req-42"}
    )
    made = broker.client.get("/api/v1/admin/users/alice", headers=headers)
    junk = broker.client.get("/healthz", headers={"X-Request-ID": "two words\ninjected"})

    assert given.headers["x-request-id"] == "req-42"
    assert len(made.headers["x-request-id"]) == 32
    assert junk.headers["x-request-id"] != "two words\ninjected"
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    http = [x for x in lines if x["logger"] == "rubicon.broker.http"]
    assert [(x["method"], x["route"], x["status"]) for x in http] == [
        ("GET", "/api/v1/desktops", 200),
        ("GET", "/api/v1/admin/users/{username}", 403),
        ("GET", "/healthz", 200),
    ]
    assert [x["request_id"] for x in http] == [
        "req-42",
        made.headers["x-request-id"],
        junk.headers["x-request-id"],
    ]
    assert all(x["duration_ms"] >= 0 for x in http)
    # Neither the query string nor path values reach the broker's log.
    everything = json.dumps([x for x in lines if x["logger"].startswith("rubicon.broker")])
    assert "sekrit" not in everything
    assert "users/alice" not in everything


@sqlite_only
def test_problems_carry_the_request_id(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rubicon.broker.http")

    reply = broker.client.get("/api/v1/nothing-here", headers={"X-Request-ID": "abc"})

    assert reply.status_code == 404
    assert reply.headers["x-request-id"] == "abc"
    (record,) = [r for r in caplog.records if r.name == "rubicon.broker.http"]
    assert record.getMessage().startswith("GET (unmatched) 404 ")
