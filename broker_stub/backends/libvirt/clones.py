"""Clones: a qcow2 overlay on the golden image, and a domain copied from the template.

A clone gets its own name, UUID, MAC addresses and UEFI variables (libvirt
makes the last three), its disk as a new volume `{name}.qcow2` in the pool's
storage pool backed by the golden image, and Rubicon's metadata naming the pool.
The broker deletes only domains that carry that metadata for the same pool,
and of their disks only the volume it made, never the golden image.
"""

from __future__ import annotations

from typing import Any

from broker_stub.backends.base import BackendError, MachineMissing, StorageFull
from broker_stub.backends.libvirt import domxml
from broker_stub.backends.libvirt.connection import libvirt
from broker_stub.backends.libvirt.options import CloneOptions


def volume_name(name: str) -> str:
    return f"{name}.qcow2"


def tagged_pool(domain: Any) -> str | None:
    """The pool Rubicon's metadata on the domain names, or None.

    Read from the configuration (a transient domain has only its live state): a
    tag set on the running domain alone is gone once it stops."""
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG if domain.isPersistent() else 0
    try:
        metadata = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, domxml.NAMESPACE, flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise
    return domxml.pool_of(metadata)


def make_clone(conn: Any, pool_id: str, clones: CloneOptions, name: str) -> None:
    """Define the domain `name` as a clone for the pool (powered off)."""
    template = _template(conn, clones)
    template_xml = template.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    storage = _storage(conn, clones)
    golden = _golden(conn, storage, clones, template_xml)
    _, _, _, free = storage.info()
    if free < clones.min_free:
        raise StorageFull(
            f"storage pool {clones.storage_pool!r} has {free >> 20} MiB free, less than the "
            f"pool's min_free of {clones.min_free >> 20} MiB: free some room or lower min_free"
        )
    _remove_leftovers(conn, storage, pool_id, name)
    overlay = storage.createXML(
        domxml.volume(
            volume_name(name),
            golden.info()[1],
            golden.path(),
            domxml.volume_format(golden.XMLDesc(0)),
        ),
        0,
    )
    xml = domxml.clone(
        template_xml,
        name=name,
        disk=overlay.path(),
        pool_id=pool_id,
        password=domxml.random_password(domxml.VNC_PASSWORD_LENGTH),
    )
    try:
        conn.defineXML(xml)
    except libvirt.libvirtError:
        overlay.delete(0)
        raise


def delete_clone(conn: Any, pool_id: str, name: str) -> None:
    """Power off and undefine a clone the broker made for the pool, and delete its disk."""
    try:
        domain = conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise MachineMissing(f"there is no domain {name!r} to delete") from None
        raise
    owner = tagged_pool(domain)
    if owner != pool_id:
        raise BackendError(
            f"the broker deletes only machines it made for pool {pool_id!r}, and {name!r} "
            + ("is not one" if owner is None else f"belongs to pool {owner!r}")
        )
    paths = domxml.disk_sources(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    if domain.isActive():
        domain.destroy()
    flags = (
        libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    )
    try:
        domain.undefineFlags(flags | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        # "unsupported flags": a driver without UEFI variables (libvirt's test driver).
        domain.undefineFlags(flags)
    for path in paths:
        try:
            volume = conn.storageVolLookupByPath(path)
        except libvirt.libvirtError:
            continue  # not a volume libvirt knows: not one the broker made
        if volume.name() == volume_name(name):
            volume.delete(0)


def _template(conn: Any, clones: CloneOptions) -> Any:
    try:
        return conn.lookupByName(clones.template)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise BackendError(
                f"the clone template {clones.template!r} is not a domain on this hypervisor"
            ) from None
        raise


def _storage(conn: Any, clones: CloneOptions) -> Any:
    try:
        storage = conn.storagePoolLookupByName(clones.storage_pool)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            raise BackendError(
                f"there is no storage pool {clones.storage_pool!r} for the clones' disks"
            ) from None
        raise
    if not storage.isActive():
        raise BackendError(f"the storage pool {clones.storage_pool!r} is not active")
    return storage


def _golden(conn: Any, storage: Any, clones: CloneOptions, template_xml: str) -> Any:
    """The golden image's volume: `image` in the storage pool, or the template's disk."""
    disks = domxml.disk_sources(template_xml)
    if len(disks) > 1:
        # The others would be shared, writable, by every clone.
        raise BackendError(
            f"the clone template {clones.template!r} has {len(disks)} disks; clones copy "
            "one: give the template a single disk"
        )
    if clones.image is None:
        if not disks:
            raise BackendError(f"the clone template {clones.template!r} has no disk")
        try:
            return conn.storageVolLookupByPath(disks[0])
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            raise BackendError(
                f"the template's disk {disks[0]} is not in a libvirt storage pool; "
                "name the golden image with clones.image"
            ) from None
    for attempt in range(2):
        try:
            return storage.storageVolLookupByName(clones.image)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                raise
            if attempt:
                break
            storage.refresh(0)  # a file copied in by hand is not known until a refresh
    raise BackendError(
        f"the golden image {clones.image!r} is not in storage pool {clones.storage_pool!r}"
    )


def _remove_leftovers(conn: Any, storage: Any, pool_id: str, name: str) -> None:
    """A clone of that name that a node made and then died before it was recorded."""
    try:
        conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
    else:
        delete_clone(conn, pool_id, name)  # refuses a domain that is not ours
    try:
        storage.storageVolLookupByName(volume_name(name)).delete(0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
            raise
