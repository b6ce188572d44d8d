"""What the benchmark tests share: wrk, the storm's load generator."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import wrk
from tests.helpers.e2e import e2e_required


@pytest.fixture
def wrk_installed() -> None:
    """Skip without wrk, saying what to install; fail instead under RUBICON_REQUIRE_E2E=1."""
    if shutil.which("wrk") is not None:
        return
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {wrk.MISSING}", pytrace=False)
    pytest.skip(wrk.MISSING)
