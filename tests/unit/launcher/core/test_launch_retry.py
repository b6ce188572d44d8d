"""open_desktop while a machine powers on: the same Idempotency-Key, and Cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from launcher.core.broker import DesktopStarting
from launcher.core.launching import LaunchCancelled, Preferences, open_desktop
from tests.helpers import fake_client
from tests.helpers.fake_broker import FakeBroker, desktop


def make_broker() -> FakeBroker:
    broker = FakeBroker(
        desktops=[desktop("lab", "vnc")],
        connections={"lab": {"protocol": "vnc", "host": "10.0.0.5", "port": 5901}},
        starting={"lab": 1},
        retry_after=3,
    )
    return broker


def test_the_key_is_sent_again_until_the_machine_is_up(tmp_path: Path) -> None:
    broker = make_broker()
    viewer = fake_client.make(tmp_path / "bin", exit_code=0)
    client = broker.client()
    client.login(username="ann", password="ann-password")
    [lab] = client.desktops()
    prefs = Preferences(clients={"vncviewer": str(viewer.path)})
    with pytest.raises(DesktopStarting) as caught:
        open_desktop(client, lab, on_exit=lambda _: None, preferences=prefs, idempotency_key="k-1")
    assert caught.value.retry_after == 3
    assert not viewer.record.exists()  # no client while the machine starts
    opened = open_desktop(
        client, lab, on_exit=lambda _: None, preferences=prefs, idempotency_key="k-1"
    )
    opened.client.wait(timeout=10)
    keys = [r.idempotency_key for r in broker.requests if r.path.endswith("/launch")]
    assert keys == ["k-1", "k-1"]


def test_a_cancelled_launch_starts_no_client(tmp_path: Path) -> None:
    broker = make_broker()
    broker.starting.clear()
    viewer = fake_client.make(tmp_path / "bin", exit_code=0)
    client = broker.client()
    client.login(username="ann", password="ann-password")
    [lab] = client.desktops()
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(LaunchCancelled):
        open_desktop(
            client,
            lab,
            on_exit=lambda _: None,
            preferences=Preferences(clients={"vncviewer": str(viewer.path)}),
            cancelled=cancelled,
        )
    assert not viewer.record.exists()
