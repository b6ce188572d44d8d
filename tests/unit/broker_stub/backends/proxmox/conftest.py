"""A Proxmox backend on a fakepve served on loopback (tests/helpers/fakepve.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_stub.backends.base import Context, Shared
from broker_stub.backends.proxmox import KIND
from broker_stub.backends.proxmox.backend import ProxmoxBackend
from tests.helpers.fakepve import TOKEN_ID, TOKEN_SECRET, Served, fakepve_pki, served_pve

__all__ = ["fakepve_pki", "served_pve"]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "pve-token"
    path.write_text(TOKEN_SECRET + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def table(served_pve: Served, secret_file: Path) -> dict[str, Any]:
    """A pools-file table for the served fakepve; a test adds its selection."""
    return {
        "url": served_pve.url,
        "token_id": TOKEN_ID,
        "token_secret_file": str(secret_file),
        "ca_file": served_pve.cafile,
        "request_timeout": "5s",
        "task_timeout": "10s",
    }


@pytest.fixture
def make_backend(table: dict[str, Any]) -> Iterator[Callable[..., ProxmoxBackend]]:
    """make_backend(**keys): a backend of pool "lab" made as the broker makes it."""
    shared = Shared()

    def make(pool_id: str = "lab", **keys: Any) -> ProxmoxBackend:
        stored = KIND.options({**table, **keys})
        backend = KIND.create(stored, Context(pool_id=pool_id, shared=shared))
        assert isinstance(backend, ProxmoxBackend)
        return backend

    yield make
    shared.close()
