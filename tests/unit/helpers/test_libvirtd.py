"""The private libvirtd (real QEMU, TCG) the libvirt backend's tests run against."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from broker_stub.demo.xdisplay import port_open
from tests.helpers.e2e import pid_alive, wait_for
from tests.helpers.libvirtd import (
    GUEST_PASSWORD,
    Guests,
    Libvirtd,
    graphics_ports,
    guest_xml,
    libvirt,
    require_libvirtd,
    start_libvirtd,
    vnc_password_accepted,
)

e2e = pytest.mark.e2e


def live_xml(daemon: Libvirtd, name: str, flags: int = 0) -> str:
    with daemon.connect() as conn:
        return str(conn.lookupByName(name).XMLDesc(flags))


def vnc_port(daemon: Libvirtd, name: str) -> int:
    port = graphics_ports(live_xml(daemon, name))["vnc"]
    wait_for(lambda: port_open("127.0.0.1", port), 10, f"{name}'s VNC port {port}")
    return port


def qemu_pid(daemon: Libvirtd, name: str) -> int:
    (pid,) = [
        pid
        for pid in daemon.qemu_pids()
        if f"guest={name},".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return pid


def set_console_password(
    daemon: Libvirtd, name: str, kind: str, password: str, valid_to: str = "2030-01-01T00:00:00"
) -> None:
    """What the broker does: the live <graphics> with a new passwd, applied to the running guest."""
    with daemon.connect() as conn:
        dom = conn.lookupByName(name)
        live = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))  # noqa: S314
        graphics = live.find(f"devices/graphics[@type='{kind}']")
        assert graphics is not None
        graphics.set("passwd", password)
        graphics.set("passwdValidTo", valid_to)
        graphics.set("connected", "keep")
        dom.updateDeviceFlags(
            ET.tostring(graphics, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE
        )


def rfb_banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        return sock.recv(12)


# -- the guests ----------------------------------------------------------------------


@e2e
def test_a_guest_starts_and_its_vnc_port_answers(
    libvirtd: Libvirtd, libvirt_guests: Guests
) -> None:
    name = libvirt_guests.define()
    port = vnc_port(libvirtd, name)
    assert port in libvirtd.ports
    assert rfb_banner(port) == b"RFB 003.008\n"
    assert vnc_password_accepted(port, GUEST_PASSWORD)
    assert not vnc_password_accepted(port, "wrong")
    pid = qemu_pid(libvirtd, name)
    assert b"\0-accel\0tcg\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert f"-name guest={name}" in libvirtd.guest_log(name)


@e2e
def test_a_one_time_password_replaces_the_initial_one(
    libvirtd: Libvirtd, libvirt_guests: Guests
) -> None:
    name = libvirt_guests.define(graphics=("vnc", "spice"))
    port = vnc_port(libvirtd, name)

    set_console_password(libvirtd, name, "vnc", "once1234")
    set_console_password(libvirtd, name, "spice", "sp-once")

    assert vnc_password_accepted(port, "once1234")
    assert not vnc_password_accepted(port, GUEST_PASSWORD)
    secure = live_xml(libvirtd, name, libvirt.VIR_DOMAIN_XML_SECURE)
    assert "passwd='once1234' passwdValidTo='2030-01-01T00:00:00'" in secure
    assert "passwd='sp-once'" in secure
    assert "passwd=" not in live_xml(libvirtd, name)  # only with the secure flag


@e2e
def test_an_expired_password_is_refused(libvirtd: Libvirtd, libvirt_guests: Guests) -> None:
    name = libvirt_guests.define()
    port = vnc_port(libvirtd, name)
    set_console_password(libvirtd, name, "vnc", "gone1234", valid_to="2001-01-01T00:00:00")
    assert not vnc_password_accepted(port, "gone1234")


@e2e
def test_without_an_initial_password_qemu_refuses_one(
    libvirtd: Libvirtd, libvirt_guests: Guests
) -> None:
    name = libvirt_guests.define(password=None)
    vnc_port(libvirtd, name)
    with pytest.raises(libvirt.libvirtError, match="Could not set password"):
        set_console_password(libvirtd, name, "vnc", "once1234")


@e2e
def test_libvirtd_restarts_and_finds_its_running_guest(
    libvirtd: Libvirtd, libvirt_guests: Guests
) -> None:
    name = libvirt_guests.define()
    port = vnc_port(libvirtd, name)
    pid, virtlogd = qemu_pid(libvirtd, name), libvirtd.virtlogd_pid

    libvirtd.stop_libvirtd()
    assert not libvirtd.libvirtd_running
    assert libvirtd.virsh("list", check=False).returncode != 0
    assert pid_alive(pid)
    assert pid_alive(virtlogd)
    assert rfb_banner(port) == b"RFB 003.008\n"  # the guest's console outlives libvirtd

    libvirtd.start_libvirtd()
    assert libvirtd.virtlogd_pid == virtlogd
    with libvirtd.connect() as conn:
        assert conn.lookupByName(name).isActive()
    assert graphics_ports(live_xml(libvirtd, name))["vnc"] == port
    assert qemu_pid(libvirtd, name) == pid
    set_console_password(libvirtd, name, "vnc", "after123")
    assert vnc_password_accepted(port, "after123")


@e2e
def test_a_test_cleans_up_its_guests_pools_and_disks_only(
    libvirtd: Libvirtd, libvirt_guests: Guests
) -> None:
    mine = Guests(libvirtd, f"{libvirt_guests.prefix}a-")
    other = Guests(libvirtd, f"{libvirt_guests.prefix}b-")
    running, stopped = mine.define("running"), mine.define("stopped", start=False)
    others = other.define()
    base = mine.disk("base")
    overlay = mine.disk("overlay", backing=base)
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", str(overlay)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(info.stdout)["backing-filename"] == str(base)
    pool_dir = libvirtd.images / mine.name("pool")
    pool_dir.mkdir()
    with libvirtd.connect() as conn:
        pool = conn.storagePoolDefineXML(
            f"<pool type='dir'><name>{mine.name('pool')}</name>"
            f"<target><path>{pool_dir}</path></target></pool>"
        )
        pool.create()
        transient = conn.createXML(guest_xml(mine.name("transient"), None))
        assert transient.isActive()

    mine.cleanup()

    with libvirtd.connect() as conn:
        names = {dom.name() for dom in conn.listAllDomains()}
        pools = {pool.name() for pool in conn.listAllStoragePools()}
    assert {running, stopped, mine.name("transient")}.isdisjoint(names)
    assert others in names
    assert mine.name("pool") not in pools
    assert not [p for p in libvirtd.images.iterdir() if p.name.startswith(mine.prefix)]
    assert (libvirtd.images / f"{others}.qcow2").exists()
    other.cleanup()


@e2e
def test_virsh_runs_against_the_private_daemon(libvirtd: Libvirtd, libvirt_guests: Guests) -> None:
    name = libvirt_guests.define(start=False)
    assert name in libvirtd.virsh("list", "--all", "--name").stdout.split()
    assert libvirtd.virsh("domstate", name).stdout.strip() == "shut off"
    assert "port='-1' autoport='yes'" in libvirtd.virsh("dumpxml", name).stdout


# -- the daemon ----------------------------------------------------------------------


@e2e
def test_the_daemon_is_private(libvirtd: Libvirtd) -> None:
    # Its directories are mounted where only it sees them...
    assert str(libvirtd.root) not in Path("/proc/self/mountinfo").read_text()
    ours = (libvirtd.root / "etc" / "qemu.conf").read_text()
    seen = Path(f"/proc/{libvirtd.libvirtd_pid}/root/etc/libvirt/qemu.conf").read_text()
    assert seen == ours
    assert f"remote_display_port_min = {libvirtd.ports.start}" in ours
    # ...with virtlogd, in a namespace that is not ours.
    namespace = os.readlink(f"/proc/{libvirtd.libvirtd_pid}/ns/mnt")
    assert namespace == os.readlink(f"/proc/{libvirtd.virtlogd_pid}/ns/mnt")
    assert namespace != os.readlink("/proc/self/ns/mnt")
    assert libvirtd.uri.startswith(f"qemu:///system?socket={libvirtd.root}/")


@e2e
def test_spice_tls_serves_the_certificate_it_names() -> None:
    daemon = start_libvirtd(spice_tls=True)
    try:
        name = Guests(daemon, "tls-").define(graphics=("spice",))
        ports = graphics_ports(live_xml(daemon, name))
        assert set(ports) == {"spice", "spice-tls"}
        wait_for(lambda: port_open("127.0.0.1", ports["spice-tls"]), 10, "the SPICE TLS port")
        assert daemon.spice_ca_file is not None
        context = ssl.create_default_context(cafile=daemon.spice_ca_file)
        with (
            socket.create_connection(("127.0.0.1", ports["spice-tls"]), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}
    finally:
        daemon.stop()


@e2e
def test_stop_ends_daemons_guests_and_files() -> None:
    daemon = start_libvirtd()
    try:
        guests = Guests(daemon, "stop-")
        name = guests.define(graphics=("vnc", "spice"))
        port = vnc_port(daemon, name)
        pids = [daemon.libvirtd_pid, daemon.virtlogd_pid, qemu_pid(daemon, name)]
        daemon.stop_libvirtd()  # stop() must also end a guest libvirtd no longer knows
    finally:
        daemon.stop()
    assert not [pid for pid in pids if pid_alive(pid)]
    assert daemon.qemu_pids() == []
    assert not daemon.root.exists()
    assert not port_open("127.0.0.1", port)


# -- without libvirt ------------------------------------------------------------------


def test_a_missing_program_skips_naming_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUBICON_REQUIRE_E2E", raising=False)
    monkeypatch.setattr(
        "tests.helpers.libvirtd.find_program", lambda name: None if name == "qemu-img" else name
    )
    with pytest.raises(pytest.skip.Exception, match="sudo apt-get install qemu-utils"):
        require_libvirtd()


def test_a_missing_program_fails_when_e2e_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUBICON_REQUIRE_E2E", "1")
    monkeypatch.setattr("tests.helpers.libvirtd.find_program", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install libvirt-daemon-system"):
        require_libvirtd()


def test_guest_xml_escapes_and_carries_metadata() -> None:
    xml = guest_xml(
        "a&b",
        Path("/images/it's.qcow2"),
        graphics=("vnc", "spice"),
        password="p'w<",
        metadata="<rubicon:pool xmlns:rubicon='urn:rubicon'>lab</rubicon:pool>",
    )
    root = ET.fromstring(xml)  # noqa: S314 - ours
    assert root.findtext("name") == "a&b"
    source = root.find("devices/disk/source")
    assert source is not None
    assert source.get("file") == "/images/it's.qcow2"
    graphics = root.findall("devices/graphics")
    assert [(g.get("type"), g.get("passwd"), g.get("listen")) for g in graphics] == [
        ("vnc", "p'w<", "127.0.0.1"),
        ("spice", "p'w<", "127.0.0.1"),
    ]
    assert root.findtext("metadata/{urn:rubicon}pool") == "lab"
    assert "passwd" not in guest_xml("x", None, password=None)
