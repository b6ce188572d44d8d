"""The Proxmox VE backend kind: QEMU VMs of a PVE cluster (`pip install 'rubicon[proxmox]'`).

backend.py acts on VMs, api.py keeps one API session per URL and token on
each node and sorts PVE's errors, spice.py turns a spiceproxy answer into a
console, options.py checks the pools file's table. docs/backends.md is the
admin's guide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from broker_stub.backends.base import BackendError, Context
from broker_stub.backends.common import hypervisor_kind
from broker_stub.backends.proxmox.options import ProxmoxOptions

INSTALL_HINT = "Proxmox pools need proxmoxer and requests: pip install 'rubicon[proxmox]'"


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    options = ProxmoxOptions.model_validate({**table, "type": "proxmox"})
    from broker_stub.backends.proxmox.api import requests

    if requests is None:
        raise ValueError(INSTALL_HINT)
    options.token_secret()  # there and private now, not at the first launch
    return options.stored()


def _create(stored: Mapping[str, Any], context: Context) -> Any:
    from broker_stub.backends.proxmox.api import Api, requests
    from broker_stub.backends.proxmox.backend import ProxmoxBackend

    if requests is None:
        raise BackendError(INSTALL_HINT)
    options = ProxmoxOptions.model_validate(dict(stored))
    try:
        secret = options.token_secret()
    except ValueError as exc:
        raise BackendError(str(exc)) from None
    # One session per API, token and trust; a new secret (rotated) makes a new one.
    digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
    trust = options.ca_file or options.fingerprint
    key = f"proxmox:{options.url}:{options.token_id}:{trust}:{digest}"
    api: Api = context.shared.get(key, lambda: Api(options, secret))
    return ProxmoxBackend(context.pool_id, options, api)


KIND = hypervisor_kind("proxmox", options=_options, create=_create)
