"""``rubicon-broker demo --libvirt``: real QEMU machines instead of Xvnc desktops.

The demo makes, on the libvirt it is pointed at, a directory storage pool in
its temp dir, a blank 16 MiB golden image (the machines boot their BIOS and
show "No bootable device": a real virtual machine's console, with nothing
installed) and a template domain, and gives the broker a clone pool on them:
the broker makes the machines, keeps one spare powered on, hands out one-time
console passwords and rebuilds each machine after its user logs off. When
the demo stops, everything it and the broker made there is deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from types import TracebackType
from typing import Any

from broker_stub.backends.libvirt import INSTALL_HINT

GOLDEN = "golden.qcow2"
GOLDEN_BYTES = 16 << 20
MEMORY_MIB = 64
MAX_MACHINES = 3


class LibvirtDemoError(Exception):
    """The demo cannot use libvirt; the message says why and what to do."""


def default_uri() -> str:
    # Root talks to the system daemon; anybody else gets their own session daemon.
    return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"


class LibvirtSite:
    """The storage pool, golden image and template the demo's clone pool needs."""

    def __init__(self, uri: str, workdir: Path) -> None:
        self.uri = uri
        self.workdir = workdir
        tag = secrets.token_hex(3)
        self.storage_pool = f"rubicon-demo-{tag}"
        self.template = f"rubicon-demo-template-{tag}"
        self.pool_id = f"demo-{tag}"
        self._conn: Any = None

    def __enter__(self) -> LibvirtSite:
        try:
            import libvirt
        except ImportError:
            raise LibvirtDemoError(INSTALL_HINT) from None
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        try:
            self._conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise LibvirtDemoError(
                f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()}. "
                "Start libvirtd (sudo systemctl start libvirtd), or give another URI "
                "with --libvirt URI"
            ) from None
        try:
            self._make(libvirt)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _make(self, libvirt: Any) -> None:
        images = self.workdir / "images"
        images.mkdir()
        # QEMU may run as its own user (qemu:///system): it must reach the images.
        for folder in (self.workdir, images):
            folder.chmod(0o711)
        storage = self._conn.storagePoolDefineXML(_storage_xml(self.storage_pool, images), 0)
        storage.create(0)
        golden = storage.createXML(_blank_volume_xml(GOLDEN, GOLDEN_BYTES), 0)
        kind = "kvm" if Path("/dev/kvm").exists() else "qemu"
        self._conn.defineXML(_template_xml(self.template, golden.path(), kind))

    def pool_lines(self, users: list[str]) -> list[str]:
        """The demo pool's table in the pools file, entitled to `users`."""
        backend = {
            "type": "libvirt",
            "uri": self.uri,
            "shutdown_timeout": "5s",  # nothing installed answers ACPI: do not wait long
        }
        clones = {
            "template": self.template,
            "image": GOLDEN,
            "storage_pool": self.storage_pool,
            "max": MAX_MACHINES,
            "min_free": "64MiB",
        }
        return [
            "[[pools]]",
            f"id = {json.dumps(self.pool_id)}",
            'name = "Demo virtual machine"',
            'protocol = "vnc"',
            'recycle = "rebuild"',
            "spares = 1",
            'idle_power_off = "10m"',
            f"users = {json.dumps(users)}",
            "[pools.backend]",
            *(f"{key} = {json.dumps(value)}" for key, value in backend.items()),
            "[pools.backend.clones]",
            *(f"{key} = {json.dumps(value)}" for key, value in clones.items()),
        ]

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        """Delete the machines the broker made, the template and the storage pool."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        import libvirt

        for domain in conn.listAllDomains(0):
            mine = domain.name() == self.template or _tagged(domain, libvirt) == self.pool_id
            if not mine:
                continue
            with contextlib.suppress(libvirt.libvirtError):
                if domain.isActive():
                    domain.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        with contextlib.suppress(libvirt.libvirtError):
            storage = conn.storagePoolLookupByName(self.storage_pool)
            for volume in storage.listAllVolumes(0):
                with contextlib.suppress(libvirt.libvirtError):
                    volume.delete(0)
            storage.destroy()
            storage.undefine()
        conn.close()


def _tagged(domain: Any, libvirt: Any) -> str | None:
    # Here, not at the top: domxml needs defusedxml, which comes with the libvirt
    # extra as libvirt itself does; `rubicon-broker` must start without them.
    from broker_stub.backends.libvirt import domxml

    try:
        metadata = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, domxml.NAMESPACE, 0)
    except libvirt.libvirtError:
        return None
    return domxml.pool_of(metadata)


def _storage_xml(name: str, path: Path) -> str:
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = name
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "path").text = str(path)
    return ET.tostring(root, encoding="unicode")


def _blank_volume_xml(name: str, capacity: int) -> str:
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(capacity)
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": "qcow2"})
    return ET.tostring(root, encoding="unicode")


def _template_xml(name: str, disk: str, kind: str) -> str:
    """A small machine with a VNC console on this computer only."""
    root = ET.Element("domain", {"type": kind})
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "memory", {"unit": "MiB"}).text = str(MEMORY_MIB)
    ET.SubElement(root, "vcpu").text = "1"
    os_node = ET.SubElement(root, "os")
    ET.SubElement(os_node, "type", {"arch": "x86_64", "machine": "pc"}).text = "hvm"
    devices = ET.SubElement(root, "devices")
    disk_node = ET.SubElement(devices, "disk", {"type": "file", "device": "disk"})
    ET.SubElement(disk_node, "driver", {"name": "qemu", "type": "qcow2"})
    ET.SubElement(disk_node, "source", {"file": disk})
    ET.SubElement(disk_node, "target", {"dev": "vda", "bus": "virtio"})
    graphics = ET.SubElement(
        devices, "graphics", {"type": "vnc", "autoport": "yes", "listen": "127.0.0.1"}
    )
    ET.SubElement(graphics, "listen", {"type": "address", "address": "127.0.0.1"})
    return ET.tostring(root, encoding="unicode")
