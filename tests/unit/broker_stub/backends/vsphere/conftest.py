"""A vSphere backend on a real vcsim of its own per test (tests/helpers/vcsim.py's `sim`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_stub.backends.base import Context, Shared
from tests.helpers.vcsim import USER, Vcsim, password_file, sim

__all__ = ["sim"]


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
