"""A broker's certificate changes: announced ahead (nobody is asked), or not (refused,
with both fingerprints), against a live broker over real TLS."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from broker_stub import tls
from launcher.core import trust
from launcher.core.broker import BrokerClient, CertificateChanged
from tests.helpers.live_broker import Machine, live_broker

POOLS: dict[str, Sequence[Machine]] = {"lab": [Machine("lab-1", port=5901)]}
USERS = {"ann": "ann-pw"}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def sign_in(url: str, pins: trust.PinStore) -> None:
    with BrokerClient(url, pins=pins) as client:
        client.login(username="ann", password="ann-pw")


def test_an_announced_certificate_is_learnt_then_taken_without_a_question(
    tmp_path: Path,
) -> None:
    where = tmp_path / "tls"
    current = tls.create(where, ["broker.test"])
    upcoming = tls.create(where, ["broker.test"], upcoming=True)
    pins = trust.PinStore(tmp_path / "pins.json")
    served = (where / "cert.pem", where / "key.pem")

    with live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=served) as live:
        url, port = live.url, port_of(live.url)
        origin = trust.origin(url)
        pins.pin(origin, pem=current.cert.read_text())
        sign_in(url, pins)  # over the pinned certificate: the broker announces the next one
    pin = trust.PinStore(pins.path).get(origin)
    assert pin is not None
    assert (pin.fingerprint, pin.next_fingerprint) == (current.fingerprint, upcoming.fingerprint)

    tls.rotate(where)  # `rubicon-broker init --rotate`, then a restart
    with live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=served, port=port):
        sign_in(url, trust.PinStore(pins.path))
    pin = trust.PinStore(pins.path).get(origin)
    assert pin is not None
    assert (pin.fingerprint, pin.next_fingerprint) == (upcoming.fingerprint, "")

    # The old certificate is trusted no more: put back, it is refused.
    old = (where / "previous-cert.pem", where / "previous-key.pem")
    with (
        live_broker(tmp_path / "broker", pools=POOLS, users=USERS, tls=old, port=port),
        pytest.raises(CertificateChanged),
    ):
        sign_in(url, trust.PinStore(pins.path))


def test_an_unannounced_change_is_refused_with_both_fingerprints(tmp_path: Path) -> None:
    old = tls.create(tmp_path / "old", ["broker.test"])
    new = tls.create(tmp_path / "new", ["broker.test"])
    pins = trust.PinStore(tmp_path / "pins.json")
    with live_broker(
        tmp_path / "broker", pools=POOLS, users=USERS, tls=(new.cert, new.key)
    ) as live:
        pins.pin(trust.origin(live.url), pem=old.cert.read_text())
        with pytest.raises(CertificateChanged) as caught:
            sign_in(live.url, pins)
    said = str(caught.value)
    assert f"Trusted before: {old.fingerprint}." in said
    assert f"Presented now: {new.fingerprint}." in said
    assert said.startswith(f"The broker at {trust.origin(live.url)} presented a different")
    assert caught.value.pinned == old.fingerprint


def answering(tls_answer: object, status: int = 200) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/login":
            return httpx.Response(
                200,
                json={
                    "token": "t",
                    "expires_at": "2030-01-01T00:00:00+00:00",
                    "user": {"username": "ann", "display_name": "Ann"},
                },
            )
        assert request.url.path == "/api/v1/tls"
        return httpx.Response(status, json=tls_answer)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("wrong", ["fingerprint", "pem", "shape"])
def test_an_announcement_that_does_not_fit_changes_nothing(
    tmp_path: Path, wrong: str, caplog: pytest.LogCaptureFixture
) -> None:
    current = tls.create(tmp_path / "a", ["b.example"])
    upcoming = tls.create(tmp_path / "b", ["b.example"])
    pins = trust.PinStore(tmp_path / "pins.json")
    pins.pin("https://b.example:443", pem=current.cert.read_text())
    announced = {"fingerprint": upcoming.fingerprint, "pem": upcoming.cert.read_text()}
    if wrong == "shape":
        answer: dict[str, object] = {"fingerprint": current.fingerprint, "next": "a string"}
    else:
        announced[wrong] = current.fingerprint if wrong == "fingerprint" else "-----BEGIN nonsense"
        answer = {"fingerprint": current.fingerprint, "next": announced}

    with BrokerClient("https://b.example", pins=pins, transport=answering(answer)) as client:
        client.login(username="ann", password="pw")

    pin = trust.PinStore(pins.path).get("https://b.example:443")
    assert pin is not None
    assert pin.next_fingerprint == ""
    assert "does not fit" in caplog.text


def test_an_announcement_withdrawn_is_forgotten(tmp_path: Path) -> None:
    current = tls.create(tmp_path / "a", ["b.example"])
    upcoming = tls.create(tmp_path / "b", ["b.example"])
    pins = trust.PinStore(tmp_path / "pins.json")
    pins.pin("https://b.example:443", pem=current.cert.read_text())
    pins.announce("https://b.example:443", pem=upcoming.cert.read_text())

    answer = {"fingerprint": current.fingerprint, "next": None}
    with BrokerClient("https://b.example", pins=pins, transport=answering(answer)) as client:
        client.login(username="ann", password="pw")

    pin = trust.PinStore(pins.path).get("https://b.example:443")
    assert pin is not None
    assert (pin.fingerprint, pin.next_fingerprint, pin.next_pem) == (current.fingerprint, "", "")


def test_a_broker_without_the_route_changes_nothing(tmp_path: Path) -> None:
    current = tls.create(tmp_path / "a", ["b.example"])
    pins = trust.PinStore(tmp_path / "pins.json")
    pins.pin("https://b.example:443", pem=current.cert.read_text())
    before = pins.path.read_text()

    not_found = {"type": "about:blank", "title": "Not found", "status": 404, "code": "not_found"}
    with BrokerClient(
        "https://b.example", pins=pins, transport=answering(not_found, 404)
    ) as client:
        client.login(username="ann", password="pw")
    assert pins.path.read_text() == before


def test_a_pin_file_from_a_newer_launcher_still_loads(tmp_path: Path) -> None:
    current = tls.create(tmp_path / "a", ["b.example"])
    path = tmp_path / "pins.json"
    path.write_text(
        json.dumps(
            {
                "https://b.example:443": {
                    "fingerprint": current.fingerprint,
                    "pem": current.cert.read_text(),
                    "pinned_at": "2030-01-01T00:00:00+00:00",
                    "something_new": 1,
                }
            }
        )
    )
    pin = trust.PinStore(path).get("https://b.example:443")
    assert pin is not None
    assert pin.fingerprint == current.fingerprint
