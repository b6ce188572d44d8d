"""LibvirtBackend through the real libvirt-python on libvirt's test driver.

Each test has a hypervisor of its own: a node file in tmp_path (libvirt's
drvtest.html), which every connection to it reads afresh, so what a test
changes is seen only through the node's one connection (`Host.connection`)
that its backends share. test:///default is shared by the whole process and
not used here. What the test driver cannot do is named where it matters and
left to the e2e tests on a real libvirtd.
"""

# ruff: noqa: E402 (the libvirt extra is optional: without it these tests are skipped)
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, tostring

import pytest

EXTRA = "the libvirt extra: pip install 'rubicon[libvirt]'"
libvirt = pytest.importorskip("libvirt", reason=EXTRA)
pytest.importorskip("defusedxml", reason=EXTRA)

from defusedxml.ElementTree import fromstring

from broker_stub import tls
from broker_stub.backends import (
    BackendError,
    Backends,
    Console,
    ConsoleTicket,
    Context,
    HypervisorUnavailable,
    MachineMissing,
    MachineRef,
    NoConsole,
    NotSupported,
    Power,
    PowerState,
    RecycleMode,
    Shared,
    SnapshotMissing,
    StorageFull,
)
from broker_stub.backends.libvirt import KIND, domxml
from broker_stub.backends.libvirt.backend import START_RETRY_AFTER_S, LibvirtBackend
from broker_stub.backends.libvirt.connection import Connection
from broker_stub.backends.libvirt.domxml import Graphics
from broker_stub.backends.libvirt.options import LibvirtOptions
from broker_stub.clock import utcnow
from tests.helpers.e2e import wait_for

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
RUNNING = libvirt.VIR_DOMAIN_RUNNING
BLOCKED = libvirt.VIR_DOMAIN_BLOCKED
PAUSED = libvirt.VIR_DOMAIN_PAUSED
SHUTTING_DOWN = libvirt.VIR_DOMAIN_SHUTDOWN
SHUTOFF = libvirt.VIR_DOMAIN_SHUTOFF
CRASHED = libvirt.VIR_DOMAIN_CRASHED
PMSUSPENDED = libvirt.VIR_DOMAIN_PMSUSPENDED
SECURE_CONFIG = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE

VNC = (
    "<graphics type='vnc' port='5931' autoport='no' listen='0.0.0.0' passwd='vncpass1'>"
    "<listen type='address' address='0.0.0.0'/></graphics>"
)
SPICE = (
    "<graphics type='spice' port='5932' tlsPort='5933' autoport='no' passwd='spicepass1'>"
    "<listen type='address' address='192.0.2.9'/></graphics>"
)
VNC_AUTOPORT = "<graphics type='vnc' autoport='yes' passwd='vncpass1'/>"


def domain(name: str, state: int = RUNNING, devices: str = "") -> str:
    """A domain of a node file; the test driver keeps its XML as given."""
    return (
        f"<domain type='test' xmlns:test='{TEST_NS}'><name>{name}</name>"
        "<memory>65536</memory><os><type>hvm</type></os>"
        f"<devices>{devices}</devices><test:runstate>{state}</test:runstate></domain>"
    )


def disk(path: str) -> str:
    return f"<disk type='file' device='disk'><source file='{path}'/><target dev='vda'/></disk>"


def volume(name: str, gib: int = 10, fmt: str = "qcow2") -> str:
    """A storage volume; the test driver counts all of its capacity as allocated."""
    return (
        f"<volume type='file'><name>{name}</name><capacity unit='GiB'>{gib}</capacity>"
        f"<target><format type='{fmt}'/></target></volume>"
    )


def storage(*volumes: str, name: str = "default") -> str:
    """A storage pool at /pool; the test driver gives it 100 GiB and counts volumes against it."""
    return (
        f"<pool type='dir'><name>{name}</name><target><path>/pool</path></target>"
        f"{''.join(volumes)}</pool>"
    )


GOLDEN = volume("golden.qcow2")
TEMPLATE = domain("golden", SHUTOFF, disk("/pool/golden.qcow2") + VNC_AUTOPORT)
CLONES = {"template": "golden", "max": 5}


def ref(name: str, pool_id: str = "lab") -> MachineRef:
    return MachineRef(pool_id=pool_id, name=name, host="", ports={})


class Host:
    """A test-driver hypervisor of a test's own and the node's connection to it."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.connection = Connection(uri)
        self._backends: list[LibvirtBackend] = []

    @property
    def conn(self) -> Any:
        return self.connection.get()

    def domain(self, name: str) -> Any:
        return self.conn.lookupByName(name)

    def state(self, name: str) -> tuple[int, int]:
        state, reason = self.domain(name).state()
        return state, reason

    def names(self) -> set[str]:
        return {d.name() for d in self.conn.listAllDomains(0)}

    def volumes(self, pool: str = "default") -> set[str]:
        return {v.name() for v in self.conn.storagePoolLookupByName(pool).listAllVolumes(0)}

    def tag(self, name: str, pool_id: str) -> None:
        """Rubicon's tag in the domain's configuration (virsh metadata --config)."""
        self.domain(name).setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT,
            domxml.metadata_element(pool_id),
            domxml.PREFIX,
            domxml.NAMESPACE,
            libvirt.VIR_DOMAIN_AFFECT_CONFIG,
        )

    def backend(
        self, pool_id: str = "lab", changed: Callable[[], None] = lambda: None, **table: Any
    ) -> LibvirtBackend:
        options = LibvirtOptions.model_validate({"uri": self.uri, **table})
        backend = LibvirtBackend(pool_id, options, self.connection, changed=changed)
        self._backends.append(backend)
        return backend

    def close(self) -> None:
        for backend in self._backends:
            backend.close()
        self.connection.close()


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def make(
        *domains: str, pools: Sequence[str] = (storage(GOLDEN),), uri: str | None = None
    ) -> Host:
        """A host with these domains and storage pools; or one at `uri`, made by the test."""
        if uri is None:
            node = tmp_path / f"node-{len(hosts)}.xml"
            node.write_text(f"<node>{''.join(domains)}{''.join(pools)}</node>")
            uri = f"test://{node}"
        host = Host(uri)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


def driver_error(message: str, code: int, domain: int = libvirt.VIR_FROM_QEMU) -> Any:
    """A libvirtError as a real hypervisor's driver raises it; the test driver never does.
    (Not one from the test driver's virDomainSave to a file that cannot be written,
    such as /dev/full: on a failed write it deletes the file it was given.)"""
    error = libvirt.libvirtError(message)
    error.err = (code, domain, message, libvirt.VIR_ERR_ERROR, message, None, None, -1, -1)
    return error


@dataclass
class DeviceUpdates:
    """virDomainUpdateDeviceFlags, which the test driver lacks ("this function is not
    supported by the connection driver: virDomainUpdateDeviceFlags"); the e2e tests
    use the real one. Each call is recorded (domain, device XML, flags, whether the
    domain was running). A change to the configuration is made as QEMU's driver
    makes it: the graphics device of that type replaced in the persistent
    definition. A live change succeeds, or fails with `live_error`."""

    calls: list[tuple[str, str, int, bool]] = field(default_factory=list)
    live_error: str | None = None

    def update(self, domain: Any, xml: str, flags: int = 0) -> int:
        self.calls.append((domain.name(), xml, flags, bool(domain.isActive())))
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            _replace_in_config(domain, fromstring(xml))
        elif self.live_error is not None:
            raise driver_error(self.live_error, libvirt.VIR_ERR_INTERNAL_ERROR)
        return 0


def _replace_in_config(domain: Any, device: Element) -> None:
    root = fromstring(domain.XMLDesc(SECURE_CONFIG))
    devices = root.find("devices")
    assert devices is not None
    for index, node in enumerate(devices):
        if node.tag == device.tag and node.get("type") == device.get("type"):
            devices[index] = device
            break
    else:
        raise AssertionError(f"no {device.get('type')} graphics to update in {domain.name()}")
    domain.connect().defineXML(tostring(root, encoding="unicode"))


@pytest.fixture
def device_updates(monkeypatch: pytest.MonkeyPatch) -> DeviceUpdates:
    updates = DeviceUpdates()

    def update_device_flags(domain: Any, xml: str, flags: int = 0) -> int:
        return updates.update(domain, xml, flags)

    monkeypatch.setattr(libvirt.virDomain, "updateDeviceFlags", update_device_flags)
    return updates


def graphics_of(host: Host, name: str, flags: int = libvirt.VIR_DOMAIN_XML_SECURE) -> list[Element]:
    return list(fromstring(host.domain(name).XMLDesc(flags)).findall("./devices/graphics"))


# Which domains are the pool's


def test_discover_by_domain_names(make_host: Callable[..., Host]) -> None:
    host = make_host(
        domain("vm-a"), domain("vm-b", PAUSED), domain("vm-c", SHUTOFF), domain("other")
    )

    found = host.backend(domains=["vm-a", "vm-b", "vm-c", "not-defined"]).discover()

    assert found == {
        "vm-a": PowerState.RUNNING,
        "vm-b": PowerState.SUSPENDED,
        "vm-c": PowerState.STOPPED,
    }


def test_discover_by_name_pattern(make_host: Callable[..., Host]) -> None:
    host = make_host(
        domain("lab-1"), domain("lab-2", SHUTOFF), domain("lab"), domain("LAB-3"), domain("xlab-4")
    )

    found = host.backend(name_pattern="lab-*").discover()

    assert found == {"lab-1": PowerState.RUNNING, "lab-2": PowerState.STOPPED}


def test_discover_tagged(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm-a"), domain("vm-b", SHUTOFF), domain("vm-c"), domain("vm-d"))
    host.tag("vm-a", "lab")
    host.tag("vm-b", "lab")
    host.tag("vm-c", "other")
    # A transient domain has no configuration: its live tag is all there is.
    transient = domain("vm-e").replace(
        "<devices>",
        f"<metadata><machine xmlns='{domxml.NAMESPACE}' pool='lab'/></metadata><devices>",
    )
    host.conn.createXML(transient, 0)
    lab = host.backend(tagged=True)

    assert lab.discover() == {
        "vm-a": PowerState.RUNNING,
        "vm-b": PowerState.STOPPED,
        "vm-e": PowerState.RUNNING,
    }
    assert host.backend("other", tagged=True).discover() == {"vm-c": PowerState.RUNNING}
    # Tagged in its configuration: still the pool's once stopped (and started again).
    lab.power_off(ref("vm-a"))
    assert lab.discover()["vm-a"] == PowerState.STOPPED


def test_discover_clones(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE, domain("theirs"))
    host.tag("theirs", "other")
    lab = host.backend(clones=CLONES)

    assert lab.discover() == {}
    lab.provision("lab-1")
    lab.provision("lab-2")

    # Not the template, not another pool's.
    assert lab.discover() == {"lab-1": PowerState.STOPPED, "lab-2": PowerState.STOPPED}


# Power


@pytest.mark.parametrize(
    ("state", "power"),
    [
        (RUNNING, PowerState.RUNNING),
        (BLOCKED, PowerState.RUNNING),
        (SHUTTING_DOWN, PowerState.RUNNING),
        (PAUSED, PowerState.SUSPENDED),
        (PMSUSPENDED, PowerState.SUSPENDED),
        (SHUTOFF, PowerState.STOPPED),
        (CRASHED, PowerState.STOPPED),
    ],
)
def test_power_state(make_host: Callable[..., Host], state: int, power: PowerState) -> None:
    host = make_host(domain("vm", state))

    assert host.backend(domains=["vm"]).power_state(ref("vm")) == power


def test_power_on_starts_a_shut_off_domain(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm", SHUTOFF, VNC_AUTOPORT))

    power = host.backend(domains=["vm"]).power_on(ref("vm"), "vnc")

    assert power == Power(running=False, retry_after=START_RETRY_AFTER_S)
    assert host.state("vm")[0] == RUNNING


def test_power_on_starts_a_crashed_domain_afresh(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm", CRASHED))

    power = host.backend(domains=["vm"]).power_on(ref("vm"), "vnc")

    assert power == Power(running=False, retry_after=START_RETRY_AFTER_S)
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED)


def test_power_on_resumes_a_paused_domain(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm", PAUSED))

    assert host.backend(domains=["vm"]).power_on(ref("vm"), "vnc") == Power(running=True)
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNPAUSED)


def test_power_on_leaves_a_running_domain(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"))

    assert host.backend(domains=["vm"]).power_on(ref("vm"), "vnc") == Power(running=True)
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNKNOWN)


def test_power_on_wakes_a_suspended_domain(make_host: Callable[..., Host]) -> None:
    """The test driver cannot wake a domain (virDomainPMWakeup: not supported); that
    libvirt was asked is what this shows. Waking a real guest is for the e2e tests."""
    host = make_host(domain("vm", PMSUSPENDED))

    with pytest.raises(BackendError, match=r"cannot start vm: .*virDomainPMWakeup"):
        host.backend(domains=["vm"]).power_on(ref("vm"), "vnc")


def test_power_on_gives_consoles_a_password_before_the_start(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    """QEMU takes a console password at run time only if the display started with one."""
    bare = "<graphics type='vnc' autoport='yes'/><graphics type='spice' autoport='yes'/>"
    host = make_host(domain("vm", SHUTOFF, bare))

    host.backend(domains=["vm"]).power_on(ref("vm"), "vnc")

    assert [(name, flags, running) for name, _, flags, running in device_updates.calls] == [
        ("vm", libvirt.VIR_DOMAIN_AFFECT_CONFIG, False),
        ("vm", libvirt.VIR_DOMAIN_AFFECT_CONFIG, False),
    ]
    configured = graphics_of(host, "vm", SECURE_CONFIG)
    assert [g.get("type") for g in configured] == ["vnc", "spice"]
    for device in configured:
        assert len(device.get("passwd") or "") == domxml.VNC_PASSWORD_LENGTH
        assert device.get("passwdValidTo") is None
    assert host.state("vm")[0] == RUNNING


def test_power_on_keeps_a_console_password_that_is_there(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    host = make_host(domain("vm", SHUTOFF, VNC_AUTOPORT))

    host.backend(domains=["vm"]).power_on(ref("vm"), "vnc")

    assert device_updates.calls == []
    assert [g.get("passwd") for g in graphics_of(host, "vm", SECURE_CONFIG)] == ["vncpass1"]


def test_power_off_shuts_down(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"), domain("off", SHUTOFF))
    backend = host.backend(domains=["vm", "off"])

    backend.power_off(ref("vm"))
    backend.power_off(ref("off"))

    assert host.state("vm") == (SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
    assert host.state("off") == (SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN)


def test_power_off_is_hard_when_the_guest_ignores_shutdown(
    make_host: Callable[..., Host], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test driver's guests always obey an ACPI shutdown; one without an OS does not.
    monkeypatch.setattr(libvirt.virDomain, "shutdown", lambda _domain: 0)
    host = make_host(domain("vm"))
    backend = host.backend(domains=["vm"], shutdown_timeout="1s")

    started = time.monotonic()
    backend.power_off(ref("vm"))

    assert time.monotonic() - started >= 1
    assert host.state("vm") == (SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED)


def test_reset_and_restart(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"), domain("off", SHUTOFF))
    backend = host.backend(domains=["vm", "off"])

    backend.reset(ref("vm"))
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_UNKNOWN)
    backend.restart(ref("vm"))
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED)
    with pytest.raises(BackendError, match=r"cannot reset off: .*domain is not running"):
        backend.reset(ref("off"))
    with pytest.raises(BackendError, match=r"cannot restart off: .*domain is not running"):
        backend.restart(ref("off"))


# Recycle


def test_recycle_none_and_poweroff(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"))
    backend = host.backend(domains=["vm"])

    backend.recycle(ref("vm"), RecycleMode.NONE)
    assert host.state("vm")[0] == RUNNING
    backend.recycle(ref("vm"), RecycleMode.POWEROFF)
    assert host.state("vm")[0] == SHUTOFF


def test_recycle_reverts_to_the_named_or_the_current_snapshot(
    make_host: Callable[..., Host],
) -> None:
    host = make_host(domain("vm"))
    vm = host.domain("vm")
    vm.snapshotCreateXML("<domainsnapshot><name>running</name></domainsnapshot>", 0)
    vm.destroy()
    vm.snapshotCreateXML("<domainsnapshot><name>off</name></domainsnapshot>", 0)  # current
    vm.create()
    vm.suspend()

    host.backend(domains=["vm"]).recycle(ref("vm"), RecycleMode.REVERT)
    assert host.state("vm") == (SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)

    host.backend(domains=["vm"], snapshot="running").recycle(ref("vm"), RecycleMode.REVERT)
    assert host.state("vm") == (RUNNING, libvirt.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT)


def test_recycle_needs_the_snapshot(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"))

    with pytest.raises(SnapshotMissing, match="vm has no current snapshot to revert to"):
        host.backend(domains=["vm"]).recycle(ref("vm"), RecycleMode.REVERT)
    host.domain("vm").snapshotCreateXML("<domainsnapshot><name>other</name></domainsnapshot>", 0)
    with pytest.raises(SnapshotMissing, match="vm has no snapshot 'clean' to revert to"):
        host.backend(domains=["vm"], snapshot="clean").recycle(ref("vm"), RecycleMode.REVERT)


def test_only_clone_pools_rebuild(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"))

    with pytest.raises(NotSupported, match=r"the pool has no \[pools\.backend\.clones\]"):
        host.backend(domains=["vm"]).recycle(ref("vm"), RecycleMode.REBUILD)
    with pytest.raises(NotSupported, match="cannot make machines"):
        host.backend(domains=["vm"]).provision("vm-2")
    assert host.state("vm")[0] == RUNNING


# Consoles


def test_console_where_the_domain_listens(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm", RUNNING, VNC + SPICE))

    local = host.backend(domains=["vm"])
    named = host.backend(domains=["vm"], address="kvm1.example.com")

    # 0.0.0.0: the pool's address, else this machine (a local URI).
    assert named.console(ref("vm"), "vnc") == Console(host="kvm1.example.com", port=5931)
    assert local.console(ref("vm"), "vnc") == Console(host="127.0.0.1", port=5931)
    assert local.console(ref("vm"), "spice") == Console(host="192.0.2.9", port=5932, tls_port=5933)


def test_console_of_spice_on_its_tls_port_only(make_host: Callable[..., Host]) -> None:
    tls_only = (
        "<graphics type='spice' tlsPort='5934' autoport='no' defaultMode='secure'>"
        "<listen type='address' address='192.0.2.9'/></graphics>"
    )
    host = make_host(domain("vm", RUNNING, tls_only))

    console = host.backend(domains=["vm"]).console(ref("vm"), "spice")

    assert console == Console(host="192.0.2.9", port=None, tls_port=5934)
    assert console.probe_port == 5934


def test_spice_over_tls_comes_with_the_pools_ca_and_subject(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    made = tls.create(tmp_path / "tls", ["kvm1"])  # any real certificate will do
    ca = made.cert
    host = make_host(domain("vm", RUNNING, VNC + SPICE))
    pool = host.backend(
        domains=["vm"], spice_ca_file=str(ca), spice_host_subject="C=XX,O=Lab,CN=kvm1"
    )

    spice = pool.console(ref("vm"), "spice")

    assert (spice.tls_port, spice.host_subject) == (5933, "C=XX,O=Lab,CN=kvm1")
    assert spice.ca == ca.read_text()
    # Only SPICE's TLS port needs them.
    assert pool.console(ref("vm"), "vnc") == Console(host="127.0.0.1", port=5931)


def test_a_spice_ca_file_that_is_no_certificate_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")

    for path, says in (
        (tmp_path / "missing.pem", "cannot read"),
        (tmp_path / "key.pem", "holds no PEM certificate"),
    ):
        with pytest.raises(ValueError, match=f"spice_ca_file: .*{says}"):
            LibvirtOptions.model_validate(
                {"uri": "test:///default", "domains": ["vm"], "spice_ca_file": str(path)}
            )


def test_console_on_loopback_of_a_local_hypervisor(make_host: Callable[..., Host]) -> None:
    loopback = "<graphics type='vnc' port='5935' autoport='no' listen='127.0.0.1'/>"
    host = make_host(domain("vm", RUNNING, loopback))

    assert host.backend(domains=["vm"]).console(ref("vm"), "vnc") == Console("127.0.0.1", 5935)


@pytest.mark.parametrize(
    ("devices", "protocol", "message"),
    [
        (VNC, "spice", "vm has no spice graphics device"),
        ("", "vnc", "vm has no vnc graphics device"),
        (VNC + "<graphics type='rdp' port='3389'/>", "rdp", "libvirt gives VNC and SPICE"),
        ("<graphics type='vnc' socket='/run/vm.sock'/>", "vnc", "listens on a UNIX socket"),
        ("<graphics type='spice'><listen type='none'/></graphics>", "spice", "listens nowhere"),
    ],
)
def test_no_console(
    make_host: Callable[..., Host], devices: str, protocol: str, message: str
) -> None:
    host = make_host(domain("vm", RUNNING, devices))

    with pytest.raises(NoConsole, match=message):
        host.backend(domains=["vm"]).console(ref("vm"), protocol)


def test_no_console_port_before_the_start(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm", SHUTOFF, VNC_AUTOPORT))

    with pytest.raises(NoConsole, match=r"its vnc console has no port \(not running\?\)"):
        host.backend(domains=["vm"]).console(ref("vm"), "vnc")


def remote(address: str | None = None) -> LibvirtBackend:
    """A backend for a remote hypervisor; made without connecting, and never connects."""
    table: dict[str, Any] = {"uri": "qemu+ssh://kvm1/system", "domains": ["vm"]}
    if address is not None:
        table["address"] = address
    options = LibvirtOptions.model_validate(table)
    return LibvirtBackend("lab", options, Connection(options.uri), changed=lambda: None)


def vnc_on(listen: str | None, kind: str = "address") -> Graphics:
    return Graphics("vnc", 5900, None, listen, kind, has_password=True)


def test_console_host_of_a_remote_hypervisor() -> None:
    assert remote()._host(ref("vm"), vnc_on("0.0.0.0")) == "kvm1"
    assert remote()._host(ref("vm"), vnc_on("::")) == "kvm1"
    assert remote("kvm1.lab.example")._host(ref("vm"), vnc_on("0.0.0.0")) == "kvm1.lab.example"
    assert remote()._host(ref("vm"), vnc_on("192.0.2.7")) == "192.0.2.7"
    assert remote()._host(ref("vm"), vnc_on("192.0.2.8", "network")) == "192.0.2.8"


@pytest.mark.parametrize("listen", ["127.0.0.1", "::1", "localhost"])
def test_console_on_loopback_of_a_remote_hypervisor_is_refused(listen: str) -> None:
    with pytest.raises(NoConsole, match=f"listens on {listen} of kvm1, which launchers cannot"):
        remote()._host(ref("vm"), vnc_on(listen))


# Console passwords


def valid_to(device: Element) -> datetime:
    return datetime.strptime(device.get("passwdValidTo") or "", "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("protocol", "length", "port"),
    [("vnc", domxml.VNC_PASSWORD_LENGTH, "5931"), ("spice", domxml.SPICE_PASSWORD_LENGTH, "5932")],
)
def test_console_password_is_set_on_the_running_domain(
    make_host: Callable[..., Host],
    device_updates: DeviceUpdates,
    protocol: str,
    length: int,
    port: str,
) -> None:
    host = make_host(domain("vm", RUNNING, VNC + SPICE))
    backend = host.backend(domains=["vm"], console_ttl="90s")

    before = utcnow().replace(microsecond=0)
    ticket = backend.console_password(ref("vm"), protocol)
    after = utcnow()

    [(name, xml, flags, running)] = device_updates.calls
    assert (name, flags, running) == ("vm", libvirt.VIR_DOMAIN_AFFECT_LIVE, True)
    device = fromstring(xml)
    assert (device.tag, device.get("type"), device.get("port")) == ("graphics", protocol, port)
    assert device.get("passwd") == ticket.password
    assert len(ticket.password or "") == length
    assert ticket.password != ("vncpass1" if protocol == "vnc" else "spicepass1")
    assert device.get("connected") == "keep"
    assert ticket.expires_at == valid_to(device)
    assert before + timedelta(seconds=90) <= valid_to(device) <= after + timedelta(seconds=90)


def test_console_passwords_differ(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    host = make_host(domain("vm", RUNNING, VNC))
    backend = host.backend(domains=["vm"])

    first = backend.console_password(ref("vm"), "vnc")
    second = backend.console_password(ref("vm"), "vnc")

    assert first.password != second.password
    assert [fromstring(xml).get("passwd") for _, xml, _, _ in device_updates.calls] == [
        first.password,
        second.password,
    ]


def test_console_password_for_rdp_is_none(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    host = make_host(domain("vm", RUNNING, VNC))

    assert host.backend(domains=["vm"]).console_password(ref("vm"), "rdp") == ConsoleTicket(
        password=None
    )
    assert device_updates.calls == []


def test_console_password_without_the_device(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    host = make_host(domain("vm", RUNNING, VNC))

    with pytest.raises(NoConsole, match="vm: the domain has no spice graphics device"):
        host.backend(domains=["vm"]).console_password(ref("vm"), "spice")
    assert device_updates.calls == []


def test_console_started_without_a_password(
    make_host: Callable[..., Host], device_updates: DeviceUpdates
) -> None:
    bare = "<graphics type='vnc' port='5931' autoport='no' listen='0.0.0.0'/>"
    host = make_host(domain("vm", RUNNING, bare))
    # What libvirt says when QEMU's display runs without password authentication.
    device_updates.live_error = (
        "internal error: unable to execute QEMU command 'set_password': Could not set password"
    )

    with pytest.raises(NoConsole, match="power the machine off and on once"):
        host.backend(domains=["vm"]).console_password(ref("vm"), "vnc")

    assert [flags for _, _, flags, _ in device_updates.calls] == [
        libvirt.VIR_DOMAIN_AFFECT_LIVE,
        libvirt.VIR_DOMAIN_AFFECT_CONFIG,
    ]
    [configured] = graphics_of(host, "vm", SECURE_CONFIG)
    assert len(configured.get("passwd") or "") == domxml.VNC_PASSWORD_LENGTH
    [live] = graphics_of(host, "vm")
    assert live.get("passwd") is None


def test_console_password_when_libvirt_cannot(make_host: Callable[..., Host]) -> None:
    # Not stubbed: the test driver's own answer stands for any other refusal.
    host = make_host(domain("vm", RUNNING, VNC))

    with pytest.raises(
        BackendError, match=r"cannot set the console password of vm: .*virDomainUpdateDeviceFlags"
    ):
        host.backend(domains=["vm"]).console_password(ref("vm"), "vnc")


# Clones


def overlay_of(host: Host, name: str) -> Element:
    return fromstring(
        host.conn.storagePoolLookupByName("default")
        .storageVolLookupByName(f"{name}.qcow2")
        .XMLDesc(0)
    )


def test_provision_makes_an_overlay_and_a_tagged_domain(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE)

    host.backend(clones=CLONES).provision("lab-1")

    overlay = overlay_of(host, "lab-1")
    assert overlay.findtext("./target/path") == "/pool/lab-1.qcow2"
    assert overlay.find("./target/format").get("type") == "qcow2"
    assert overlay.findtext("./backingStore/path") == "/pool/golden.qcow2"
    assert overlay.find("./backingStore/format").get("type") == "qcow2"
    assert overlay.findtext("capacity") == str(10 << 30)
    clone = host.domain("lab-1")
    assert clone.state()[0] == SHUTOFF
    metadata = clone.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, domxml.NAMESPACE, 0)
    assert domxml.pool_of(metadata) == "lab"
    assert clone.UUIDString() != host.domain("golden").UUIDString()
    assert domxml.disk_sources(clone.XMLDesc(0)) == ["/pool/lab-1.qcow2"]
    [vnc] = graphics_of(host, "lab-1", SECURE_CONFIG)
    assert len(vnc.get("passwd") or "") == domxml.VNC_PASSWORD_LENGTH
    assert vnc.get("passwd") != "vncpass1"  # its own, not the template's
    assert host.volumes() == {"golden.qcow2", "lab-1.qcow2"}


def test_provision_from_a_named_golden_image(make_host: Callable[..., Host]) -> None:
    template = domain("golden", SHUTOFF, disk("/srv/elsewhere.img") + VNC_AUTOPORT)
    host = make_host(template, pools=[storage(volume("win11.img", 40, "raw"), name="fast")])

    host.backend(clones={**CLONES, "image": "win11.img", "storage_pool": "fast"}).provision("c-1")

    overlay = fromstring(
        host.conn.storagePoolLookupByName("fast").storageVolLookupByName("c-1.qcow2").XMLDesc(0)
    )
    assert overlay.findtext("./backingStore/path") == "/pool/win11.img"
    assert overlay.find("./backingStore/format").get("type") == "raw"
    assert overlay.findtext("capacity") == str(40 << 30)


def test_provision_refuses_when_storage_is_short(make_host: Callable[..., Host]) -> None:
    # 100 GiB, of which the golden image takes 10 and another volume 89: 1 GiB free.
    host = make_host(TEMPLATE, pools=[storage(GOLDEN, volume("big.img", 89))])

    with pytest.raises(StorageFull, match="has 1024 MiB free, less than the pool's min_free"):
        host.backend(clones={**CLONES, "min_free": "2GiB"}).provision("c-1")
    assert host.names() == {"golden"}
    assert host.volumes() == {"golden.qcow2", "big.img"}


@pytest.mark.parametrize(
    ("clones", "message"),
    [
        ({"template": "nope"}, "the clone template 'nope' is not a domain on this hypervisor"),
        ({"image": "nope.qcow2"}, "the golden image 'nope.qcow2' is not in storage pool 'default'"),
        ({"storage_pool": "nope"}, "there is no storage pool 'nope' for the clones' disks"),
    ],
)
def test_provision_needs_template_image_and_storage(
    make_host: Callable[..., Host], clones: dict[str, str], message: str
) -> None:
    host = make_host(TEMPLATE)

    with pytest.raises(BackendError, match=message):
        host.backend(clones={**CLONES, **clones}).provision("c-1")
    assert host.names() == {"golden"}


def test_provision_needs_an_active_storage_pool(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE)
    host.conn.storagePoolLookupByName("default").destroy()

    with pytest.raises(BackendError, match="the storage pool 'default' is not active"):
        host.backend(clones=CLONES).provision("c-1")


def test_provision_needs_the_templates_disk_in_a_storage_pool(
    make_host: Callable[..., Host],
) -> None:
    host = make_host(domain("golden", SHUTOFF, disk("/srv/golden.qcow2")))

    with pytest.raises(BackendError, match=r"name the golden image with clones\.image"):
        host.backend(clones=CLONES).provision("c-1")


@pytest.mark.parametrize(
    ("left_domain", "left_volume"), [(True, True), (True, False), (False, True)]
)
def test_provision_cleans_up_a_half_made_clone(
    make_host: Callable[..., Host], left_domain: bool, left_volume: bool
) -> None:
    host = make_host(TEMPLATE)
    lab = host.backend(clones=CLONES)
    lab.provision("c-1")
    first_uuid = host.domain("c-1").UUIDString()
    if not left_domain:
        host.domain("c-1").undefine()
    if not left_volume:
        host.conn.storageVolLookupByPath("/pool/c-1.qcow2").delete(0)

    lab.provision("c-1")

    assert host.domain("c-1").UUIDString() != first_uuid
    assert host.volumes() == {"golden.qcow2", "c-1.qcow2"}
    assert lab.discover() == {"c-1": PowerState.STOPPED}


@pytest.mark.parametrize(("owner", "says"), [(None, "is not one"), ("other", "belongs to pool")])
def test_provision_leaves_a_domain_that_is_not_the_pools(
    make_host: Callable[..., Host], owner: str | None, says: str
) -> None:
    host = make_host(TEMPLATE, domain("c-1", RUNNING, disk("/pool/c-1.qcow2")))
    if owner is not None:
        host.tag("c-1", owner)

    with pytest.raises(BackendError, match=f"only machines it made for pool 'lab'.*{says}"):
        host.backend(clones=CLONES).provision("c-1")
    assert host.state("c-1")[0] == RUNNING
    assert host.volumes() == {"golden.qcow2"}


def test_destroy_deletes_the_clone_and_its_overlay_only(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE, pools=[storage(GOLDEN, volume("data.img", 1))])
    lab = host.backend(clones=CLONES)
    lab.provision("c-1")
    lab.provision("c-2")
    # An admin gave c-1 a data disk of its own: it is not the broker's to delete.
    xml = host.domain("c-1").XMLDesc(
        libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    )
    extra = (
        "<disk type='file' device='disk'><source file='/pool/data.img'/><target dev='vdb'/></disk>"
    )
    host.conn.defineXML(xml.replace("</devices>", extra + "</devices>"))
    lab.power_on(ref("c-1"), "vnc")

    lab.destroy(ref("c-1"))

    assert host.names() == {"golden", "c-2"}
    assert host.volumes() == {"golden.qcow2", "data.img", "c-2.qcow2"}


def test_a_template_with_two_disks_is_refused(make_host: Callable[..., Host]) -> None:
    # Every clone would share the second disk, writable.
    template = domain(
        "golden",
        SHUTOFF,
        disk("/pool/golden.qcow2")
        + "<disk type='file' device='disk'><source file='/pool/data.img'/>"
        "<target dev='vdb'/></disk>",
    )
    host = make_host(template, pools=[storage(GOLDEN, volume("data.img", 1))])

    with pytest.raises(BackendError, match="'golden' has 2 disks; clones copy one"):
        host.backend(clones=CLONES).provision("c-1")
    assert host.names() == {"golden"}


@pytest.mark.parametrize(("owner", "says"), [(None, "is not one"), ("other", "belongs to pool")])
def test_destroy_refuses_a_domain_that_is_not_the_pools(
    make_host: Callable[..., Host], owner: str | None, says: str
) -> None:
    host = make_host(TEMPLATE, domain("vm", RUNNING, disk("/pool/golden.qcow2")))
    if owner is not None:
        host.tag("vm", owner)

    with pytest.raises(BackendError, match=says):
        host.backend(clones=CLONES).destroy(ref("vm"))
    assert host.state("vm")[0] == RUNNING
    assert host.volumes() == {"golden.qcow2"}


def test_destroy_of_an_unknown_domain(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE)

    with pytest.raises(MachineMissing, match="there is no domain 'c-9' to delete"):
        host.backend(clones=CLONES).destroy(ref("c-9"))


def test_recycle_rebuilds_a_clone(make_host: Callable[..., Host]) -> None:
    host = make_host(TEMPLATE)
    lab = host.backend(clones=CLONES)
    lab.provision("c-1")
    lab.power_on(ref("c-1"), "vnc")
    used = host.domain("c-1").UUIDString()

    lab.recycle(ref("c-1"), RecycleMode.REBUILD)

    assert host.domain("c-1").UUIDString() != used
    assert host.state("c-1")[0] == SHUTOFF
    assert host.volumes() == {"golden.qcow2", "c-1.qcow2"}
    # One that is gone already is made afresh.
    host.domain("c-1").undefine()
    lab.recycle(ref("c-1"), RecycleMode.REBUILD)
    assert lab.discover() == {"c-1": PowerState.STOPPED}


# Errors


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.power_state(ref("nope")),
        lambda b: b.power_on(ref("nope"), "vnc"),
        lambda b: b.power_off(ref("nope")),
        lambda b: b.reset(ref("nope")),
        lambda b: b.restart(ref("nope")),
        lambda b: b.recycle(ref("nope"), RecycleMode.REVERT),
        lambda b: b.console(ref("nope"), "vnc"),
        lambda b: b.console_password(ref("nope"), "vnc"),
    ],
)
def test_an_unknown_domain_is_missing(
    make_host: Callable[..., Host], call: Callable[[LibvirtBackend], object]
) -> None:
    host = make_host(domain("vm"))

    with pytest.raises(MachineMissing, match=r"libvirt at test:///.* has no domain 'nope'"):
        call(host.backend(domains=["nope"]))


@pytest.mark.parametrize(
    "uri", ["test:///nonexistent/node.xml", "qemu+unix:///system?socket=/nonexistent/libvirt-sock"]
)
def test_an_unreachable_hypervisor(make_host: Callable[..., Host], uri: str) -> None:
    backend = make_host(uri=uri).backend(domains=["vm"])

    for call in (backend.check, backend.discover, lambda: backend.power_state(ref("vm"))):
        with pytest.raises(
            HypervisorUnavailable, match=re.escape(f"cannot connect to libvirt at {uri}")
        ):
            call()


def test_the_connection_is_opened_afresh_after_a_failure(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    node = tmp_path / "later.xml"
    backend = make_host(uri=f"test://{node}").backend(domains=["vm"])
    with pytest.raises(HypervisorUnavailable):
        backend.check()

    node.write_text(f"<node>{domain('vm')}</node>")

    backend.check()
    assert backend.discover() == {"vm": PowerState.RUNNING}


def test_a_connection_that_died_is_replaced(make_host: Callable[..., Host]) -> None:
    host = make_host(domain("vm"))
    backend = host.backend(domains=["vm"])
    backend.power_off(ref("vm"))
    first = host.conn

    first.close()  # as if libvirtd went away under the node

    assert backend.discover() == {"vm": PowerState.RUNNING}  # the node file's state again
    assert host.conn is not first


@pytest.mark.parametrize(
    ("error", "raised", "message"),
    [
        (
            driver_error(
                "Cannot access storage file '/pool/vm.qcow2': No such file or directory",
                libvirt.VIR_ERR_SYSTEM_ERROR,
                libvirt.VIR_FROM_STORAGE,
            ),
            BackendError,
            "cannot start vm: Cannot access storage file",
        ),
        (
            driver_error(
                "unable to write /var/lib/libvirt/qemu/vm.xml: No space left on device",
                libvirt.VIR_ERR_SYSTEM_ERROR,
            ),
            StorageFull,
            "cannot start vm: .*No space left on device",
        ),
    ],
)
def test_a_disk_error_is_the_machines_not_the_hypervisors(
    make_host: Callable[..., Host],
    monkeypatch: pytest.MonkeyPatch,
    error: Any,
    raised: type[BackendError],
    message: str,
) -> None:
    # libvirt reports a missing or full disk with the code of a broken connection
    # (VIR_ERR_SYSTEM_ERROR), from another part of it than the RPC layer.
    def create(_domain: Any) -> int:
        raise error

    monkeypatch.setattr(libvirt.virDomain, "create", create)
    host = make_host(domain("vm", SHUTOFF))
    backend = host.backend(domains=["vm"])
    connected = host.conn

    with pytest.raises(raised, match=message) as caught:
        backend.power_on(ref("vm"), "vnc")

    assert not isinstance(caught.value, HypervisorUnavailable)
    assert host.conn is connected  # not dropped: other pools on the host go on


def test_a_broken_connection_is_the_hypervisors(
    make_host: Callable[..., Host], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a remote connection says when libvirtd goes away in the middle of a call.
    def create(_domain: Any) -> int:
        raise driver_error(
            "End of file while reading data: Input/output error",
            libvirt.VIR_ERR_SYSTEM_ERROR,
            libvirt.VIR_FROM_RPC,
        )

    monkeypatch.setattr(libvirt.virDomain, "create", create)
    host = make_host(domain("vm", SHUTOFF))
    backend = host.backend(domains=["vm"])
    connected = host.conn

    with pytest.raises(HypervisorUnavailable, match="failed to start vm: End of file"):
        backend.power_on(ref("vm"), "vnc")

    assert host.conn is not connected  # opened afresh


def test_events_still_arrive_after_the_connection_was_replaced(
    make_host: Callable[..., Host],
) -> None:
    host = make_host()
    told = threading.Event()
    backend = host.backend(domains=["vm"], changed=told.set)
    host.conn.close()  # as if libvirtd went away under the node

    backend.check()
    host.conn.defineXML(domain("vm", SHUTOFF))

    assert told.wait(5), "no event from the new connection"


# The kind, and the node's backends


def test_kind_options() -> None:
    stored = KIND.options({"uri": "test:///x", "clones": CLONES, "shutdown_timeout": "2m"})

    assert stored == {
        "uri": "test:///x",
        "clones": {"template": "golden", "max": 5},
        "shutdown_timeout": "120s",
        "console_ttl": "60s",
    }
    assert KIND.clone_limit(stored) == 5
    assert KIND.clone_limit(KIND.options({"uri": "test:///x", "tagged": True})) is None
    assert KIND.discovers
    assert KIND.recycle_modes == frozenset(RecycleMode)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "exactly one of domains, name_pattern, tagged = true or .*this table has 0"),
        ({"tagged": True, "domains": ["a"]}, r"this table has 2 \(domains, tagged\)"),
        ({"tagged": True, "console_ttl": "5s"}, "give a launcher at least 10s to connect"),
    ],
)
def test_kind_options_say_what_to_fix(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KIND.options({"uri": "test:///x", **table})


def test_pools_on_one_hypervisor_share_its_connection(make_host: Callable[..., Host]) -> None:
    uri = make_host(TEMPLATE).uri
    backends = Backends()
    try:
        lab = backends.for_pool(
            "lab", {**KIND.options({"uri": uri, "clones": CLONES}), "type": "libvirt"}
        )
        named = backends.for_pool(
            "named", {**KIND.options({"uri": uri, "domains": ["c-1"]}), "type": "libvirt"}
        )

        lab.provision("c-1")

        # A second connection to the node file would not see what the first made.
        assert named.discover() == {"c-1": PowerState.STOPPED}
        assert named.power_on(ref("c-1", "named"), "vnc") == Power(
            running=False, retry_after=START_RETRY_AFTER_S
        )
        assert lab.discover() == {"c-1": PowerState.RUNNING}
    finally:
        backends.close()


def test_domain_events_tell_the_pools_that_select_the_domain(
    make_host: Callable[..., Host],
) -> None:
    uri = make_host(TEMPLATE).uri
    shared = Shared()
    told: dict[str, int] = {"lab": 0, "named": 0, "elsewhere": 0}
    lock = threading.Lock()

    def context(pool_id: str) -> Context:
        def changed() -> None:
            with lock:
                told[pool_id] += 1

        return Context(pool_id=pool_id, shared=shared, changed=changed)

    def heard() -> dict[str, int]:
        with lock:
            return dict(told)

    try:
        lab = KIND.create(KIND.options({"uri": uri, "clones": CLONES}), context("lab"))
        KIND.create(KIND.options({"uri": uri, "domains": ["c-1"]}), context("named"))
        KIND.create(KIND.options({"uri": uri, "name_pattern": "x-*"}), context("elsewhere"))

        lab.provision("c-1")  # defined
        wait_for(lambda: heard()["named"] >= 1, 5, "the event of c-1's definition")
        lab.power_on(ref("c-1"), "vnc")  # started
        wait_for(lambda: heard()["named"] >= 2, 5, "the event of c-1's start")
        lab.destroy(ref("c-1"))  # stopped, undefined
        wait_for(lambda: heard()["named"] >= 4, 5, "the events of c-1's end")

        # A clone pool cannot tell from a name whether a domain is its own: it looks.
        assert heard() == {"lab": 4, "named": 4, "elsewhere": 0}
    finally:
        shared.close()
