"""A hypervisor pool's upkeep, through the app, on libvirt's test driver.

The pool's machines follow the hypervisor, the first `spares` free ones are
powered on, free ones beyond them are shut down once idle for
`idle_power_off`, and a domain the hypervisor says it defined is in the pool
at the next scheduler run. (Clone pools on a real libvirtd: tests/e2e.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from broker_stub.db.models import AuditEvent, Machine, Pool
from tests.helpers.clock import FakeClock
from tests.helpers.e2e import wait_for

from ..conftest import Broker, PoolSpec

libvirt = pytest.importorskip("libvirt", reason="pip install 'rubicon[libvirt]'")

RUNNING, SHUTOFF = libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_SHUTOFF
TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"


def domain(name: str, state: int) -> str:
    return (
        f"<domain type='test' xmlns:test='{TEST_NS}'><name>{name}</name>"
        "<memory>65536</memory><os><type>hvm</type></os>"
        "<devices><graphics type='vnc' port='5931' autoport='no' listen='127.0.0.1' "
        "passwd='vncpass1'/></devices>"
        f"<test:runstate>{state}</test:runstate></domain>"
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lab(
    make_broker: Callable[..., Broker], pools: list[PoolSpec], tmp_path: Path, clock: FakeClock
) -> Broker:
    """Pool "lab": every domain named d-*, two spares, idle ones off after 10 minutes."""
    node = tmp_path / "node.xml"
    domains = [domain("d-1", SHUTOFF), domain("d-2", SHUTOFF)]
    domains += [domain("d-3", RUNNING), domain("d-4", RUNNING), domain("other", RUNNING)]
    node.write_text(f"<node>{''.join(domains)}</node>")
    lab: PoolSpec = {
        "id": "lab",
        "name": "Lab",
        "protocol": "vnc",
        "users": ["alice"],
        "spares": 2,
        "idle_power_off": "10m",
        "backend": {"type": "libvirt", "uri": f"test://{node}", "name_pattern": "d-*"},
    }
    broker = make_broker(pools=[*pools, lab])
    broker.app.state.clock = clock
    return broker


def tend(broker: Broker, clock: FakeClock, **step: float) -> list[str]:
    clock.advance(**step)
    tended: list[str] = broker.app.state.scheduler.run_once(clock.now).tended
    broker.app.state.upkeep.wait()
    return tended


def power(broker: Broker) -> dict[str, int]:
    conn = broker.app.state.backends.made()["lab"].backend._connection.get()
    return {d.name(): d.state()[0] for d in conn.listAllDomains(0) if d.name() != "other"}


def events(broker: Broker, action: str) -> list[str]:
    with broker.session() as db:
        found = db.scalars(
            select(AuditEvent.target).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(found)


def test_spares_on_and_idle_machines_off(lab: Broker, clock: FakeClock) -> None:
    assert tend(lab, clock, seconds=0) == ["lab"]  # static pools have no upkeep to do

    with lab.session() as db:
        rows = db.scalars(select(Machine).where(Machine.pool_id == "lab").order_by(Machine.name))
        found = [(m.name, m.state, m.origin, m.idle_since is not None) for m in rows]
    assert found == [
        ("d-1", "ready", "discovered", False),
        ("d-2", "ready", "discovered", False),
        ("d-3", "ready", "discovered", True),
        ("d-4", "ready", "discovered", True),
    ]
    assert events(lab, "machine.found") == [f"machine:lab/d-{n}" for n in (1, 2, 3, 4)]
    # The two the next launches take are powered on; the others run, idle.
    assert power(lab) == {"d-1": RUNNING, "d-2": RUNNING, "d-3": RUNNING, "d-4": RUNNING}

    assert tend(lab, clock, minutes=5) == ["lab"]
    assert events(lab, "machine.power_off") == []
    tend(lab, clock, minutes=5, seconds=1)

    assert power(lab) == {"d-1": RUNNING, "d-2": RUNNING, "d-3": SHUTOFF, "d-4": SHUTOFF}
    assert events(lab, "machine.power_off") == ["machine:lab/d-3", "machine:lab/d-4"]
    # The shutdowns' own events make the pool due again; nothing more changes.
    tend(lab, clock, minutes=1)
    assert power(lab) == {"d-1": RUNNING, "d-2": RUNNING, "d-3": SHUTOFF, "d-4": SHUTOFF}
    assert len(events(lab, "machine.power_off")) == 2


def test_a_domain_the_hypervisor_defines_is_in_the_pool_at_the_next_run(
    lab: Broker, clock: FakeClock
) -> None:
    tend(lab, clock, seconds=0)
    conn = lab.app.state.backends.made()["lab"].backend._connection.get()

    conn.defineXML(domain("d-5", SHUTOFF))

    def due() -> bool:
        with lab.session() as db:
            return db.get_one(Pool, "lab").upkeep_at is None

    # libvirt's event made the pool due at once, not at the end of its interval.
    wait_for(due, 10, "the pool's upkeep to be due")
    assert tend(lab, clock, seconds=1) == ["lab"]
    assert events(lab, "machine.found")[-1] == "machine:lab/d-5"
