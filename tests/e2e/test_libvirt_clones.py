"""Clone pools on a real libvirtd: the broker makes, hands out, rebuilds and
deletes QEMU (TCG) guests.

Each test gets, on the session's private libvirtd (tests/helpers/libvirtd.py):
a directory storage pool, a 16 MiB golden qcow2 volume in it, and a template
domain, shut off, with that disk, a NIC and a VNC console on 127.0.0.1. A
broker pool's id begins with the test's guest prefix, so its clones
(`{pool}-{n:03}`) are the test's guests too and the fixture removes them, and
the storage pool with its directory and every overlay in it, even after a
failure.

Brokers are apps from create_app with a clock the test moves and no scheduler
thread: a scheduler run is the test's `run_once`, and `upkeep.wait()` waits
for the work it handed to the node's upkeep threads.

What each test costs here (2 CPUs, 64 MiB guests that never find a boot disk),
set-up and clean-up included: the pool fills and stops at its limit ~3 s,
rebuild ~1.5 s, shrink ~3 s, on demand and storage full ~1 s, two nodes filling
one pool 3-10 s, 50 launches at once across two nodes ~30 s (half of it removing
the 50 guests); the file ~45 s with the libvirtd and PostgreSQL it starts.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from broker_stub.app import create_app
from broker_stub.auth.users import set_user
from broker_stub.config import load_config
from broker_stub.db.models import AuditEvent, DesktopSession, Machine, Pool
from broker_stub.domain import desired
from broker_stub.domain.admin import Admin
from broker_stub.domain.scheduler import Report
from broker_stub.settings import BrokerSettings
from tests.helpers.clock import FakeClock
from tests.helpers.libvirtd import (
    COMMAND_TIMEOUT,
    Guests,
    Libvirtd,
    find_program,
    graphics_ports,
    guest_xml,
    libvirt,
    vnc_password_accepted,
)
from tests.helpers.pools_file import write_pools

pytestmark = pytest.mark.e2e

NAMESPACE = "https://rubicon-vdi.org/xmlns/libvirt/machine/1"  # Rubicon's domain metadata
TEMPLATE_MAC = "52:54:00:aa:00:01"
GOLDEN = "golden.qcow2"
PASSWORD = "pw-Clone-1"
# Longer than the upkeep interval (15 s): every scheduler run finds the pool due.
STEP = timedelta(seconds=16)
HELD = ("assigned", "in_use", "disconnected")


# -- the hypervisor's side ---------------------------------------------------------


@dataclass
class Site:
    """A test's storage pool, golden image and template on the private libvirtd."""

    libvirtd: Libvirtd
    guests: Guests
    storage: str  # the storage pool's name
    directory: Path  # its target directory
    golden: Path
    template: str

    def pool_id(self, suffix: str) -> str:
        return self.guests.name(suffix)

    def conn(self) -> Any:
        return self.libvirtd.connect()

    def domains(self, pool_id: str) -> dict[str, Any]:
        """name → facts of every domain whose Rubicon metadata names `pool_id`."""
        found = {}
        with self.conn() as conn:
            for dom in conn.listAllDomains():
                try:
                    tag = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                        raise
                    continue  # no Rubicon metadata: not one of the broker's
                if ET.fromstring(tag).get("pool") != pool_id:  # noqa: S314 - libvirt's own
                    continue
                found[dom.name()] = domain_facts(dom)
        return found

    def domain(self, name: str) -> dict[str, Any]:
        with self.conn() as conn:
            return domain_facts(conn.lookupByName(name))

    def volumes(self) -> set[str]:
        with self.conn() as conn:
            storage = conn.storagePoolLookupByName(self.storage)
            storage.refresh(0)
            return set(storage.listVolumes())

    def free_bytes(self) -> int:
        with self.conn() as conn:
            return int(conn.storagePoolLookupByName(self.storage).info()[3])


def domain_facts(dom: Any) -> dict[str, Any]:
    root = ET.fromstring(dom.XMLDesc(0))  # noqa: S314 - libvirt's own output
    disk = root.find("devices/disk/source")
    mac = root.find("devices/interface/mac")
    return {
        "uuid": dom.UUIDString(),
        "mac": None if mac is None else mac.get("address"),
        "disk": None if disk is None else disk.get("file"),
        "running": dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING,
        "ports": graphics_ports(dom.XMLDesc(0)),
    }


def qemu_img_info(path: Path | str) -> dict[str, Any]:
    # -U: the image is open in a running QEMU, which holds its lock.
    out = subprocess.run(
        [find_program("qemu-img") or "qemu-img", "info", "-U", "--output=json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
    ).stdout
    info: dict[str, Any] = json.loads(out)
    return info


def holds_marker(path: Path | str) -> bool:
    """Whether the image's first 64 KiB are all 0xcd (the marker a test wrote)."""
    result = subprocess.run(
        [
            find_program("qemu-io") or "qemu-io",
            "-r",
            "-U",
            "-f",
            "qcow2",
            "-c",
            "read -P 0xcd 0 64k",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr
    if "Pattern verification failed" in output:
        return False
    assert result.returncode == 0, output
    return True


@pytest.fixture
def site(libvirtd: Libvirtd, libvirt_guests: Guests) -> Site:
    """A storage pool with a golden image and a template domain, removed after the test."""
    directory = libvirtd.images / libvirt_guests.name("storage")
    directory.mkdir()
    storage = libvirt_guests.name("storage")  # the fixture removes pools with its prefix
    template = libvirt_guests.name("template")
    with libvirtd.connect() as conn:
        pool = conn.storagePoolDefineXML(
            f"<pool type='dir'><name>{storage}</name>"
            f"<target><path>{directory}</path></target></pool>"
        )
        pool.create(0)
        golden = pool.createXML(
            f"<volume><name>{GOLDEN}</name><capacity unit='MiB'>16</capacity>"
            "<target><format type='qcow2'/></target></volume>",
            0,
        )
        golden_path = Path(golden.path())
        xml = guest_xml(template, golden_path)
        # A NIC of user-mode networking (inside QEMU; nothing reaches the host's
        # network) with no boot ROM, so that clones get MAC addresses of their own.
        nic = (
            f"    <interface type='user'><mac address='{TEMPLATE_MAC}'/>"
            "<model type='virtio'/><rom enabled='no'/></interface>\n"
        )
        conn.defineXML(xml.replace("  </devices>", nic + "  </devices>"))
    return Site(libvirtd, libvirt_guests, storage, directory, golden_path, template)


def clone_pool(
    site: Site,
    suffix: str = "p",
    *,
    spares: int,
    most: int,
    recycle: str = "none",
    min_free: int | str = "1MiB",
) -> dict[str, Any]:
    """A clone pool's entry in the pools file."""
    return {
        "id": site.pool_id(suffix),
        "name": f"Clones {suffix}",
        "protocol": "vnc",
        "groups": ["staff"],
        "spares": spares,
        "recycle": recycle,
        "backend": {
            "type": "libvirt",
            "uri": site.libvirtd.uri,
            "clones": {
                "template": site.template,
                "image": GOLDEN,
                "storage_pool": site.storage,
                "max": most,
                # The default (1 GiB) would need that much room on the test machine.
                "min_free": min_free,
            },
        },
    }


# -- the broker's side -----------------------------------------------------------------


@dataclass
class Node:
    """One broker node: an app, a client on it, and the clock it goes by."""

    app: FastAPI
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)

    def session(self) -> Session:
        db: Session = self.app.state.session_factory()
        return db

    def tend(self, now: Any = None) -> Report:
        """One scheduler run (the pool's upkeep is due), and the upkeep's work done."""
        report: Report = self.app.state.scheduler.run_once(now or self.clock.advance(STEP))
        self.app.state.upkeep.wait(timeout=120)
        return report

    def login(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            reply = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            self.tokens[username] = reply.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def launch(self, username: str, pool_id: str, key: str | None = None) -> Response:
        headers = {**self.login(username), "Idempotency-Key": key or str(uuid.uuid4())}
        return self.client.post(f"/api/v1/desktops/{pool_id}/launch", headers=headers)

    def launched(self, username: str, pool_id: str) -> dict[str, Any]:
        """A launch that succeeds: retried with its key while the machine starts."""
        key = str(uuid.uuid4())
        for _ in range(50):
            reply = self.launch(username, pool_id, key)
            if reply.status_code != 202:
                assert reply.status_code == 200, reply.text
                body: dict[str, Any] = reply.json()
                return body
            time.sleep(0.2)  # Retry-After says 2 s; QEMU is quicker than that here
        pytest.fail(f"{username}'s launch in {pool_id} kept answering 202")

    def machines(self, pool_id: str) -> dict[str, Machine]:
        with self.session() as db:
            rows = db.scalars(select(Machine).where(Machine.pool_id == pool_id)).all()
            db.expunge_all()
        return {m.name: m for m in rows}

    def events(self, action: str) -> list[str]:
        """The targets of the audit events `action`, oldest first."""
        with self.session() as db:
            return list(
                db.scalars(
                    select(AuditEvent.target)
                    .where(AuditEvent.action == action)
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """make_node(pools, users, database_url=...): a broker node; more on the same database
    make a multi-node site. Users (group staff) are added by the first node."""
    with ExitStack() as stack:
        made: list[Node] = []

        def make(
            pools: list[dict[str, Any]],
            users: Sequence[str] = (),
            *,
            database_url: str | None = None,
        ) -> Node:
            settings = BrokerSettings(
                database_url=database_url or f"sqlite:///{tmp_path / 'broker.sqlite3'}",
                config=write_pools(tmp_path / "pools.toml", pools),
                scheduler=False,  # the test runs the scheduler, at the times it picks
            )
            clock = FakeClock()
            app = create_app(settings, clock=clock)
            if not made:
                with app.state.session_factory() as db:
                    for name in users:
                        set_user(db, name, PASSWORD, groups=["staff"])
            node = Node(app, stack.enter_context(TestClient(app)), clock)
            made.append(node)
            return node

        yield make


def apply_pools(node: Node, path: Path, pools: list[dict[str, Any]]) -> None:
    """`rubicon-broker apply` of a changed pools file, as an admin would run it."""
    plan = desired.apply(
        node.app.state.engine, Admin.cli("tests"), load_config(write_pools(path, pools))
    )
    assert plan.changes, "the file changed nothing"


def free(machines: dict[str, Machine]) -> list[str]:
    return sorted(
        n for n, m in machines.items() if m.state == "ready" and m.assigned_user_id is None
    )


def console_works(site: Site, name: str, connection: dict[str, Any]) -> None:
    """The connection the broker gave is the VNC console of `name`, and its password opens it."""
    assert (connection["host"], connection["port"]) == (
        "127.0.0.1",
        site.domain(name)["ports"]["vnc"],
    )
    assert vnc_password_accepted(connection["port"], connection["password"])


# -- tests ---------------------------------------------------------------------------------


def test_the_upkeep_fills_the_pool_and_stops_at_its_limit(
    site: Site, make_node: Callable[..., Node]
) -> None:
    pool = site.pool_id("p")
    users = [f"u{i}" for i in range(1, 7)]
    node = make_node([clone_pool(site, spares=3, most=5)], users)
    template = site.domain(site.template)

    report = node.tend()

    assert report.tended == [pool]
    names = [f"{pool}-00{n}" for n in (1, 2, 3)]
    rows = node.machines(pool)
    assert sorted(rows) == names
    assert {(m.state, m.origin, m.assigned_user_id) for m in rows.values()} == {
        ("ready", "provisioned", None)
    }
    domains = site.domains(pool)
    assert sorted(domains) == names  # tagged for the pool; nothing more
    uuids = {d["uuid"] for d in domains.values()}
    macs = {d["mac"] for d in domains.values()}
    assert len(uuids) == 3  # each its own, and none the template's
    assert template["uuid"] not in uuids
    assert len(macs) == 3
    assert TEMPLATE_MAC not in macs
    assert None not in macs
    for name, facts in domains.items():
        assert facts["disk"] == str(site.directory / f"{name}.qcow2")
        info = qemu_img_info(facts["disk"])
        assert (info["format"], info["backing-filename"]) == ("qcow2", str(site.golden))
        assert facts["running"], f"{name} is a spare and should run"
    assert node.events("machine.provisioned") == [f"machine:{pool}/{n}" for n in names]
    assert not site.domain(site.template)["running"]

    # A launch takes the first; the next upkeep makes another, so three stay free.
    got = node.launched("u1", pool)
    console_works(site, f"{pool}-001", got["connection"])
    node.tend()
    rows = node.machines(pool)
    assert free(rows) == [f"{pool}-002", f"{pool}-003", f"{pool}-004"]
    assert site.domains(pool)[f"{pool}-004"]["running"]

    for user in ("u2", "u3"):
        node.launched(user, pool)
    node.tend()  # two short of three free, but only one below the limit of 5
    rows = node.machines(pool)
    assert sorted(rows) == [f"{pool}-00{n}" for n in range(1, 6)]
    assert free(rows) == [f"{pool}-004", f"{pool}-005"]

    for user in ("u4", "u5"):
        node.launched(user, pool)
    reply = node.launch("u6", pool)
    assert reply.status_code == 409, reply.text
    assert reply.json()["code"] == "pool_full"
    node.tend()
    node.tend()
    assert len(node.machines(pool)) == 5
    assert len(site.domains(pool)) == 5
    assert len(node.events("machine.provisioned")) == 5
    assert site.volumes() == {GOLDEN, *(f"{pool}-00{n}.qcow2" for n in range(1, 6))}


def test_rebuild_makes_a_machine_afresh_after_a_logoff(
    site: Site, make_node: Callable[..., Node]
) -> None:
    pool = site.pool_id("p")
    name = f"{pool}-001"
    node = make_node([clone_pool(site, spares=1, most=2, recycle="rebuild")], ["u1"])
    node.tend()
    got = node.launched("u1", pool)
    console_works(site, name, got["connection"])
    before = site.domain(name)
    overlay = before["disk"]
    # What the user left on the disk: through QEMU's own block layer, as a guest write.
    for command in ("write -P 0xcd 0 64k", "flush"):  # flushed: qcow2's tables reach the file
        said = site.libvirtd.virsh(
            "qemu-monitor-command",
            "--hmp",
            name,
            f'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "{command}"',
        ).stdout
        assert "rror" not in said, said
    assert holds_marker(overlay)

    reply = node.client.post(
        f"/api/v1/sessions/{got['session_id']}/logoff", headers=node.login("u1")
    )
    assert reply.status_code == 204, reply.text
    node.app.state.upkeep.wait(timeout=120)

    after = site.domain(name)
    assert after["uuid"] != before["uuid"]
    assert after["disk"] == overlay
    assert not holds_marker(overlay)
    assert qemu_img_info(overlay)["backing-filename"] == str(site.golden)
    assert not after["running"]  # made powered off; the upkeep starts it as the spare
    assert node.machines(pool)[name].state == "ready"
    node.tend()
    assert sorted(node.machines(pool)) == [name]  # one spare free: nothing more to make
    assert site.domain(name)["running"]
    got = node.launched("u1", pool)
    console_works(site, name, got["connection"])


def test_a_lower_limit_deletes_free_clones_highest_first(
    site: Site, make_node: Callable[..., Node], tmp_path: Path
) -> None:
    pool = site.pool_id("p")
    names = [f"{pool}-00{n}" for n in range(1, 6)]
    node = make_node([clone_pool(site, spares=3, most=5)], ["u1", "u2"])
    node.tend()
    for user in ("u1", "u2"):
        node.launched(user, pool)  # 001 and 002 are in use from now on
    node.tend()
    assert sorted(node.machines(pool)) == names
    volumes = {GOLDEN, *(f"{n}.qcow2" for n in names)}
    assert site.volumes() == volumes

    apply_pools(node, tmp_path / "lower.toml", [clone_pool(site, spares=3, most=4)])
    node.tend()

    assert sorted(node.machines(pool)) == names[:4]
    assert sorted(site.domains(pool)) == names[:4]
    assert site.volumes() == volumes - {f"{names[4]}.qcow2"}
    assert node.events("machine.destroyed") == [f"machine:{pool}/{names[4]}"]

    # Below what is in use: every free one goes, the two in use stay.
    apply_pools(node, tmp_path / "lowest.toml", [clone_pool(site, spares=3, most=1)])
    node.tend()

    rows = node.machines(pool)
    assert sorted(rows) == names[:2]
    assert {m.state for m in rows.values()} == {"assigned"}
    assert sorted(site.domains(pool)) == names[:2]
    assert all(d["running"] for d in site.domains(pool).values())
    assert site.volumes() == {GOLDEN, f"{names[0]}.qcow2", f"{names[1]}.qcow2"}
    assert node.events("machine.destroyed") == [f"machine:{pool}/{n}" for n in reversed(names[2:])]
    assert not site.domain(site.template)["running"]  # the template is never touched
    with node.session() as db:
        live = db.scalars(select(DesktopSession.state).where(DesktopSession.pool_id == pool))
        assert sorted(live) == ["pending", "pending"]
    node.tend()
    assert sorted(node.machines(pool)) == names[:2]  # at its limit: nothing is made


def test_a_launch_makes_a_clone_when_none_is_free(
    site: Site, make_node: Callable[..., Node]
) -> None:
    pool, full = site.pool_id("p"), site.pool_id("full")
    # More room wanted than the storage pool has: no clone can be made there.
    want = site.free_bytes() + (1 << 40)
    node = make_node(
        [
            clone_pool(site, spares=0, most=2),
            clone_pool(site, "full", spares=0, most=2, min_free=want),
        ],
        ["u1"],
    )
    node.tend()
    assert node.machines(pool) == {}  # no spares wanted: the upkeep makes none

    key = str(uuid.uuid4())
    first = node.launch("u1", pool, key)

    assert first.status_code == 202, first.text
    assert first.headers["Retry-After"] == str(first.json()["retry_after"])
    name = f"{pool}-001"
    (row,) = node.machines(pool).values()
    assert (row.name, row.state, row.origin) == (name, "assigned", "provisioned")
    with node.session() as db:
        session = db.get_one(DesktopSession, first.json()["session_id"])
        assert (session.machine_id, session.user_id) == (row.id, row.assigned_user_id)
    assert node.events("machine.provisioned") == [f"machine:{pool}/{name}"]
    assert qemu_img_info(site.domain(name)["disk"])["backing-filename"] == str(site.golden)

    then = node.launch("u1", pool, key)  # the same launch, asked again

    assert then.status_code == 200, then.text
    assert then.json()["session_id"] == first.json()["session_id"]
    console_works(site, name, then.json()["connection"])

    reply = node.launch("u1", full)

    assert reply.status_code == 507, reply.text
    assert reply.json()["code"] == "storage_full"
    assert node.machines(full) == {}
    assert site.domains(full) == {}
    assert site.volumes() == {GOLDEN, f"{name}.qcow2"}
    with node.session() as db:
        sessions = db.scalars(select(DesktopSession).where(DesktopSession.pool_id == full)).all()
        assert sessions == []


# -- two nodes on one PostgreSQL -----------------------------------------------------------

ROUNDS = 4
JOIN_TIMEOUT = 300.0


def together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads released at one moment; their results (or exceptions)."""
    start = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        start.wait(timeout=JOIN_TIMEOUT)
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # reported with the others
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    failures = [repr(r) for r in results if isinstance(r, Exception)]
    assert not failures, failures
    return results


def check_site(site: Site, node: Node, pool_id: str, most: int) -> dict[str, Machine]:
    """The pool's rows and its domains agree, each domain has a disk of its own, and
    there are no more than `most`; no machine is in error."""
    rows = node.machines(pool_id)
    domains = site.domains(pool_id)
    assert sorted(rows) == sorted(domains)
    assert len(rows) <= most
    assert len({d["uuid"] for d in domains.values()}) == len(domains)
    assert sorted(d["disk"] for d in domains.values()) == sorted(
        str(site.directory / f"{n}.qcow2") for n in domains
    )
    assert site.volumes() == {GOLDEN, *(f"{n}.qcow2" for n in rows)}
    problems = {n: (m.state, m.problem) for n, m in rows.items() if m.state not in ("ready", *HELD)}
    assert problems == {}
    return rows


def test_two_nodes_fill_one_clone_pool_together(
    postgres_url: str, site: Site, make_node: Callable[..., Node]
) -> None:
    pool, spares, most = site.pool_id("p"), 2, 12
    pools = [clone_pool(site, spares=spares, most=most)]
    users = [f"u{i}" for i in range(1, 7)]
    nodes = [make_node(pools, users, database_url=postgres_url) for _ in range(2)]

    for round_ in range(ROUNDS):
        now = max([node.clock.advance(STEP) for node in nodes])  # the same on both
        jobs: list[Callable[[], Any]] = [partial(node.tend, now) for node in nodes]
        # Each node's upkeep at once, as after a hypervisor's events made the pool due
        # on both (the scheduler's lease lets only one of two runs take it).
        jobs += [partial(node.app.state.upkeep.tend, pool) for node in nodes]
        # And users launching on both nodes meanwhile: a free clone, or one made for them.
        launching = users[round_ * 2 : round_ * 2 + 2] if round_ < 3 else []
        jobs += [
            partial(node.launched, user, pool) for user, node in zip(launching, nodes, strict=False)
        ]
        together(jobs)
        for node in nodes:
            node.app.state.upkeep.wait(timeout=120)
        check_site(site, nodes[0], pool, most)

    for node in nodes:  # quiet now: one more upkeep each, one after the other
        node.tend()
    rows = check_site(site, nodes[0], pool, most)
    held = [n for n, m in rows.items() if m.state in HELD]
    assert len(held) == len(users)
    assert len(free(rows)) == spares  # not more: two fills at once did not both make them
    assert all(d["running"] for d in site.domains(pool).values())
    # Each made once: none deleted as "vanished" and made again under its name.
    provisioned = nodes[0].events("machine.provisioned")
    assert len(provisioned) == len(set(provisioned)) == len(rows)
    assert nodes[0].events("machine.vanished") == []


def test_fifty_launches_at_once_across_two_nodes_make_fifty_clones(
    postgres_url: str, site: Site, make_node: Callable[..., Node]
) -> None:
    pool, count = site.pool_id("p"), 50
    pools = [clone_pool(site, spares=0, most=count)]
    users = [f"u{i:02}" for i in range(count)]
    nodes = [make_node(pools, users, database_url=postgres_url) for _ in range(2)]
    for i, user in enumerate(users):
        nodes[i % 2].login(user)
    busy: list[str] = []

    def launch(i: int) -> tuple[str, dict[str, Any]]:
        node, user, key = nodes[i % 2], users[i], str(uuid.uuid4())
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            reply = node.launch(user, pool, key)
            if reply.status_code == 200:
                return user, reply.json()
            # 202: the clone starts. 503: more calls to libvirt under way on this node
            # than its pool's threads take (4 running + 8 waiting); the launcher waits
            # Retry-After (30 s), this test half a second.
            assert reply.status_code in (202, 503), reply.text
            if reply.status_code == 503:
                busy.append(reply.json()["code"])
            time.sleep(0.5)
        raise AssertionError(f"{user}: no desktop within 240 s")

    answers = dict(together([partial(launch, i) for i in range(count)]))

    assert set(busy) <= {"hypervisor_unavailable"}
    sessions = {body["session_id"] for body in answers.values()}
    consoles = {(b["connection"]["host"], b["connection"]["port"]) for b in answers.values()}
    assert len(sessions) == len(consoles) == count
    rows = check_site(site, nodes[0], pool, count)
    assert sorted(rows) == [f"{pool}-{n:03}" for n in range(1, count + 1)]
    by_id = {m.id: m for m in rows.values()}
    by_port = {d["ports"]["vnc"]: n for n, d in site.domains(pool).items()}
    with nodes[0].session() as db:
        for user, body in answers.items():
            session = db.get_one(DesktopSession, body["session_id"])
            machine = by_id[session.machine_id]
            assert (machine.state, machine.assigned_user_id) == ("assigned", session.user_id)
            assert by_port[body["connection"]["port"]] == machine.name, user
            assert vnc_password_accepted(body["connection"]["port"], body["connection"]["password"])
        assert db.scalars(select(Pool.degraded_since)).all() == [None]  # busy is not broken
    provisioned = nodes[0].events("machine.provisioned")
    assert sorted(provisioned) == sorted(f"machine:{pool}/{n}" for n in rows)
