"""The libvirt backend kind: KVM/QEMU and Xen through libvirt (`pip install 'rubicon[libvirt]'`).

backend.py acts on domains, clones.py makes and deletes clones, connection.py
keeps one connection per URI on each node, domxml.py reads and writes domain
XML, options.py checks the pools file's table. docs/backends.md is the admin's
guide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_stub.backends.base import Context
from broker_stub.backends.common import hypervisor_kind
from broker_stub.backends.libvirt.options import LibvirtOptions

INSTALL_HINT = (
    "libvirt pools need the libvirt-python package: pip install 'rubicon[libvirt]' "
    "(it builds against libvirt's headers: apt-get install libvirt-dev pkg-config)"
)


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    options = LibvirtOptions.model_validate({**table, "type": "libvirt"})
    from broker_stub.backends.libvirt.connection import libvirt

    if libvirt is None:
        raise ValueError(INSTALL_HINT)
    return options.stored()


def _create(stored: Mapping[str, Any], context: Context) -> Any:
    from broker_stub.backends.libvirt.backend import LibvirtBackend
    from broker_stub.backends.libvirt.connection import Connection, libvirt

    if libvirt is None:
        from broker_stub.backends.base import BackendError

        raise BackendError(INSTALL_HINT)
    options = LibvirtOptions.model_validate(dict(stored))
    connection: Connection = context.shared.get(
        f"libvirt:{options.uri}", lambda: Connection(options.uri)
    )
    return LibvirtBackend(context.pool_id, options, connection, changed=context.changed)


KIND = hypervisor_kind("libvirt", options=_options, create=_create)
