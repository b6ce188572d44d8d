"""A vSphere backend on a real vcsim of its own per test (tests/helpers/vcsim.py).

vcsim starts in well under a second once built, so each test gets a fresh
inventory: one standalone host DC0_H0 with VMs DC0_H0_VM0..2 and one cluster
DC0_C0 (host DC0_C0_H0) with VMs DC0_C0_RP0_VM0..2, all powered off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_stub.backends.base import Context, Shared
from tests.helpers.vcsim import USER, Vcsim, password_file, start_vcsim


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Vcsim]:
    simulator = start_vcsim(tmp_path / "vcsim", hosts=1, clusters=1, vms=3)
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def table(sim: Vcsim, tmp_path: Path) -> dict[str, Any]:
    """A pools-file table for the test's vcsim, trusting its CA; a test adds its selection."""
    return {
        "url": f"https://127.0.0.1:{sim.port}",
        "user": USER,
        "password_file": str(password_file(tmp_path)),
        "ca_file": str(sim.certificate.ca_file),
    }


@pytest.fixture
def make_backend() -> Iterator[Callable[..., Any]]:
    """make_backend(table, pool_id="lab"): the backend as the broker makes it, through
    KIND.options and KIND.create, its session closed after the test."""
    from broker_stub.backends.vsphere import KIND

    shared = Shared()

    def make(table: dict[str, Any], pool_id: str = "lab") -> Any:
        stored = KIND.options(table)
        return KIND.create(stored, Context(pool_id=pool_id, shared=shared))

    yield make
    shared.close()
