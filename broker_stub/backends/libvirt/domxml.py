"""Read and write libvirt domain XML: consoles, console passwords, clones, Rubicon's tag.

Pure functions on strings, so each can be tested against recorded XML without
a hypervisor. Nothing here logs: console passwords pass through.
"""

from __future__ import annotations

import ipaddress
import secrets
import string
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from defusedxml.ElementTree import fromstring

# Rubicon's metadata element: <rubicon:machine xmlns:rubicon=NS pool="lab"/>.
NAMESPACE = "https://rubicon-vdi.org/xmlns/libvirt/machine/1"
PREFIX = "rubicon"
ELEMENT = "machine"
_ANY = {"0.0.0.0", "::", ""}  # noqa: S104 (recognised, not bound)
# QEMU refuses VNC passwords longer than 8 characters (VNC uses only 8).
VNC_PASSWORD_LENGTH = 8
SPICE_PASSWORD_LENGTH = 20
_ALPHABET = string.ascii_letters + string.digits


def random_password(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class DomainXmlError(ValueError):
    """The XML lacks what Rubicon needs; the message says what."""


@dataclass(frozen=True)
class Graphics:
    """One <graphics> device of a running domain, as the live XML has it."""

    protocol: str  # "vnc" or "spice"
    port: int | None  # None: no plain port (SPICE with a TLS port only), or not running
    tls_port: int | None
    listen: str | None  # the address it listens on; None: a UNIX socket or no listener
    listen_kind: str  # "address", "network", "socket" or "none"
    has_password: bool


def graphics(xml: str) -> list[Graphics]:
    """Every VNC and SPICE console of the domain, in document order."""
    found = []
    for node in fromstring(xml).findall("./devices/graphics"):
        protocol = node.get("type", "")
        if protocol not in ("vnc", "spice"):
            continue
        listen_kind, listen = _listen(node)
        found.append(
            Graphics(
                protocol=protocol,
                port=_port(node.get("port")),
                tls_port=_port(node.get("tlsPort")),
                listen=listen,
                listen_kind=listen_kind,
                has_password=node.get("passwd") is not None,
            )
        )
    return found


def _port(value: str | None) -> int | None:
    # -1 (and 0) mean "picked when the domain starts": no port yet.
    if value is None or not value.lstrip("-").isdigit():
        return None
    port = int(value)
    return port if port > 0 else None


def _listen(node: ET.Element) -> tuple[str, str | None]:
    """(kind, address) of a graphics element: the first <listen> child wins over the
    old `listen` attribute, as in libvirt."""
    child = node.find("listen")
    if child is not None:
        kind = child.get("type", "address")
        if kind in ("address", "network"):
            return kind, child.get("address")
        return kind, None
    if node.get("socket"):
        return "socket", None
    return "address", node.get("listen")


def is_any_address(address: str | None) -> bool:
    """0.0.0.0, :: and no address at all mean every interface of the host."""
    return address is None or address in _ANY


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def password_update(xml: str, protocol: str, password: str, valid_to: datetime | None) -> str:
    """The domain's <graphics> device for `protocol` with a new password, for
    virDomainUpdateDeviceFlags. With `valid_to` (UTC) it works until then, and
    clients already connected keep their connection (a live domain); without,
    it is the password the domain's configuration starts with."""
    for node in fromstring(xml).findall("./devices/graphics"):
        if node.get("type") != protocol:
            continue
        node.set("passwd", password)
        node.attrib.pop("passwdValidTo", None)
        node.attrib.pop("connected", None)
        if valid_to is not None:
            node.set("passwdValidTo", valid_to.strftime("%Y-%m-%dT%H:%M:%S"))
            node.set("connected", "keep")
        return ET.tostring(node, encoding="unicode")
    raise DomainXmlError(f"the domain has no {protocol} graphics device")


def pool_of(metadata: str) -> str | None:
    """The pool named by Rubicon's metadata element (as virDomainGetMetadata returns it)."""
    try:
        node = fromstring(metadata)
    except ET.ParseError:
        return None
    return node.get("pool") or None


def metadata_element(pool_id: str) -> str:
    """The element virDomainSetMetadata stores for a machine of `pool_id`."""
    node = ET.Element(ELEMENT, {"pool": pool_id})
    return ET.tostring(node, encoding="unicode")


def disk_sources(xml: str) -> list[str]:
    """The files of the domain's disks (not CD-ROMs), in order."""
    paths = []
    for disk in fromstring(xml).findall("./devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        source = disk.find("source")
        path = None if source is None else (source.get("file") or source.get("dev"))
        if path:
            paths.append(path)
    return paths


def clone(template: str, *, name: str, disk: str, pool_id: str, password: str) -> str:
    """A new domain from the template's inactive XML: its own name, a new UUID,
    new MAC addresses and its own UEFI variables file (libvirt makes each when it
    is missing), the first disk on `disk` (a qcow2 overlay), consoles on automatic
    ports with an initial password, and Rubicon's metadata naming the pool."""
    root = fromstring(template)
    _set_text(root, "name", name)
    for tag in ("uuid", "genid"):
        for node in root.findall(tag):
            root.remove(node)
    for nvram in root.findall("./os/nvram"):
        # The template's own file: shared, and deleted with the clone (UNDEFINE_NVRAM).
        # Without a path libvirt makes one per domain from the `template` attribute.
        nvram.text = None
        nvram.attrib.pop("type", None)
        for child in list(nvram):
            nvram.remove(child)
    _replace_first_disk(root, disk)
    for interface in root.findall("./devices/interface"):
        for mac in interface.findall("mac"):
            interface.remove(mac)
        for target in interface.findall("target"):
            interface.remove(target)  # the tap device name is per domain
    for node in root.findall("./devices/graphics"):
        if node.get("type") not in ("vnc", "spice"):
            continue
        for attribute in ("port", "tlsPort", "websocket"):
            node.attrib.pop(attribute, None)
        node.set("autoport", "yes")
        node.set("passwd", password)
    _tag(root, pool_id)
    return ET.tostring(root, encoding="unicode")


def _set_text(root: ET.Element, tag: str, text: str) -> None:
    node = root.find(tag)
    if node is None:
        node = ET.SubElement(root, tag)
    node.text = text


def _replace_first_disk(root: ET.Element, path: str) -> None:
    for disk in root.findall("./devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        disk.set("type", "file")
        for source in disk.findall("source"):
            disk.remove(source)
        for backing in disk.findall("backingStore"):
            disk.remove(backing)
        source = ET.Element("source", {"file": path})
        disk.insert(1 if disk.find("driver") is not None else 0, source)
        driver = disk.find("driver")
        if driver is None:
            driver = ET.SubElement(disk, "driver", {"name": "qemu"})
        driver.set("type", "qcow2")
        return
    raise DomainXmlError("the template has no disk to clone")


def _tag(root: ET.Element, pool_id: str) -> None:
    """Rubicon's metadata element in the domain XML itself (libvirt keeps it as given)."""
    metadata = root.find("metadata")
    if metadata is None:
        metadata = ET.SubElement(root, "metadata")
    for node in list(metadata):
        if node.tag == f"{{{NAMESPACE}}}{ELEMENT}":
            metadata.remove(node)
    ET.register_namespace(PREFIX, NAMESPACE)
    ET.SubElement(metadata, f"{{{NAMESPACE}}}{ELEMENT}", {"pool": pool_id})


def volume(name: str, capacity: int, backing_path: str, backing_format: str) -> str:
    """Storage volume XML of a qcow2 overlay on `backing_path`."""
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(capacity)
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": "qcow2"})
    backing = ET.SubElement(root, "backingStore")
    ET.SubElement(backing, "path").text = backing_path
    ET.SubElement(backing, "format", {"type": backing_format})
    return ET.tostring(root, encoding="unicode")


def volume_format(xml: str) -> str:
    """The format of a storage volume ("qcow2", "raw"), from its XML."""
    node = fromstring(xml).find("./target/format")
    return "raw" if node is None else node.get("type", "raw")
