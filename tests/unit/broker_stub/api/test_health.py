"""GET /healthz."""

from __future__ import annotations

from ..conftest import Broker


def test_healthz(broker: Broker) -> None:
    reply = broker.client.get("/healthz")

    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}


def test_healthz_needs_no_token(broker: Broker) -> None:
    assert (
        broker.client.get("/healthz", headers={"Authorization": "Bearer junk"}).status_code == 200
    )
