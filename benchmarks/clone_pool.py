"""Clone pools on a real libvirtd: the broker against `virsh` alone.

    python benchmarks/clone_pool.py                 # 10 launches, 3 fills of 20 clones, 50 users
    python benchmarks/clone_pool.py --users 20 --crowd on-demand
    python benchmarks/clone_pool.py --smoke         # seconds; what the test suite runs

Root only, on a machine with libvirtd, QEMU and libvirt-python (the script
exits with status 77 and says what is missing otherwise). It starts a private
libvirtd with QEMU in TCG mode (tests/helpers/libvirtd.py's `Libvirtd`: this
benchmark imports the test helpers for it, which needs pytest installed, as
the dev extra has it), makes a directory storage pool with a 16 MiB golden
qcow2 image and a template domain (64 MiB, one vCPU, a user-mode NIC, a VNC
console on 127.0.0.1 with a password), and measures three things, each broker
figure next to the same operation done with `virsh` alone, its limit, and
their ratio:

1. **Launch of a stopped machine to console ready.** Broker: POST launch
   (202: the domain is starting), the same request with the same
   Idempotency-Key every `--poll` seconds until 200, then the console accepts
   the one-time password from the answer. virsh: `virsh start`, `virsh
   vncdisplay`, then the console accepts the domain's own password (tried
   every `--poll` seconds). `--reps` of each, interleaved A/B (ABBA...), after
   one untimed warm-up of each; median and p90. The broker's machines are a
   `domains = [...]` pool of stopped clones made beforehand.
2. **Clones made per minute.** Broker: its upkeep filling a clone pool of
   `--clones` spares from empty, in this process (`create_app` with its
   scheduler off, one `run_once`), timed from the scheduler run until the
   pool has that many ready rows (each a defined domain, counted on libvirt
   then). It goes on to power the spares on, untimed. virsh: the same number
   of `virsh vol-create-as POOL NAME 16M --format qcow2 --backing-vol
   golden.qcow2 --backing-vol-format qcow2` and `virsh define` of the
   template's XML edited in Python (name, no UUID, no MAC, the new disk),
   one after the other as the upkeep makes them. And, as a floor, the same
   volume and domain through libvirt-python on one open connection (what
   virsh costs beyond it is a process and a connection per command).
   `--fill-rounds` of each, interleaved (each round starts with the next).
3. **`--users` users launching at once** into a clone pool of as many
   machines, against `rubicon-broker serve` on loopback. *on demand*:
   `spares = 0`, so each launch makes its clone (overlay and domain), starts
   it and hands out its console; *spares*: `spares = max = users`, all made
   and powered on by the upkeep first (how long that took is printed), so a
   launch claims a running clone and sets its console password. One thread
   and one HTTP connection per user, released together; each launches with
   its own Idempotency-Key and asks again every `--poll` seconds after a 202
   or a 503, until 200, then checks the one-time password on the console.
   Per-user time to the 200, p50 and p99. Duplicates (must be 0) are counted
   from the answers, the database and libvirt: machines answered to two
   users, machines under two live sessions, sessions sharing a machine,
   domains sharing a console port. The limit is the same with virsh alone,
   one thread per user, all at once: *on demand* `vol-create-as`, `define`,
   `start`, `vncdisplay` and the console; *spares* (running clones made
   beforehand) `dumpxml`, `update-device --live` with a new password, and
   the console with it. The floor: the same through libvirt-python, one
   connection shared by the threads as the broker shares one. On demand the
   broker goes first, with spares last.

Clients ask again every `--poll` seconds (0.2) to show what the broker itself
takes; `--retry-after` makes them wait what each 202 or 503 says instead, as
the launcher does (2 s while a machine starts, 30 s for a 503).

The machine's load average is printed at the start of each figure and at the
end, and for each figure how busy the machine was and how much of that was other
programs (from /proc: the broker, libvirtd with its QEMUs, and this process
with its virsh children are ours). Every process started is stopped by its
PID (brokers SIGTERM then SIGKILL, libvirtd and QEMU by `Libvirtd.stop()`),
every virsh call has a timeout, and all traffic stays on loopback.
Speed is never asserted; the exit status is 1 if a launch failed, a console
refused its password or a duplicate was found.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from tests.helpers import libvirtd as lv  # noqa: E402
from tests.helpers.pools_file import write_pools  # noqa: E402

SKIPPED = 77  # the exit status when this machine cannot run a private libvirtd
PASSWORD = "clone-bench-pw"  # noqa: S105 - every seeded user's
GROUP = "clone-users"
STORAGE = "rubicon-bench"
GOLDEN = "golden.qcow2"
GOLDEN_MIB = 16
TEMPLATE = "bench-template"
MEMORY_MIB = 64
TEMPLATE_MAC = "52:54:00:bb:00:01"
REQUEST_TIMEOUT = 120.0
USER_DEADLINE = 300.0  # per user in a figure, all answers included
ROWS_TIMEOUT = 600.0  # for the broker to find or make a pool's machines
# Below uvicorn's keep-alive (5 s), as in storm.py.
KEEPALIVE_EXPIRY = 2.0
UNDEFINE = (
    "VIR_DOMAIN_UNDEFINE_MANAGED_SAVE",
    "VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA",
    "VIR_DOMAIN_UNDEFINE_NVRAM",
)


def missing() -> str | None:
    """Why a private libvirtd cannot run here, or None (what the test fixtures check)."""
    absent = [name for name in lv.PACKAGES if lv.find_program(name) is None]
    if absent:
        packages = " ".join(dict.fromkeys(lv.PACKAGES[name] for name in absent))
        return f"{', '.join(absent)} not installed: apt-get install {packages}"
    if lv.libvirt is None:
        return "libvirt-python is not installed: pip install 'rubicon[libvirt]'"
    if os.geteuid() != 0:
        return "a private libvirtd needs root (a mount namespace, QEMU as root)"
    return None


# -- statistics ------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (as common.percentiles): of 10 values p90 is the 10th."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


# -- the hypervisor --------------------------------------------------------------


@dataclass
class Site:
    """The private libvirtd, its storage pool with the golden image, and the template."""

    daemon: lv.Libvirtd
    directory: Path  # the storage pool's directory
    golden: Path
    template_xml: str  # inactive, with its console password
    xml_dir: Path  # where the virsh runs write the XML they define

    def virsh(self, *args: str) -> str:
        return self.daemon.virsh(*args, timeout=lv.COMMAND_TIMEOUT).stdout

    def volume(self, name: str) -> Path:
        return self.directory / f"{name}.qcow2"

    def cpu(self) -> float:
        """CPU seconds of libvirtd and every QEMU it started (children of its reaper)."""
        return common.cpu_seconds(parent_pid(self.daemon.libvirtd_pid))


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@contextmanager
def hypervisor(workdir: Path) -> Iterator[Site]:
    """A private libvirtd with the storage pool, golden image and template; all gone after."""
    daemon = lv.Libvirtd()
    daemon.start()
    try:
        directory = daemon.images / "pool"
        directory.mkdir()
        with daemon.connect() as conn:
            storage = conn.storagePoolDefineXML(
                f"<pool type='dir'><name>{STORAGE}</name>"
                f"<target><path>{directory}</path></target></pool>"
            )
            storage.create(0)
            golden = storage.createXML(
                f"<volume><name>{GOLDEN}</name><capacity unit='MiB'>{GOLDEN_MIB}</capacity>"
                "<target><format type='qcow2'/></target></volume>",
                0,
            )
            xml = lv.guest_xml(TEMPLATE, Path(golden.path()), memory_mib=MEMORY_MIB)
            # User-mode networking (inside QEMU, nothing reaches the host's network), no
            # boot ROM: clones get MAC addresses of their own, as real desktops need.
            nic = (
                f"    <interface type='user'><mac address='{TEMPLATE_MAC}'/>"
                "<model type='virtio'/><rom enabled='no'/></interface>\n"
            )
            template = conn.defineXML(xml.replace("  </devices>", nic + "  </devices>"))
            flags = lv.libvirt.VIR_DOMAIN_XML_INACTIVE | lv.libvirt.VIR_DOMAIN_XML_SECURE
            template_xml = template.XMLDesc(flags)
        xml_dir = workdir / "xml"
        xml_dir.mkdir(exist_ok=True)
        yield Site(daemon, directory, Path(golden.path()), template_xml, xml_dir)
    finally:
        daemon.stop()  # destroys the guests, stops the daemons, deletes the files


def clone_xml(template_xml: str, name: str, disk: Path) -> str:
    """The template's XML for a clone: its own name and disk, libvirt makes UUID and MAC."""
    root = ET.fromstring(template_xml)  # noqa: S314 - libvirt's own output
    name_node = root.find("name")
    assert name_node is not None
    name_node.text = name
    for node in root.findall("uuid"):
        root.remove(node)
    for interface in root.findall("devices/interface"):
        for mac in interface.findall("mac"):
            interface.remove(mac)
    source = root.find("devices/disk/source")
    assert source is not None
    source.set("file", str(disk))
    return ET.tostring(root, encoding="unicode")


def virsh_clone(site: Site, name: str) -> None:
    """A clone with virsh alone: the overlay volume, then the domain."""
    site.virsh(
        "vol-create-as",
        STORAGE,
        f"{name}.qcow2",
        f"{GOLDEN_MIB}M",
        "--format",
        "qcow2",
        "--backing-vol",
        GOLDEN,
        "--backing-vol-format",
        "qcow2",
    )
    path = site.xml_dir / f"{name}.xml"
    path.write_text(clone_xml(site.template_xml, name, site.volume(name)))
    site.virsh("define", str(path))


def overlay_xml(site: Site, name: str) -> str:
    return (
        f"<volume><name>{name}.qcow2</name>"
        f"<capacity unit='MiB'>{GOLDEN_MIB}</capacity>"
        "<target><format type='qcow2'/></target>"
        f"<backingStore><path>{site.golden}</path><format type='qcow2'/></backingStore>"
        "</volume>"
    )


def api_clone(conn: Any, storage: Any, site: Site, name: str) -> Any:
    """A clone through libvirt-python on an open connection: the overlay, then the domain."""
    storage.createXML(overlay_xml(site, name), 0)
    return conn.defineXML(clone_xml(site.template_xml, name, site.volume(name)))


def api_clones(site: Site, names: Sequence[str], *, start: bool = False) -> None:
    """Clones made beforehand (untimed), through the API: quicker than virsh."""
    with site.daemon.connect() as conn:
        storage = conn.storagePoolLookupByName(STORAGE)
        for name in names:
            domain = api_clone(conn, storage, site, name)
            if start:
                domain.create()


def vnc_port(site: Site, name: str) -> int:
    display = site.virsh("vncdisplay", name).strip()  # 127.0.0.1:10000
    return 5900 + int(display.rsplit(":", 1)[1])


def console_ready(port: int, password: str, deadline: float, poll: float) -> bool:
    """Wait until the VNC console lets `password` in; False if it refused it or time ran out."""
    while True:
        try:
            return lv.vnc_password_accepted(port, password)
        except (OSError, AssertionError):  # not listening yet, or hung up early
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


@dataclass(frozen=True)
class Domain:
    uuid: str
    running: bool
    port: int | None


def domains(site: Site, prefix: str) -> dict[str, Domain]:
    """The domains whose names start with `prefix`: UUID, running, VNC port."""
    found = {}
    with site.daemon.connect() as conn:
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(prefix):
                running = dom.isActive() == 1
                port = lv.graphics_ports(dom.XMLDesc(0)).get("vnc") if running else None
                found[dom.name()] = Domain(dom.UUIDString(), running, port)
    return found


def power_off(site: Site, prefix: str) -> None:
    with site.daemon.connect() as conn:
        for dom in conn.listAllDomains(lv.libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            if dom.name().startswith(prefix):
                lv.destroy(dom)


def remove(site: Site, prefix: str) -> None:
    """Destroy and undefine the domains starting with `prefix`; delete their volumes."""
    flags = 0
    for name in UNDEFINE:
        flags |= getattr(lv.libvirt, name)
    with site.daemon.connect() as conn:
        for dom in conn.listAllDomains(0):
            if dom.name().startswith(prefix):
                lv.destroy(dom)
                dom.undefineFlags(flags)
        storage = conn.storagePoolLookupByName(STORAGE)
        storage.refresh(0)
        for volume in storage.listAllVolumes(0):
            if volume.name().startswith(prefix):
                volume.delete(0)
    for path in site.xml_dir.glob(f"{prefix}*.xml"):
        path.unlink()


# -- CPU: ours and the others' -------------------------------------------------------


@dataclass
class Usage:
    """Seconds of wall time and CPU over the measured stretches of one path."""

    wall: float = 0.0
    machine: float = 0.0
    broker: float = 0.0
    libvirt: float = 0.0
    client: float = 0.0

    def add(self, other: Usage) -> None:
        self.wall += other.wall
        self.machine += other.machine
        self.broker += other.broker
        self.libvirt += other.libvirt
        self.client += other.client

    def line(self, name: str) -> str:
        if not self.wall:
            return f"cpu       {name}: (not measured)"
        ours = self.broker + self.libvirt + self.client
        others = max(0.0, self.machine - ours) / self.wall
        broker = f"broker {self.broker:.1f} s, " if self.broker else ""
        return (
            f"cpu       {name}: {broker}libvirtd+QEMU {self.libvirt:.1f} s, "
            f"this process+virsh {self.client:.1f} s over {self.wall:.1f} s; "
            f"machine busy {self.machine / self.wall:.2f} of {os.cpu_count()} cores, "
            f"others' share {others:.2f}"
        )


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def metered(usage: Usage, site: Site, broker_pid: int | None = None) -> Iterator[None]:
    """Add what the block cost (wall, machine, ours) to `usage`."""
    wall, machine, libvirt, client = (
        time.perf_counter(),
        common.machine_busy(),
        site.cpu(),
        own_cpu(),
    )
    broker = common.cpu_seconds(broker_pid) if broker_pid else 0.0
    try:
        yield
    finally:
        usage.add(
            Usage(
                wall=time.perf_counter() - wall,
                machine=common.machine_busy() - machine,
                broker=common.cpu_seconds(broker_pid) - broker if broker_pid else 0.0,
                libvirt=site.cpu() - libvirt,
                client=own_cpu() - client,
            )
        )


# -- the broker ----------------------------------------------------------------------


def libvirt_pool(
    site: Site, pool_id: str, *, spares: int = 0, backend: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": pool_id,
        "name": f"Bench {pool_id}",
        "protocol": "vnc",
        "groups": [GROUP],
        "spares": spares,
        # Nobody starts a client: sessions stay pending through the run.
        "prelaunch_timeout": "1h",
        "backend": {"type": "libvirt", "uri": site.daemon.uri, **backend},
    }


def clone_pool(site: Site, pool_id: str, *, spares: int, most: int) -> dict[str, Any]:
    clones = {
        "template": TEMPLATE,
        "image": GOLDEN,
        "storage_pool": STORAGE,
        "max": most,
        "min_free": "64MiB",  # the default 1 GiB would ask that much of /tmp
    }
    return libvirt_pool(site, pool_id, spares=spares, backend={"clones": clones})


def username(n: int) -> str:
    return f"u{n:06d}"


@dataclass(frozen=True)
class Broker:
    url: str
    pid: int
    database_url: str
    started: float  # perf_counter() just before the process started
    healthy: float  # seconds from then until it answered /healthz


@contextmanager
def broker(
    workdir: Path, name: str, pools: list[dict[str, Any]], *, users: int, workers: int
) -> Iterator[Broker]:
    """`rubicon-broker serve` on loopback, plain HTTP, a SQLite file; `users` seeded."""
    config = write_pools(workdir / f"{name}.toml", pools)
    sqlite = workdir / f"{name}.sqlite3"
    for old in (sqlite, *(sqlite.with_name(sqlite.name + x) for x in ("-wal", "-shm"))):
        old.unlink(missing_ok=True)  # from an earlier run in the same --workdir
    database_url = f"sqlite:///{sqlite}"
    common.seed(database_url, config, users=users, password=PASSWORD, group=GROUP)
    port = common.free_tcp_port()
    argv = [sys.executable, "-m", "broker_stub.cli", "serve", "--config", str(config)]
    argv += ["--database-url", database_url, "--port", str(port), "--log-level", "warning"]
    argv += ["--workers", str(workers), "--insecure-http"]
    log = workdir / f"{name}.log"
    started = time.perf_counter()
    with common.process(argv, log, timeout=30) as proc:
        url = f"http://127.0.0.1:{port}"
        common.wait_healthy(url, proc, verify=False, log=log, timeout=120)
        yield Broker(url, proc.pid, database_url, started, time.perf_counter() - started)


def client(url: str) -> httpx.Client:
    """One launcher's worth: one keep-alive connection."""
    limits = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    return httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits)


def sign_in(url: str, count: int) -> list[str]:
    tokens = []
    with client(url) as http:
        for n in range(count):
            body = {"username": username(n), "password": PASSWORD}
            reply = http.post("/api/v1/auth/login", json=body)
            reply.raise_for_status()
            tokens.append(str(reply.json()["token"]))
    return tokens


def pool_rows(database_url: str, pool_id: str) -> list[tuple[str, str, int | None]]:
    """(name, state, assigned user) of the pool's machines, as the database has them."""
    from sqlalchemy import create_engine, select

    from broker_stub.db.models import Machine

    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(Machine.name, Machine.state, Machine.assigned_user_id).where(
                    Machine.pool_id == pool_id
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(n), str(s), u) for n, s, u in rows]


def wait_for(what: str, ready: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Seconds until `ready()`; RuntimeError after `timeout`."""
    started = time.perf_counter()
    while not ready():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)
    return time.perf_counter() - started


@dataclass
class Launch:
    """One user's launch, retried with its key until 200, and the console after it."""

    user: int
    started: float = 0.0
    first_answer: float | None = None  # seconds to the first answer (202: starting)
    ok: float | None = None  # seconds to the 200
    console: float | None = None  # seconds to the console accepting the password
    slept: float = 0.0  # seconds this client waited between tries (`--poll`)
    retry_after: float = 0.0  # seconds the 202 and 503 answers asked it to wait
    answers: Counter[int] = field(default_factory=Counter)
    error: str | None = None
    session_id: str = ""
    host: str = ""
    port: int = 0


def launch(
    http: httpx.Client, token: str, pool_id: str, out: Launch, *, poll: float, obey: bool = False
) -> None:
    """Launch until 200, then check the console. A 202 or 503 is asked again after
    `poll` s, or with `obey` after the answer's Retry-After, as a launcher does."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    out.started = time.perf_counter()
    deadline = time.monotonic() + USER_DEADLINE
    while True:
        try:
            reply = http.post(f"/api/v1/desktops/{pool_id}/launch", headers=headers)
        except httpx.HTTPError as exc:
            out.error = type(exc).__name__
            return
        if out.first_answer is None:
            out.first_answer = time.perf_counter() - out.started
        out.answers[reply.status_code] += 1
        if reply.status_code == 200:
            out.ok = time.perf_counter() - out.started
            body = reply.json()
            connection = body["connection"]
            out.session_id = str(body["session_id"])
            out.host, out.port = str(connection["host"]), int(connection["port"])
            try:
                accepted = lv.vnc_password_accepted(out.port, connection["password"], out.host)
            except (OSError, AssertionError) as exc:
                out.error = f"console: {exc}"
                return
            if accepted:
                out.console = time.perf_counter() - out.started
            else:
                out.error = "console refused the one-time password"
            return
        if reply.status_code not in (202, 503):
            try:
                code = str(reply.json().get("code", reply.status_code))
            except ValueError:
                code = str(reply.status_code)
            out.error = code
            return
        if time.monotonic() > deadline:
            out.error = f"no 200 within {USER_DEADLINE:.0f} s"
            return
        wait = poll
        with contextlib.suppress(ValueError):
            asked = float(reply.headers.get("Retry-After", ""))
            out.retry_after += asked
            wait = asked if obey else poll
        out.slept += wait
        time.sleep(wait)


def together(jobs: Sequence[Callable[[], None]], timeout: float) -> float:
    """Run the jobs on threads released at one moment; the wall time until all ended."""
    start = threading.Barrier(len(jobs) + 1)

    def run(job: Callable[[], None]) -> None:
        start.wait(timeout=60)
        job()

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    start.wait(timeout=60)
    began = time.perf_counter()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"threads still running after {timeout:.0f} s")
    return time.perf_counter() - began


# -- 1. a stopped machine to its console ----------------------------------------------


@dataclass
class StartResult:
    broker: list[float] = field(default_factory=list)  # launch to console ready
    broker_first: list[float] = field(default_factory=list)  # to the first answer (202)
    broker_answers: list[int] = field(default_factory=list)
    broker_busy: list[float] = field(default_factory=list)  # without this client's waits
    broker_launcher: list[float] = field(default_factory=list)  # waiting Retry-After instead
    virsh: list[float] = field(default_factory=list)
    virsh_start: list[float] = field(default_factory=list)  # `virsh start` alone
    failures: list[str] = field(default_factory=list)
    usage_broker: Usage = field(default_factory=Usage)
    usage_virsh: Usage = field(default_factory=Usage)


def figure_start(site: Site, workdir: Path, args: argparse.Namespace) -> StartResult:
    reps = args.reps
    ours = [f"start-b-{i:02d}" for i in range(reps + 1)]
    virshs = [f"start-v-{i:02d}" for i in range(reps + 1)]
    api_clones(site, ours + virshs)
    pool = libvirt_pool(site, "start", backend={"domains": ours})
    result = StartResult()
    try:
        with broker(workdir, "start", [pool], users=reps + 1, workers=args.workers) as node:
            wait_for(
                "the broker finding the stopped machines",
                lambda: len(pool_rows(node.database_url, "start")) == len(ours),
                ROWS_TIMEOUT,
            )
            tokens = sign_in(node.url, reps + 1)
            with client(node.url) as http:

                def with_broker(i: int, timed: bool) -> None:
                    one = Launch(i)
                    with metered(result.usage_broker if timed else Usage(), site, node.pid):
                        launch(http, tokens[i], "start", one, poll=args.poll, obey=args.obey)
                    if one.console is None or one.first_answer is None:
                        result.failures.append(f"broker launch {i}: {one.error}")
                    elif timed:
                        result.broker.append(one.console)
                        result.broker_first.append(one.first_answer)
                        result.broker_answers.append(one.answers.total())
                        result.broker_busy.append(one.console - one.slept)
                        result.broker_launcher.append(one.console - one.slept + one.retry_after)
                    power_off(site, "start-b-")  # untimed: the next run gets a quiet machine

                def with_virsh(i: int, timed: bool) -> None:
                    name = virshs[i]
                    with metered(result.usage_virsh if timed else Usage(), site):
                        began = time.perf_counter()
                        site.virsh("start", name)
                        started = time.perf_counter() - began
                        deadline = time.monotonic() + USER_DEADLINE
                        ready = console_ready(
                            vnc_port(site, name), lv.GUEST_PASSWORD, deadline, args.poll
                        )
                        took = time.perf_counter() - began
                    if not ready:
                        result.failures.append(f"virsh start {name}: the console did not let in")
                    elif timed:
                        result.virsh.append(took)
                        result.virsh_start.append(started)
                    power_off(site, "start-v-")

                with_broker(0, timed=False)  # warm-up: the first QEMU start, connections
                with_virsh(0, timed=False)
                for i in range(1, reps + 1):
                    # ABBA: each path goes first as often as the other.
                    first_broker = i % 4 in (1, 0)
                    for broker_now in (first_broker, not first_broker):
                        if broker_now:
                            with_broker(i, timed=True)
                        else:
                            with_virsh(i, timed=True)
    finally:
        remove(site, "start-")
    return result


def report_start(result: StartResult, args: argparse.Namespace) -> bool:
    b, v = result.broker, result.virsh
    answers = statistics.mean(result.broker_answers) if result.broker_answers else 0.0
    print(
        f"broker    launch → console ready: median {ms(median(b))}  p90 {ms(pct(b, 90))}  "
        f"(min {ms(min(b, default=0))}, max {ms(max(b, default=0))}, n {len(b)}); "
        f"first answer (202, start asked) median {ms(median(result.broker_first))}; "
        f"{answers:.1f} answers a launch"
    )
    print(
        f"          without this client's waits between tries: median "
        f"{ms(median(result.broker_busy))}; a launcher waiting Retry-After instead: "
        f"median {ms(median(result.broker_launcher))}"
    )
    print(
        f"limit     virsh start → console ready: median {ms(median(v))}  p90 {ms(pct(v, 90))}  "
        f"(min {ms(min(v, default=0))}, max {ms(max(v, default=0))}, n {len(v)}); "
        f"virsh start alone median {ms(median(result.virsh_start))}"
    )
    print(
        f"ratio     broker ÷ virsh = {ratio(median(b), median(v))} (median), "
        f"{ratio(pct(b, 90), pct(v, 90))} (p90)"
    )
    print(result.usage_broker.line("broker"))
    print(result.usage_virsh.line("virsh"))
    for failure in result.failures:
        print(f"FAILED    {failure}")
    return bool(result.failures) or len(b) != args.reps or len(v) != args.reps


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


# -- 2. clones made per minute -------------------------------------------------------


@dataclass
class Fill:
    seconds: float  # until the last clone was made
    marks: list[float]  # seconds at which each clone was seen made
    defined: int  # domains on libvirt then

    @property
    def per_minute(self) -> float:
        return len(self.marks) * 60 / self.seconds if self.seconds else 0.0

    @property
    def each(self) -> list[float]:
        return [b - a for a, b in zip([0.0, *self.marks], self.marks, strict=False)]


@dataclass
class FillResult:
    broker: list[Fill] = field(default_factory=list)
    virsh: list[Fill] = field(default_factory=list)
    api: list[Fill] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    usage_broker: Usage = field(default_factory=Usage)
    usage_virsh: Usage = field(default_factory=Usage)
    usage_api: Usage = field(default_factory=Usage)


def broker_fill(site: Site, workdir: Path, pool_id: str, count: int, usage: Usage) -> Fill:
    """The upkeep (in this process, scheduler off) fills an empty pool of `count` spares."""
    from sqlalchemy import func, select

    from broker_stub.app import create_app
    from broker_stub.db.models import Machine, MachineState
    from broker_stub.settings import BrokerSettings

    config = write_pools(
        workdir / f"{pool_id}.toml", [clone_pool(site, pool_id, spares=count, most=count)]
    )
    sqlite = workdir / f"{pool_id}.sqlite3"
    for old in (sqlite, *(sqlite.with_name(sqlite.name + x) for x in ("-wal", "-shm"))):
        old.unlink(missing_ok=True)
    settings = BrokerSettings(database_url=f"sqlite:///{sqlite}", config=config, scheduler=False)
    app = create_app(settings)
    factory = app.state.session_factory
    ready = select(func.count()).where(
        Machine.pool_id == pool_id, Machine.state == MachineState.READY
    )
    marks: list[float] = []
    try:
        with metered(usage, site):
            began = time.perf_counter()
            app.state.scheduler.run_once()
            while len(marks) < count:
                with factory() as db:
                    made = db.scalar(ready) or 0
                now = time.perf_counter() - began
                marks += [now] * (made - len(marks))
                if now > ROWS_TIMEOUT:
                    raise RuntimeError(f"{pool_id}: {len(marks)} of {count} made in {now:.0f} s")
                time.sleep(0.01)
        defined = len(domains(site, f"{pool_id}-"))
        app.state.upkeep.wait(timeout=ROWS_TIMEOUT)  # it powers the spares on: untimed
    finally:
        app.state.upkeep.close()
        app.state.backends.close()
        app.state.engine.dispose()
    return Fill(marks[-1], marks, defined)


def virsh_fill(site: Site, prefix: str, count: int, usage: Usage) -> Fill:
    marks = []
    with metered(usage, site):
        began = time.perf_counter()
        for n in range(1, count + 1):
            virsh_clone(site, f"{prefix}{n:03d}")
            marks.append(time.perf_counter() - began)
    return Fill(marks[-1], marks, len(domains(site, prefix)))


def api_fill(site: Site, prefix: str, count: int, usage: Usage) -> Fill:
    marks = []
    with site.daemon.connect() as conn, metered(usage, site):
        began = time.perf_counter()
        storage = conn.storagePoolLookupByName(STORAGE)
        for n in range(1, count + 1):
            api_clone(conn, storage, site, f"{prefix}{n:03d}")
            marks.append(time.perf_counter() - began)
    return Fill(marks[-1], marks, len(domains(site, prefix)))


def figure_fill(site: Site, workdir: Path, args: argparse.Namespace) -> FillResult:
    result = FillResult()
    paths = ["broker", "virsh", "api"]
    for r in range(1, args.fill_rounds + 1):
        # Each round starts with the next path: none is always first.
        for who in paths[(r - 1) % 3 :] + paths[: (r - 1) % 3]:
            if who == "broker":
                prefix = f"fill{r}-"
                try:
                    fill = broker_fill(site, workdir, f"fill{r}", args.clones, result.usage_broker)
                finally:
                    remove(site, prefix)
                result.broker.append(fill)
            elif who == "virsh":
                prefix = f"vfill{r}-"
                try:
                    fill = virsh_fill(site, prefix, args.clones, result.usage_virsh)
                finally:
                    remove(site, prefix)
                result.virsh.append(fill)
            else:
                prefix = f"afill{r}-"
                try:
                    fill = api_fill(site, prefix, args.clones, result.usage_api)
                finally:
                    remove(site, prefix)
                result.api.append(fill)
            if fill.defined != args.clones:
                result.failures.append(f"{who} round {r}: {fill.defined} domains defined")
    return result


def fill_line(fills: list[Fill]) -> str:
    rounds = ", ".join(f"{len(f.marks)} in {f.seconds:.2f} s" for f in fills)
    each = [s for f in fills for s in f.each]
    return (
        f"{rounds}; median {median([f.per_minute for f in fills]):.0f} clones/min, "
        f"{ms(median(each))} a clone (p90 {ms(pct(each, 90))})"
    )


def report_fill(result: FillResult) -> bool:
    print(f"broker    upkeep filling the pool, one clone after another: {fill_line(result.broker)}")
    print(f"limit     virsh vol-create-as + define, serial: {fill_line(result.virsh)}")
    b = median([f.per_minute for f in result.broker])
    v = median([f.per_minute for f in result.virsh])
    print(f"floor     libvirt-python on one connection, serial: {fill_line(result.api)}")
    a = median([f.per_minute for f in result.api])
    print(
        f"ratio     broker ÷ virsh = {ratio(b, v)}, broker ÷ libvirt-python = {ratio(b, a)} "
        "(clones per minute)"
    )
    print(result.usage_broker.line("broker"))
    print(result.usage_virsh.line("virsh"))
    print(result.usage_api.line("libvirt-python"))
    for failure in result.failures:
        print(f"FAILED    {failure}")
    return bool(result.failures)


# -- 3. many users at once -----------------------------------------------------------


@dataclass
class Audit:
    """The crowd's answers against the database and libvirt."""

    sessions: int = 0  # distinct sessions answered
    machines: int = 0  # distinct machines under those sessions (database)
    domains: int = 0  # the pool's domains on libvirt
    ports: int = 0  # distinct console ports among them
    machine_twice: int = 0  # machines under two live sessions (database)
    shared_machine: int = 0  # answered sessions beyond one per machine
    answered_twice: int = 0  # consoles (host, port) answered to two users
    port_shared: int = 0  # domains sharing a console port
    not_in_database: int = 0  # answers whose session is not live in the database
    wrong_console: int = 0  # answers whose port is not their machine's console

    @property
    def duplicates(self) -> int:
        return self.machine_twice + self.shared_machine + self.answered_twice + self.port_shared


def audit(site: Site, database_url: str, pool_id: str, launches: list[Launch]) -> Audit:
    from sqlalchemy import create_engine, select

    from broker_stub.db.models import LIVE_SESSION_STATES, DesktopSession, Machine

    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            live = db.execute(
                select(DesktopSession.id, DesktopSession.machine_id, Machine.name)
                .join(Machine, Machine.id == DesktopSession.machine_id)
                .where(
                    DesktopSession.pool_id == pool_id,
                    DesktopSession.state.in_(LIVE_SESSION_STATES),
                )
            ).all()
    finally:
        engine.dispose()
    machine_of = {str(session): str(name) for session, _, name in live}
    found = domains(site, f"{pool_id}-")
    answered = [one for one in launches if one.ok is not None]
    out = Audit()
    out.sessions = len({one.session_id for one in answered})
    out.domains = len(found)
    ports = [d.port for d in found.values() if d.port is not None]
    out.ports = len(set(ports))
    out.port_shared = len(ports) - len(set(ports))
    out.machine_twice = sum(n > 1 for n in Counter(m for _, m, _ in live).values())
    machines = [machine_of[one.session_id] for one in answered if one.session_id in machine_of]
    out.machines = len(set(machines))
    out.shared_machine = len(machines) - len(set(machines))
    consoles = Counter((one.host, one.port) for one in answered)
    out.answered_twice = sum(n - 1 for n in consoles.values())
    out.not_in_database = sum(one.session_id not in machine_of for one in answered)
    out.wrong_console = sum(
        one.session_id in machine_of
        and (found.get(machine_of[one.session_id]) or Domain("", False, None)).port != one.port
        for one in answered
    )
    return out


@dataclass
class Crowd:
    """One crowd: per-user times (the broker's launches, or virsh's runs)."""

    name: str
    users: int
    times: list[float] = field(default_factory=list)  # seconds to the 200 (virsh: ready)
    consoles: list[float] = field(default_factory=list)  # seconds to the console accepting
    slept: list[float] = field(default_factory=list)  # seconds each waited between tries
    wall: float = 0.0
    answers: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    usage: Usage = field(default_factory=Usage)
    audit: Audit | None = None
    ports: int = 0  # virsh: distinct console ports
    note: str = ""  # the spares' preparation

    def summary(self) -> str:
        errors = f" {dict(self.errors)}" if self.errors else ""
        return (
            f"{len(self.times)} of {self.users} ready: p50 {ms(pct(self.times, 50))}  "
            f"p99 {ms(pct(self.times, 99))}  max {ms(max(self.times, default=0))}; "
            f"wall {self.wall:.2f} s; errors {sum(self.errors.values())}{errors}"
        )


def broker_crowd(site: Site, workdir: Path, args: argparse.Namespace, *, spares: bool) -> Crowd:
    users = args.users
    pool_id = "spares" if spares else "demand"
    crowd = Crowd(pool_id, users)
    pool = clone_pool(site, pool_id, spares=users if spares else 0, most=users)
    try:
        with broker(workdir, pool_id, [pool], users=users, workers=args.workers) as node:
            if spares:

                def all_running() -> bool:
                    rows = pool_rows(node.database_url, pool_id)
                    if sum(state == "ready" for _, state, _ in rows) < users:
                        return False
                    found = domains(site, f"{pool_id}-")
                    return len(found) == users and all(d.running for d in found.values())

                wait_for("the spares", all_running, ROWS_TIMEOUT, step=0.2)
                made = time.perf_counter() - node.started
                crowd.note = (
                    f"{users} made and running {made:.1f} s after the broker's process started "
                    f"(it answered /healthz after {node.healthy:.1f} s): "
                    f"{users * 60 / made:.0f} a minute, each made then powered on by the upkeep"
                )
            tokens = sign_in(node.url, users)
            launches = [Launch(i) for i in range(users)]
            with ExitStack() as stack:
                https = [stack.enter_context(client(node.url)) for _ in range(users)]
                jobs: list[Callable[[], None]] = [
                    partial(
                        launch,
                        https[i],
                        tokens[i],
                        pool_id,
                        launches[i],
                        poll=args.poll,
                        obey=args.obey,
                    )
                    for i in range(users)
                ]
                with metered(crowd.usage, site, node.pid):
                    crowd.wall = together(jobs, USER_DEADLINE + 60)
            crowd.audit = audit(site, node.database_url, pool_id, launches)
    finally:
        remove(site, f"{pool_id}-")
    for one in launches:
        crowd.answers.update(one.answers)
        if one.ok is not None:
            crowd.times.append(one.ok)
        if one.console is not None:
            crowd.consoles.append(one.console)
        crowd.slept.append(one.slept)
        if one.error is not None:
            crowd.errors[one.error] += 1
    return crowd


def new_console_password(live_xml: str) -> tuple[str, int, str]:
    """The VNC <graphics> of a running domain with a new one-time password, as the broker
    sets it (valid 60 s, connected clients kept); its port; the password."""
    root = ET.fromstring(live_xml)  # noqa: S314 - libvirt's own output
    graphics = root.find("devices/graphics[@type='vnc']")
    assert graphics is not None
    password = secrets.token_urlsafe(6)[:8]  # VNC reads 8 characters
    valid_to = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    graphics.set("passwd", password)
    graphics.set("passwdValidTo", valid_to.strftime("%Y-%m-%dT%H:%M:%S"))
    graphics.set("connected", "keep")
    return ET.tostring(graphics, encoding="unicode"), int(graphics.get("port", "0")), password


def direct_crowd(site: Site, args: argparse.Namespace, *, spares: bool, api: bool) -> Crowd:
    """What the broker's crowd does, without the broker: with virsh, or with libvirt-python
    on one connection shared by the threads (as the broker shares one)."""
    users = args.users
    prefix = ("a" if api else "v") + ("spares-" if spares else "demand-")
    crowd = Crowd(prefix.rstrip("-"), users)
    names = [f"{prefix}{n:03d}" for n in range(1, users + 1)]
    times: list[float | None] = [None] * users
    ports: list[int] = [0] * users
    lock = threading.Lock()
    conn: Any = None

    def on_demand(i: int) -> str:
        name = names[i]
        if api:
            storage = conn.storagePoolLookupByName(STORAGE)
            domain = api_clone(conn, storage, site, name)
            domain.create()
            ports[i] = lv.graphics_ports(domain.XMLDesc(0))["vnc"]
        else:
            virsh_clone(site, name)
            site.virsh("start", name)
            ports[i] = vnc_port(site, name)
        return lv.GUEST_PASSWORD

    def new_password(i: int) -> str:
        """What the broker does to a running spare: read its console, set a password."""
        name = names[i]
        if api:
            domain = conn.lookupByName(name)
            update, ports[i], password = new_console_password(domain.XMLDesc(0))
            domain.updateDeviceFlags(update, lv.libvirt.VIR_DOMAIN_AFFECT_LIVE)
        else:
            update, ports[i], password = new_console_password(site.virsh("dumpxml", name))
            path = site.xml_dir / f"{name}-graphics.xml"
            path.write_text(update)
            site.virsh("update-device", name, str(path), "--live")
        return password

    def job(i: int) -> None:
        began = time.perf_counter()
        try:
            password = (new_password if spares else on_demand)(i)
            deadline = time.monotonic() + USER_DEADLINE
            if console_ready(ports[i], password, deadline, args.poll):
                times[i] = time.perf_counter() - began
        except Exception as exc:  # counted; the others go on
            with lock:
                crowd.errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    try:
        if spares:
            api_clones(site, names, start=True)  # untimed, as the broker's spares are
            for name in names:
                port = lv.graphics_ports(site.virsh("dumpxml", name)).get("vnc", 0)
                console_ready(port, lv.GUEST_PASSWORD, time.monotonic() + 60, 0.1)
        with ExitStack() as stack:
            if api:
                conn = stack.enter_context(site.daemon.connect())
            with metered(crowd.usage, site):
                jobs = [partial(job, i) for i in range(users)]
                crowd.wall = together(jobs, USER_DEADLINE + 60)
    finally:
        remove(site, prefix)
    crowd.times = [t for t in times if t is not None]
    crowd.ports = len({p for p in ports if p})
    missing_ones = users - len(crowd.times) - sum(crowd.errors.values())
    if missing_ones:
        crowd.errors["console did not let in"] += missing_ones
    return crowd


def report_crowd(ours: Crowd, limit: Crowd, floor: Crowd, serial: float | None) -> bool:
    a = ours.audit
    assert a is not None
    answers = ", ".join(f"{code} ×{n}" for code, n in sorted(ours.answers.items()))
    if ours.note:
        print(f"spares    {ours.note}")
    print(
        f"broker    time to 200: {ours.summary()}; answers {answers}; "
        f"waiting between tries p50 {ms(pct(ours.slept, 50))}"
    )
    print(
        f"          console accepted the one-time password: {len(ours.consoles)} of "
        f"{ours.users}, p50 {ms(pct(ours.consoles, 50))}  p99 {ms(pct(ours.consoles, 99))}"
    )
    print(
        f"check     {a.sessions} sessions on {a.machines} machines, {a.domains} domains with "
        f"{a.ports} console ports; machines under two live sessions {a.machine_twice}, "
        f"sessions sharing a machine {a.shared_machine}, machines answered to two users "
        f"{a.answered_twice}, domains sharing a console port {a.port_shared}, "
        f"answers not in the database {a.not_in_database}, "
        f"answers not their machine's console {a.wrong_console}"
    )
    print(f"duplicates: {a.duplicates} (must be 0)")
    print(f"limit     virsh, one thread a user: {limit.summary()}; {limit.ports} console ports")
    if serial is not None:
        print(f"          (the same {ours.users} one after another would take ~{serial:.1f} s)")
    print(
        f"floor     libvirt-python, one connection, one thread a user: {floor.summary()}; "
        f"{floor.ports} console ports"
    )
    p50, p99 = pct(ours.times, 50), pct(ours.times, 99)
    for name, other in (("virsh", limit), ("libvirt-python", floor)):
        print(
            f"ratio     broker ÷ {name} = {ratio(p50, pct(other.times, 50))} (p50), "
            f"{ratio(p99, pct(other.times, 99))} (p99), {ratio(ours.wall, other.wall)} (wall)"
        )
    print(ours.usage.line("broker"))
    print(limit.usage.line("virsh"))
    print(floor.usage.line("libvirt-python"))
    failed = a.duplicates or a.not_in_database or a.wrong_console or a.domains != ours.users
    failed = failed or len(ours.consoles) != ours.users
    for other in (limit, floor):
        failed = failed or len(other.times) != other.users or other.ports != other.users
    return bool(failed or ours.errors or limit.errors or floor.errors)


# -- running it ----------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    print(common.machine_line())
    print(f"load average before {load()}")
    failed = False
    with ExitStack() as stack:
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rubicon-cp-")))
        began = time.perf_counter()
        site = stack.enter_context(hypervisor(workdir))
        with site.daemon.connect() as conn:
            libvirt_version, qemu_version = conn.getLibVersion(), conn.getVersion()
        print(
            f"libvirt: private libvirtd {dotted(libvirt_version)}, QEMU {dotted(qemu_version)} "
            f"(TCG), guests of {MEMORY_MIB} MiB on a {GOLDEN_MIB} MiB golden qcow2 "
            f"({time.perf_counter() - began:.1f} s to start); broker: serve --workers "
            f"{args.workers}, SQLite, plain HTTP; clients ask again "
            + ("after each answer's Retry-After" if args.obey else f"every {args.poll:g} s")
        )
        start: StartResult | None = None
        fill: FillResult | None = None
        if "start" in args.figures:
            print(
                f"\n== 1. launch of a stopped machine to console ready: {args.reps} of each, "
                f"A/B interleaved (load average {load()})"
            )
            start = figure_start(site, workdir, args)
            failed |= report_start(start, args)
        if "fill" in args.figures:
            print(
                f"\n== 2. clones made per minute: a pool of {args.clones} spares filled from "
                f"empty, {args.fill_rounds} round{'s' if args.fill_rounds > 1 else ''} of "
                f"each, A/B interleaved (load average {load()})"
            )
            fill = figure_fill(site, workdir, args)
            failed |= report_fill(fill)
        serial = None
        if start is not None and fill is not None:
            each = [s for f in fill.virsh for s in f.each]
            serial = args.users * (median(each) + median(start.virsh))
        for spares in (False, True):
            if ("spares" if spares else "on-demand") not in args.crowd:
                continue
            what = (
                f"spares = max = {args.users}, made and powered on beforehand"
                if spares
                else f"spares = 0, max = {args.users}: each launch makes its clone"
            )
            print(
                f"\n== 3{'b' if spares else 'a'}. {args.users} users launching at once, "
                f"{what} (load average {load()})"
            )
            # On demand the broker goes first, with spares last: neither always first.
            if spares:
                limit = direct_crowd(site, args, spares=True, api=False)
                floor = direct_crowd(site, args, spares=True, api=True)
                ours = broker_crowd(site, workdir, args, spares=True)
            else:
                ours = broker_crowd(site, workdir, args, spares=False)
                limit = direct_crowd(site, args, spares=False, api=False)
                floor = direct_crowd(site, args, spares=False, api=True)
            failed |= report_crowd(ours, limit, floor, None if spares else serial)
    print(f"\nload average after {load()}")
    return 1 if failed else 0


def dotted(version: int) -> str:
    return f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Raised in the main thread, so every `with` above stops what it started.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10, help="launches of a stopped machine")
    parser.add_argument("--clones", type=int, default=20, help="spares the upkeep makes")
    parser.add_argument("--fill-rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=50, help="users launching at once")
    parser.add_argument(
        "--crowd",
        choices=["on-demand", "spares", "both"],
        default="both",
        help="which of the two crowds (figure 3) to run",
    )
    parser.add_argument(
        "--figures",
        default="start,fill,crowd",
        help="comma-separated: start (1), fill (2), crowd (3)",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=0.2,
        help="seconds between two tries of a launch (202, 503) or a console",
    )
    parser.add_argument(
        "--retry-after",
        dest="obey",
        action="store_true",
        help="launches wait what each 202 or 503 says (Retry-After), as a launcher does",
    )
    parser.add_argument("--workers", type=int, default=1, help="broker processes (serve --workers)")
    parser.add_argument("--workdir", help="keep pools files, databases, broker logs here")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny run: 2 launches, 3 clones, 3 users"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.reps, args.clones, args.fill_rounds, args.users = 2, 3, 1, 3
    if min(args.reps, args.clones, args.fill_rounds, args.users, args.workers) < 1:
        parser.error("--reps, --clones, --fill-rounds, --users and --workers must be at least 1")
    if args.users > 90:
        parser.error("--users: at most 90 (the private libvirtd has 100 console ports)")
    args.figures = set(args.figures.split(","))
    if not args.figures <= {"start", "fill", "crowd"}:
        parser.error("--figures: start, fill and crowd, separated by commas")
    args.crowd = (
        ({"on-demand", "spares"} if args.crowd == "both" else {args.crowd})
        if "crowd" in args.figures
        else set()
    )
    reason = missing()
    if reason is not None:
        print(f"cannot run here: {reason}", file=sys.stderr)
        return SKIPPED
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; everything this run started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
