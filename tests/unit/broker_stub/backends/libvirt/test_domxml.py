"""domxml: domain XML as a libvirtd 9.0 with QEMU 7.2 gave it (tests/data/libvirt)."""

# ruff: noqa: E402 (the libvirt extra is optional: without it these tests are skipped)
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import pytest

EXTRA = "the libvirt extra: pip install 'rubicon[libvirt]'"
libvirt = pytest.importorskip("libvirt", reason=EXTRA)
pytest.importorskip("defusedxml", reason=EXTRA)

from defusedxml.common import EntitiesForbidden
from defusedxml.ElementTree import fromstring

from broker_stub.backends.libvirt import domxml
from broker_stub.backends.libvirt.domxml import DomainXmlError, Graphics

DATA = Path(__file__).parents[4] / "data" / "libvirt"
RECORDED_DISK = "/tmp/rubicon-libvirtd-x6v09fqi/images/recorded-vnc.qcow2"
INTERFACE = """<interface type='network'>
      <mac address='52:54:00:6e:2a:11'/>
      <source network='default'/>
      <target dev='vnet3'/>
      <model type='virtio'/>
    </interface>
    <audio """
CDROM = """<disk type='file' device='cdrom'>
      <source file='/srv/iso/installer.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <controller """
UEFI = """<boot dev='hd'/>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'
      >/var/lib/libvirt/qemu/nvram/golden_VARS.fd</nvram>"""
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE domain [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
  <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
  <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<domain type='qemu'><name>&i;</name><devices><disk device='disk'><source file='&i;'/></disk>
<graphics type='vnc' port='5900' passwd='&i;'/></devices></domain>"""


def recorded(name: str) -> str:
    return (DATA / f"{name}.xml").read_text()


def devices(xml: str, tag: str) -> list[Element]:
    return list(fromstring(xml).findall(f"./devices/{tag}"))


@pytest.fixture
def empty_host(tmp_path: Path) -> Iterator[Any]:
    """A test-driver host with nothing on it; a file of our own, so its state is ours."""
    node = tmp_path / "node.xml"
    node.write_text("<node/>")
    conn = libvirt.open(f"test://{node}")
    yield conn
    conn.close()


# graphics()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vnc-autoport", [Graphics("vnc", 15900, None, "127.0.0.1", "address", True)]),
        ("spice-autoport", [Graphics("spice", 15901, None, "127.0.0.1", "address", True)]),
        ("spice-tls", [Graphics("spice", 15900, 15901, "127.0.0.1", "address", True)]),
        (
            "vnc-and-spice",
            [
                Graphics("vnc", 15902, None, "127.0.0.1", "address", True),
                Graphics("spice", 15903, None, "127.0.0.1", "address", True),
            ],
        ),
        ("listen-any", [Graphics("vnc", 15900, None, "0.0.0.0", "address", True)]),
        ("no-graphics", []),
        # Defined, not started: autoport's port is -1, which is no port.
        ("shutoff", [Graphics("vnc", None, None, "127.0.0.1", "address", True)]),
    ],
)
def test_graphics_of_recorded_domains(name: str, expected: list[Graphics]) -> None:
    assert domxml.graphics(recorded(name)) == expected


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        # The <listen> child wins over the old attribute, as in libvirt.
        (
            "<graphics type='vnc' port='5931' listen='127.0.0.1'>"
            "<listen type='address' address='192.0.2.4'/></graphics>",
            Graphics("vnc", 5931, None, "192.0.2.4", "address", False),
        ),
        (
            "<graphics type='vnc' port='5931' listen='192.0.2.5'/>",
            Graphics("vnc", 5931, None, "192.0.2.5", "address", False),
        ),
        (
            "<graphics type='spice' port='5932'>"
            "<listen type='network' address='192.0.2.6' network='lan'/></graphics>",
            Graphics("spice", 5932, None, "192.0.2.6", "network", False),
        ),
        (
            "<graphics type='vnc' socket='/run/vm.sock'>"
            "<listen type='socket' socket='/run/vm.sock'/></graphics>",
            Graphics("vnc", None, None, None, "socket", False),
        ),
        (
            "<graphics type='vnc' socket='/run/vm.sock'/>",
            Graphics("vnc", None, None, None, "socket", False),
        ),
        (
            "<graphics type='spice' autoport='no'><listen type='none'/></graphics>",
            Graphics("spice", None, None, None, "none", False),
        ),
    ],
)
def test_graphics_listeners(device: str, expected: Graphics) -> None:
    xml = f"<domain><devices>{device}<graphics type='rdp' port='3389'/></devices></domain>"

    assert domxml.graphics(xml) == [expected]


# password_update()


def test_password_update_for_a_running_domain() -> None:
    valid_to = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    update = domxml.password_update(recorded("spice-tls"), "spice", "s3cret", valid_to)

    node = fromstring(update)
    assert node.tag == "graphics"
    assert node.attrib == {
        # The live device as it is, so libvirt changes nothing but the password.
        "type": "spice",
        "port": "15900",
        "tlsPort": "15901",
        "autoport": "yes",
        "listen": "127.0.0.1",
        "passwd": "s3cret",
        "passwdValidTo": "2030-01-02T03:04:05",
        "connected": "keep",
    }
    assert [child.attrib for child in node] == [{"type": "address", "address": "127.0.0.1"}]


def test_password_update_picks_the_protocols_device() -> None:
    xml = recorded("vnc-and-spice")

    vnc = fromstring(domxml.password_update(xml, "vnc", "a", None))
    spice = fromstring(domxml.password_update(xml, "spice", "b", None))

    assert (vnc.get("type"), vnc.get("port"), vnc.get("passwd")) == ("vnc", "15902", "a")
    assert (spice.get("type"), spice.get("port"), spice.get("passwd")) == ("spice", "15903", "b")


def test_password_update_replaces_an_old_expiry() -> None:
    xml = recorded("vnc-autoport").replace(
        "passwd='recorded1'",
        "passwd='recorded1' passwdValidTo='2020-05-05T05:05:05' connected='keep'",
    )

    later = domxml.password_update(xml, "vnc", "new", datetime(2031, 6, 7, 8, 9, 10, tzinfo=UTC))
    initial = domxml.password_update(xml, "vnc", "first", None)

    assert fromstring(later).get("passwdValidTo") == "2031-06-07T08:09:10"
    assert "2020-05-05" not in later
    # Without valid_to: the password a start begins with, which never expires.
    assert fromstring(initial).get("passwd") == "first"
    assert "passwdValidTo" not in fromstring(initial).attrib
    assert "connected" not in fromstring(initial).attrib


def test_password_update_needs_the_device() -> None:
    with pytest.raises(DomainXmlError, match="the domain has no spice graphics device"):
        domxml.password_update(recorded("vnc-autoport"), "spice", "pw", None)
    with pytest.raises(DomainXmlError, match="the domain has no vnc graphics device"):
        domxml.password_update(recorded("no-graphics"), "vnc", "pw", None)


# clone()


def test_clone_of_a_template(empty_host: Any) -> None:
    template = recorded("vnc-and-spice").replace("<audio ", INTERFACE)
    assert "<mac " in template
    assert "<uuid>" in template

    xml = domxml.clone(
        template, name="lab-7", disk="/pool/lab-7.qcow2", pool_id="lab", password="initial1"
    )

    root = fromstring(xml)
    assert root.findtext("name") == "lab-7"
    # libvirt makes a new UUID and MAC address when there is none.
    assert root.find("uuid") is None
    [interface] = devices(xml, "interface")
    assert interface.find("mac") is None
    assert interface.find("target") is None  # the template's tap device name
    assert interface.find("source").attrib == {"network": "default"}
    [disk] = devices(xml, "disk")
    assert disk.get("type") == "file"
    assert [s.attrib for s in disk.findall("source")] == [{"file": "/pool/lab-7.qcow2"}]
    assert disk.find("driver").attrib == {"name": "qemu", "type": "qcow2"}
    assert disk.find("backingStore") is None
    for graphics in devices(xml, "graphics"):
        assert graphics.get("autoport") == "yes"
        assert graphics.get("port") is None
        assert graphics.get("passwd") == "initial1"
    [tag] = root.findall(f"./metadata/{{{domxml.NAMESPACE}}}machine")
    assert tag.attrib == {"pool": "lab"}
    assert f'xmlns:rubicon="{domxml.NAMESPACE}"' in xml

    defined = empty_host.defineXML(xml)
    kept = defined.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, domxml.NAMESPACE, 0)
    assert domxml.pool_of(kept) == "lab"
    assert defined.UUIDString() != "b7876e0f-ad5d-4c07-8c53-7bd5aee1bb23"
    assert domxml.disk_sources(defined.XMLDesc(0)) == ["/pool/lab-7.qcow2"]


def test_clone_keeps_cdroms_and_replaces_only_the_first_disk() -> None:
    template = recorded("shutoff").replace("<controller ", CDROM, 1)
    template = template.replace(
        "</devices>",
        "<disk type='file' device='disk'><source file='/srv/data.img'/>"
        "<target dev='vdb'/></disk></devices>",
    )

    xml = domxml.clone(template, name="c", disk="/pool/c.qcow2", pool_id="p", password="x")

    assert domxml.disk_sources(xml) == ["/pool/c.qcow2", "/srv/data.img"]
    assert [d.get("device") for d in devices(xml, "disk")] == ["disk", "cdrom", "disk"]
    assert devices(xml, "disk")[1].find("source").get("file") == "/srv/iso/installer.iso"


def test_clone_gets_its_own_uefi_variables(empty_host: Any) -> None:
    """The template's NVRAM path would be shared by every clone, and deleted with
    the first clone the broker destroys (VIR_DOMAIN_UNDEFINE_NVRAM)."""
    template = recorded("shutoff").replace("<boot dev='hd'/>", UEFI)

    xml = domxml.clone(template, name="c", disk="/pool/c.qcow2", pool_id="p", password="x")

    [nvram] = fromstring(xml).findall("./os/nvram")
    assert nvram.text is None
    assert nvram.attrib == {"template": "/usr/share/OVMF/OVMF_VARS_4M.fd"}
    assert "golden_VARS" not in xml
    empty_host.defineXML(xml)


def test_clone_replaces_a_tag_for_another_pool() -> None:
    template = recorded("shutoff").replace(
        "</devices>",
        f"</devices><metadata><rubicon:machine xmlns:rubicon='{domxml.NAMESPACE}' pool='old'/>"
        "<other xmlns='https://example.com/other'/></metadata>",
    )

    xml = domxml.clone(template, name="c", disk="/d.qcow2", pool_id="new", password="x")

    metadata = fromstring(xml).find("metadata")
    assert metadata is not None
    assert [(node.tag, node.get("pool")) for node in metadata] == [
        ("{https://example.com/other}other", None),
        (f"{{{domxml.NAMESPACE}}}machine", "new"),
    ]


def test_clone_needs_a_disk() -> None:
    with pytest.raises(DomainXmlError, match="the template has no disk to clone"):
        domxml.clone(
            recorded("shutoff").replace("device='disk'", "device='cdrom'"),
            name="c",
            disk="/d.qcow2",
            pool_id="p",
            password="x",
        )


# Disks and volumes


def test_disk_sources() -> None:
    assert domxml.disk_sources(recorded("vnc-autoport")) == [RECORDED_DISK]
    assert domxml.disk_sources(recorded("vnc-autoport").replace("<controller ", CDROM, 1)) == [
        RECORDED_DISK
    ]
    block = (
        "<domain><devices><disk type='block'><source dev='/dev/vg/lab'/></disk></devices></domain>"
    )
    assert domxml.disk_sources(block) == ["/dev/vg/lab"]
    assert domxml.disk_sources("<domain><devices/></domain>") == []


def test_volume_is_an_overlay_on_the_backing_file() -> None:
    xml = domxml.volume("lab-7.qcow2", 10 << 30, "/pool/golden.img", "raw")

    root = fromstring(xml)
    assert root.findtext("name") == "lab-7.qcow2"
    assert root.find("capacity").attrib == {"unit": "bytes"}
    assert root.findtext("capacity") == str(10 << 30)
    assert root.find("./target/format").attrib == {"type": "qcow2"}
    assert root.findtext("./backingStore/path") == "/pool/golden.img"
    assert root.find("./backingStore/format").attrib == {"type": "raw"}
    assert domxml.volume_format(xml) == "qcow2"


def test_volume_format() -> None:
    qcow2 = "<volume><target><path>/p/a</path><format type='qcow2'/></target></volume>"

    assert domxml.volume_format(qcow2) == "qcow2"
    assert domxml.volume_format("<volume><target><path>/p/a</path></target></volume>") == "raw"


# Rubicon's tag


def test_metadata_element_and_pool_of() -> None:
    element = domxml.metadata_element("lab")

    assert fromstring(element).tag == "machine"
    assert domxml.pool_of(element) == "lab"
    # virDomainGetMetadata gives the element back with its namespace declared.
    assert domxml.pool_of(f'<machine xmlns="{domxml.NAMESPACE}" pool="lab"/>') == "lab"
    assert domxml.pool_of("<machine/>") is None
    assert domxml.pool_of('<machine pool=""/>') is None
    assert domxml.pool_of("not xml <") is None


# Addresses


@pytest.mark.parametrize(
    ("address", "any_address"),
    [("0.0.0.0", True), ("::", True), ("", True), (None, True), ("127.0.0.1", False),
     ("192.0.2.1", False), ("kvm1.example.com", False)],
)  # fmt: skip
def test_is_any_address(address: str | None, any_address: bool) -> None:
    assert domxml.is_any_address(address) is any_address


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.0.2.1", False), ("kvm1", False)],
)  # fmt: skip
def test_is_loopback(address: str, loopback: bool) -> None:
    assert domxml.is_loopback(address) is loopback


def test_random_password() -> None:
    passwords = {domxml.random_password(domxml.SPICE_PASSWORD_LENGTH) for _ in range(50)}

    assert len(passwords) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{20}", password) for password in passwords)


# Hostile and broken XML


@pytest.mark.parametrize(
    "read",
    [
        domxml.graphics,
        domxml.disk_sources,
        domxml.volume_format,
        domxml.pool_of,
        lambda xml: domxml.password_update(xml, "vnc", "pw", None),
        lambda xml: domxml.clone(xml, name="c", disk="/d", pool_id="p", password="x"),
    ],
)
def test_entities_are_refused_not_expanded(read: Callable[[str], object]) -> None:
    with pytest.raises(EntitiesForbidden):
        read(BILLION_LAUGHS)


def test_malformed_xml_is_an_error() -> None:
    with pytest.raises(ParseError):
        domxml.graphics("<domain><devices><graphics type='vnc'></devices>")
    with pytest.raises(ParseError):
        domxml.disk_sources("")
