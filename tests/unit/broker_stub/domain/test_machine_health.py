"""Machine health: a console that does not answer is never handed out.

Before a launch hands out a machine it knocks on the machine's console port.
A machine that does not answer is `unreachable`: the launch takes the next
free machine, and the scheduler probes the dead one again, less often each
time, until it answers and goes back into service. The consoles here are
loopback TCP ports the tests open and close.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from broker_stub.backends import Console as BackendConsole
from broker_stub.backends.static import StaticBackend
from broker_stub.db.models import AuditEvent, DesktopSession, Machine
from broker_stub.domain import lifecycle
from tests.helpers.clock import FakeClock

from ..admin_helpers import admin_headers
from ..conftest import Broker, PoolSpec, assert_problem


class Console:
    """A loopback port that answers (listens) or not, as the test says."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]

    def up(self) -> None:
        self.sock.listen()

    def down(self) -> None:
        # A closed socket frees the port; bind a fresh one that does not listen.
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))


@pytest.fixture
def consoles() -> Iterator[list[Console]]:
    made = [Console() for _ in range(3)]
    yield made
    for console in made:
        console.sock.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def checked(
    make_broker: Callable[..., Broker],
    pools: list[PoolSpec],
    consoles: list[Console],
    clock: FakeClock,
) -> Broker:
    """engineering's machines eng-1..3 on the three consoles, probed before each launch."""
    pools[0]["health_check"] = True
    pools[0]["machines"] = [
        {"name": f"eng-{n}", "host": "127.0.0.1", "port": c.port, "password": "vncpw"}
        for n, c in enumerate(consoles, start=1)
    ]
    broker = make_broker(pools=pools)
    broker.app.state.clock = clock
    return broker


def launch(broker: Broker, user: str = "alice", pool: str = "engineering") -> object:
    headers = {**broker.login(user), "Idempotency-Key": str(uuid.uuid4())}
    return broker.client.post(f"/api/v1/desktops/{pool}/launch", headers=headers)


def machine(broker: Broker, name: str) -> Machine:
    with broker.session() as db:
        found = db.scalar(select(Machine).where(Machine.name == name))
        assert found is not None
        db.expunge(found)
        return found


def test_a_launch_skips_a_dead_machine_for_the_next_free_one(
    checked: Broker, consoles: list[Console]
) -> None:
    consoles[1].up()  # eng-1 is dead, eng-2 answers

    reply = launch(checked)

    assert reply.status_code == 200, reply.text
    assert reply.json()["connection"]["port"] == consoles[1].port
    dead = machine(checked, "eng-1")
    assert dead.state == "unreachable"
    assert dead.assigned_user_id is None
    assert dead.problem == f"its console 127.0.0.1:{consoles[0].port} did not answer"
    assert dead.probe_failures == 1
    with checked.session() as db:
        ended = db.scalars(select(DesktopSession).where(DesktopSession.state == "ended")).one()
        assert (ended.end_reason, ended.machine_id) == ("machine_failed", dead.id)
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "machine.failed")).one()
    assert event.target == "machine:engineering/eng-1"
    assert event.detail["state"] == "unreachable"

    # The next launch does not try it again: it tries eng-3, dead too, and says so.
    assert_problem(launch(checked, "bob"), 502, "machine_unreachable")
    with checked.session() as db:
        failed = db.scalars(
            select(AuditEvent.target)
            .where(AuditEvent.action == "machine.failed")
            .order_by(AuditEvent.id)
        ).all()
    assert failed == ["machine:engineering/eng-1", "machine:engineering/eng-3"]
    assert machine(checked, "eng-1").probe_failures == 1


def test_when_every_free_machine_is_dead_the_user_is_told_so(
    checked: Broker, consoles: list[Console]
) -> None:
    reply = launch(checked)

    body = assert_problem(reply, 502, "machine_unreachable")
    assert body["detail"] == (
        'Your desktop in "Engineering desktop" does not answer. Try again in a few minutes; '
        "if it persists, tell your administrator."
    )
    states = [machine(checked, f"eng-{n}").state for n in (1, 2, 3)]
    assert states == ["unreachable"] * 3


def test_an_unreachable_machine_is_probed_with_backoff_until_it_answers(
    checked: Broker, consoles: list[Console], clock: FakeClock
) -> None:
    consoles[1].up()
    launch(checked)
    scheduler, upkeep = checked.app.state.scheduler, checked.app.state.upkeep
    first = clock.now + lifecycle.PROBE_FIRST_DELAY
    assert machine(checked, "eng-1").probe_after == first

    assert scheduler.run_once(clock.advance(seconds=9)).probes == 0
    # Due: probed, still dead, so the next probe waits twice as long.
    assert scheduler.run_once(clock.advance(seconds=1)).probes == 1
    upkeep.wait()
    dead = machine(checked, "eng-1")
    assert (dead.state, dead.probe_failures) == ("unreachable", 2)
    assert dead.probe_after == clock.now + timedelta(seconds=20)

    consoles[0].up()
    assert scheduler.run_once(clock.advance(seconds=19)).probes == 0
    assert scheduler.run_once(clock.advance(seconds=1)).probes == 1
    upkeep.wait()

    back = machine(checked, "eng-1")
    assert (back.state, back.problem, back.probe_after, back.probe_failures) == (
        "ready",
        None,
        None,
        0,
    )
    with checked.session() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "machine.recovered")).one()
    assert event.detail == {"failed_probes": 2}
    assert launch(checked, "bob").json()["connection"]["port"] == consoles[0].port


def test_probes_back_off_to_five_minutes() -> None:
    delays = [lifecycle.probe_delay(n).total_seconds() for n in range(1, 9)]

    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_a_live_session_keeps_its_machine_when_the_console_stops_answering(
    checked: Broker, consoles: list[Console]
) -> None:
    consoles[0].up()
    session_id = launch(checked).json()["session_id"]
    headers = checked.login("alice")
    checked.client.post(f"/api/v1/sessions/{session_id}/heartbeat", headers=headers)
    consoles[0].down()

    reply = launch(checked)

    body = assert_problem(reply, 502, "machine_unreachable")
    assert "Your session is kept" in body["detail"]
    with checked.session() as db:
        session = db.get_one(DesktopSession, session_id)
        assert session.state == "active"
    assert machine(checked, "eng-1").state == "in_use"


def test_a_dedicated_machine_that_died_stays_its_owners(
    make_broker: Callable[..., Broker],
    pools: list[PoolSpec],
    consoles: list[Console],
    clock: FakeClock,
) -> None:
    pools[0].update(kind="dedicated", health_check=True)
    pools[0]["machines"] = [{"name": "eng-1", "host": "127.0.0.1", "port": consoles[0].port}]
    broker = make_broker(pools=pools)
    broker.app.state.clock = clock
    consoles[0].up()
    session_id = launch(broker).json()["session_id"]
    broker.client.post(f"/api/v1/sessions/{session_id}/logoff", headers=broker.login("alice"))
    consoles[0].down()

    reply = launch(broker)

    assert_problem(reply, 502, "machine_unreachable")
    owned = machine(broker, "eng-1")
    assert owned.state == "unreachable"
    assert owned.assigned_user_id == broker.user("alice").id

    consoles[0].up()
    broker.app.state.scheduler.run_once(clock.advance(seconds=10))
    broker.app.state.upkeep.wait()
    assert machine(broker, "eng-1").state == "assigned"
    assert launch(broker).status_code == 200


def test_admins_see_unreachable_machines_and_metrics_count_them(
    checked: Broker, consoles: list[Console]
) -> None:
    consoles[1].up()
    launch(checked)

    listed = checked.client.get(
        "/api/v1/admin/pools/engineering/machines", headers=admin_headers(checked)
    ).json()["machines"]
    metrics = checked.client.get("/metrics").text

    dead = next(m for m in listed if m["name"] == "eng-1")
    assert dead["state"] == "unreachable"
    assert dead["problem"] == f"its console 127.0.0.1:{consoles[0].port} did not answer"
    assert 'rubicon_machines{pool="engineering",state="unreachable"} 1.0' in metrics


def test_without_health_checks_a_dead_console_is_handed_out(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], consoles: list[Console]
) -> None:
    pools[0]["machines"] = [{"name": "eng-1", "host": "127.0.0.1", "port": consoles[0].port}]

    reply = launch(make_broker(pools=pools))

    assert reply.status_code == 200  # health_check = false: the admin knows best


def test_a_console_behind_a_proxy_is_probed_at_the_proxy(
    checked: Broker, consoles: list[Console], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every console is a name only the proxy (consoles[2]) knows, as Proxmox's is.
    proxied = BackendConsole(
        host="pvespiceproxy:6571f1a2:100:pve1::3a9c0d6e2f",
        port=None,
        tls_port=61000,
        proxy=f"http://127.0.0.1:{consoles[2].port}",
    )
    monkeypatch.setattr(StaticBackend, "console", lambda *_: proxied)

    consoles[2].up()
    reply = launch(checked)  # the opaque name resolves nowhere: the probe went to the proxy

    assert reply.status_code == 200, reply.text
    connection = reply.json()["connection"]
    assert (connection["host"], connection["proxy"]) == (proxied.host, proxied.proxy)

    consoles[2].down()
    assert_problem(launch(checked, "bob"), 502, "machine_unreachable")
    assert machine(checked, "eng-2").problem == (
        f"its console 127.0.0.1:{consoles[2].port} did not answer"
    )
