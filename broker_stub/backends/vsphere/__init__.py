"""The vSphere backend kind: VMs of VMware vCenter or ESXi (`pip install 'rubicon[vsphere]'`).

backend.py acts on VMs, clones.py makes and deletes linked clones,
connection.py keeps one session per vCenter on each node, faults.py sorts
vSphere's faults into the backend error tree, inventory.py finds VMs,
options.py checks the pools file's table. docs/backends.md is the admin's guide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_stub.backends.base import BackendError, Context
from broker_stub.backends.common import hypervisor_kind
from broker_stub.backends.vsphere.options import VsphereOptions

INSTALL_HINT = "vSphere pools need pyVmomi: pip install 'rubicon[vsphere]'"


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    options = VsphereOptions.model_validate({**table, "type": "vsphere"})
    from broker_stub.backends.vsphere.connection import vim

    if vim is None:
        raise ValueError(INSTALL_HINT)
    return options.stored()


def _create(stored: Mapping[str, Any], context: Context) -> Any:
    from broker_stub.backends.vsphere.backend import VsphereBackend
    from broker_stub.backends.vsphere.connection import Connection, vim

    if vim is None:
        raise BackendError(INSTALL_HINT)
    try:
        options = VsphereOptions.model_validate(dict(stored))
    except ValueError as exc:  # this node's password or CA file is missing or open to others
        raise BackendError(f"pool {context.pool_id}: {exc}") from None
    # One session per endpoint, account and trust: pools that share all three share it.
    key = f"vsphere:{options.sdk_url}:{options.user}:{options.fingerprint or options.ca_file}"
    connection: Connection = context.shared.get(key, lambda: Connection(options))
    return VsphereBackend(context.pool_id, options, connection)


KIND = hypervisor_kind("vsphere", options=_options, create=_create)
