"""Errors HTTP itself raises are problem documents too; the schema says so."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from broker_stub.db.engine import make_engine, make_session_factory

from ..conftest import Broker, assert_problem, sqlite_only

# HTTP's own errors look the same on any database; one kind is enough.
pytestmark = sqlite_only


def test_unknown_route(broker: Broker) -> None:
    assert_problem(broker.client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method(broker: Broker) -> None:
    reply = broker.client.get("/api/v1/auth/login")

    assert_problem(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "POST"


def test_malformed_json(broker: Broker) -> None:
    reply = broker.client.post(
        "/api/v1/auth/login", content=b"{oops", headers={"content-type": "application/json"}
    )

    problem = assert_problem(reply, 422, "invalid_request")
    assert problem["errors"][0]["type"] == "json_invalid"


def test_bug_becomes_internal_error_and_is_logged(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    @broker.app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(broker.app, raise_server_exceptions=False) as client:
        reply = client.get("/boom")

    problem = assert_problem(reply, 500, "internal_error")
    assert "kaboom" not in problem["detail"]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name == "rubicon.broker.api"
    assert record.exc_info is not None
    assert "kaboom" in str(record.exc_info[1])


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/b.sqlite3",
        # Port 1: nothing listens there, so the connection is refused at once.
        "postgresql://rubicon@127.0.0.1:1/rubicon",
    ],
)
def test_database_down(broker: Broker, url: str) -> None:
    engine = make_engine(url)
    broker.app.state.session_factory = make_session_factory(engine)
    try:
        reply = broker.client.get("/healthz")
    finally:
        engine.dispose()

    assert_problem(reply, 503, "database_unavailable")
    assert reply.headers["retry-after"] == "30"


def test_openapi_describes_errors_as_problem_json(broker: Broker) -> None:
    schema = broker.client.get("/openapi.json").json()

    launch = schema["paths"]["/api/v1/desktops/{pool}/launch"]["post"]
    assert set(launch["responses"]) == {
        "200",
        "202",
        "400",
        "401",
        "403",
        "404",
        "409",
        "422",
        "502",
        "503",
        "504",
        "507",
    }
    for status, response in launch["responses"].items():
        media = "application/json" if status in ("200", "202") else "application/problem+json"
        assert list(response["content"]) == [media]
    assert launch["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LaunchResponse"
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
