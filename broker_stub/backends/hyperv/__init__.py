"""The Hyper-V backend kind: VMs on a Hyper-V host through PowerShell remoting
(`pip install 'rubicon[hyperv]'`).

backend.py acts on VMs, clones.py makes and deletes clones on differencing
disks, commands.py holds every statement sent as data, runner.py runs them
over WinRM HTTPS with pypsrp (one runner per host on each node), options.py
checks the pools file's table. docs/backends.md is the admin's guide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_stub.backends.base import BackendError, Context
from broker_stub.backends.common import hypervisor_kind
from broker_stub.backends.hyperv.options import HyperVOptions

INSTALL_HINT = (
    "Hyper-V pools need the pypsrp package: pip install 'rubicon[hyperv]' "
    "(and for Kerberos: pip install 'pypsrp[kerberos]')"
)


def _installed() -> bool:
    from broker_stub.backends.hyperv.runner import INSTALLED

    return INSTALLED


def _options(table: Mapping[str, Any]) -> dict[str, Any]:
    options = HyperVOptions.model_validate({**table, "type": "hyperv"})
    if not _installed():
        raise ValueError(INSTALL_HINT)
    return options.stored()


def _create(stored: Mapping[str, Any], context: Context) -> Any:
    from broker_stub.backends.hyperv.backend import HyperVBackend
    from broker_stub.backends.hyperv.runner import PsrpRunner

    if not _installed():
        raise BackendError(INSTALL_HINT)
    options = HyperVOptions.model_validate(dict(stored))
    # One runner per host and account on each node, shared by the pools on that host.
    key = f"hyperv:{options.host}:{options.port}:{options.auth}:{options.user}"
    runner = context.shared.get(key, lambda: PsrpRunner(options))
    return HyperVBackend(context.pool_id, options, runner)


KIND = hypervisor_kind("hyperv", options=_options, create=_create)
