"""HTTP's own answers, over real HTTP on SQLite and PostgreSQL: a 405 names
every method the address takes, and the schema documents invalid_cursor."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..admin_helpers import API, admin_headers
from ..conftest import Broker, assert_problem

HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def test_a_405_lists_every_allowed_method(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(live=True)
    headers = admin_headers(broker)

    # The case from the report: POST /api/v1/admin/users exists.
    reply = broker.client.delete(f"{API}/users", headers=headers)
    assert_problem(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "GET, POST"

    # And every other address, against what the schema says it takes.
    checked = 0
    for template, operations in broker.app.openapi()["paths"].items():
        allowed = sorted(m.upper() for m in operations)
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in sorted(set(HTTP_METHODS) - set(allowed)):
            reply = broker.client.request(method, path, headers=headers)
            assert_problem(reply, 405, "method_not_allowed")
            assert reply.headers["allow"] == ", ".join(allowed), (method, template)
            checked += 1
    assert checked > 50


def test_the_schema_documents_invalid_cursor(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(live=True)
    headers = admin_headers(broker)
    schema = broker.client.get("/openapi.json").json()
    problem = schema["components"]["schemas"]["InvalidCursorProblem"]

    assert problem["properties"]["code"]["const"] == "invalid_cursor"
    paged = [
        template
        for template, operations in schema["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert sorted(paged) == [f"{API}/audit", f"{API}/sessions", f"{API}/users"]
    for template in paged:
        answer = schema["paths"][template]["get"]["responses"]["400"]
        assert "`invalid_cursor`" in answer["description"]
        content = answer["content"]["application/problem+json"]["schema"]
        assert content == {"$ref": "#/components/schemas/InvalidCursorProblem"}
        # And the broker answers as documented.
        reply = broker.client.get(template, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=headers)
        assert_problem(reply, 400, "invalid_cursor")
