"""Every text input is checked at the edge, on SQLite and PostgreSQL, over real HTTP.

A property over every operation in /openapi.json: take a request the schema
accepts (schemathesis draws it), spoil one of its strings (a path segment, a
query value, or a string anywhere in the JSON body) with a control character,
or in the body a lone surrogate, and the broker answers 422 invalid_request,
or at sign-in 401 invalid_credentials (a wrong password, not a bad request),
never a 500: PostgreSQL refuses a NUL, and neither database can store a lone
surrogate. A lone surrogate is not Unicode text at all, so it is 422 at
sign-in too, like a body that is not UTF-8. Headers are left out: the
HTTP parser itself refuses a control character there (test_serve_http.py).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from ..admin_helpers import admin_headers
from ..conftest import Broker, assert_problem
from .test_schemathesis import quick

EXAMPLES = 6
LOGIN = "/api/v1/auth/login"
# C0, DEL and some C1; NUL first, as it is the one PostgreSQL refuses.
CONTROL = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


def spoiled(*, in_body: bool) -> st.SearchStrategy[str]:
    """Some text with at least one character no text input may hold."""
    bad = CONTROL + (SURROGATES if in_body else [])
    around = st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=4)
    return st.tuples(around, st.sampled_from(bad), around).map("".join)


def string_paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the strings are in a JSON value, as key/index paths."""
    if isinstance(value, str):
        return [at]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in string_paths(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in string_paths(v, (*at, i))]
    return []


def replaced(value: Any, at: tuple[Any, ...], new: str) -> Any:
    if not at:
        return new
    head, *rest = at
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replaced(value[head], tuple(rest), new)
    return copy


def body_properties(schema: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The top-level properties of the operation's JSON body, if it has one."""
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema", {})
    ref = body.get("$ref") or next((s["$ref"] for s in body.get("anyOf", []) if "$ref" in s), None)
    if ref is not None:
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return set(body.get("properties", {}))


def send(broker: Broker, case: Any, headers: dict[str, str], spoilt_param: str | None) -> Any:
    path = case.path
    for name, value in (case.path_parameters or {}).items():
        # schemathesis hands its own path values over already quoted.
        text = quote(value, safe="") if name == spoilt_param else str(value)
        path = path.replace("{" + name + "}", text)
    kwargs: dict[str, Any] = {"params": case.query or None, "headers": headers}
    if case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        kwargs["content"] = json.dumps(case.body).encode()
        kwargs["headers"] = {**headers, "Content-Type": "application/json"}
    return broker.client.request(case.method, path, **kwargs)


def test_no_text_input_takes_a_control_character(make_broker: Callable[..., Broker]) -> None:
    broker = make_broker(live=True)
    tokens = {"admin": admin_headers(broker), "user": broker.login("alice")}
    schema = schemathesis.openapi.from_dict(broker.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    spoilt: set[str] = set()
    findings: list[str] = []

    for operation in operations:
        who = "admin" if operation.path.startswith("/api/v1/admin") else "user"
        spoil_each(broker, operation, tokens[who], spoilt, findings)

    assert not findings, "\n".join(findings[:40])
    # Every operation that takes text had some spoilt.
    assert {f"POST {LOGIN}", "POST /api/v1/desktops/{pool}/launch"} <= spoilt
    assert "POST /api/v1/sessions/{session_id}/heartbeat" in spoilt


def spoil_each(
    broker: Broker, operation: Any, headers: dict[str, str], spoilt: set[str], findings: list[str]
) -> None:
    """Send EXAMPLES requests of `operation`, each with one string spoilt."""
    declared = body_properties(broker.app.openapi(), operation.definition.raw)

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), data=st.data())
    @quick(EXAMPLES)
    def run(case: Any, data: st.DataObject) -> None:
        slots: list[tuple[str, Any]] = [("path", n) for n in case.path_parameters or {}]
        slots += [("query", n) for n, v in (case.query or {}).items() if isinstance(v, str)]
        body = case.body if isinstance(case.body, dict | list) else None
        # Keys the model does not declare are ignored (never read, never stored).
        slots += [("body", at) for at in string_paths(body) if at[0] in declared]
        if not slots:
            return  # nothing to spoil in this request
        where, key = data.draw(st.sampled_from(slots))
        bad = data.draw(spoiled(in_body=where == "body"))
        if where == "path":
            case.path_parameters = {**case.path_parameters, key: bad}
        elif where == "query":
            case.query = {**case.query, key: bad}
        else:
            case.body = replaced(body, key, bad)
        reply = send(broker, case, headers, key if where == "path" else None)
        spoilt.add(operation.label)
        try:
            if operation.path == LOGIN and not any(c in bad for c in SURROGATES):
                assert_problem(reply, 401, "invalid_credentials")
            else:
                assert_problem(reply, 422, "invalid_request")
        except AssertionError as exc:
            label = f"{operation.label} {where} {key!r} = {bad!r}"
            findings.append(f"{label}: {reply.status_code} {reply.text[:300]} ({exc})")

    run()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", LOGIN, {"username": "a\u0000b", "password": "x"}),
        ("POST", LOGIN, {"username": "alice", "password": "alice-Secret-1\u0000"}),
        ("POST", "/api/v1/desktops/a%00b/launch", None),
        ("POST", "/api/v1/sessions/a%00b/heartbeat", None),
        ("POST", "/api/v1/sessions/a%00b/logoff", None),
        ("GET", "/api/v1/nothing/a%00b", None),
    ],
)
def test_the_reported_nul_requests(
    make_broker: Callable[..., Broker], method: str, path: str, body: dict[str, str] | None
) -> None:
    """The requests from the report, each on its own; the connection stays usable."""
    broker = make_broker(live=True)
    headers = broker.login("alice")

    reply = broker.client.request(method, path, json=body, headers=headers)

    if path == LOGIN:
        assert_problem(reply, 401, "invalid_credentials")
    else:
        assert_problem(reply, 422, "invalid_request")
    assert broker.client.get("/api/v1/desktops", headers=headers).status_code == 200
