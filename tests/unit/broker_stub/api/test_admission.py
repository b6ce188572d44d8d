"""The admission gate lets at most `limit` requests in at once, in order of arrival."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from starlette.types import Receive, Scope, Send

from broker_stub.api.admission import AdmissionGate
from broker_stub.db.engine import PG_POOL_SIZE

from ..conftest import Broker


def test_at_most_limit_requests_are_in_and_the_rest_wait_their_turn() -> None:
    inside: list[int] = []
    most = 0
    release = asyncio.Event()

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        nonlocal most
        inside.append(scope["n"])
        most = max(most, gate.in_flight)
        await release.wait()

    gate = AdmissionGate(app, limit=2)

    async def main() -> None:
        calls = [
            asyncio.create_task(gate({"type": "http", "n": n}, _never, _drop)) for n in range(5)
        ]
        for _ in range(10):
            await asyncio.sleep(0)
        assert inside == [0, 1]  # the other three wait at the gate
        release.set()
        await asyncio.gather(*calls)

    asyncio.run(main())
    assert inside == [0, 1, 2, 3, 4]
    assert most == 2
    assert gate.in_flight == 0


def test_a_failed_request_gives_its_place_back() -> None:
    async def app(_scope: Scope, _receive: Receive, _send: Send) -> None:
        raise RuntimeError("boom")

    gate = AdmissionGate(app, limit=1)

    async def main() -> None:
        for _ in range(3):
            with pytest.raises(RuntimeError):
                await gate({"type": "http"}, _never, _drop)

    asyncio.run(main())
    assert gate.in_flight == 0


def test_lifespan_does_not_wait_at_a_full_gate() -> None:
    seen: list[str] = []
    release = asyncio.Event()

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await release.wait()

    gate = AdmissionGate(app, limit=1)

    async def main() -> None:
        busy = asyncio.create_task(gate({"type": "http"}, _never, _drop))
        await asyncio.sleep(0)
        await asyncio.wait_for(gate({"type": "lifespan"}, _never, _drop), timeout=5)
        release.set()
        await busy

    asyncio.run(main())
    assert seen == ["http", "lifespan"]


def test_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AdmissionGate(_app_unused, limit=0)


async def _app_unused(_scope: Scope, _receive: Receive, _send: Send) -> None:
    raise AssertionError("not called")


async def _never() -> dict[str, object]:
    raise AssertionError("not called")


async def _drop(_message: object) -> None:
    raise AssertionError("not called")


def test_the_app_admits_the_settings_request_slots_or_the_databases_default(
    make_broker: Callable[..., Broker],
) -> None:
    def limits(broker: Broker) -> list[int]:
        return [m.kwargs["limit"] for m in broker.app.user_middleware if m.cls is AdmissionGate]

    default = make_broker()
    expected = 2 if default.app.state.engine.dialect.name == "sqlite" else PG_POOL_SIZE
    assert limits(default) == [expected]
    assert limits(make_broker(request_slots=5)) == [5]
