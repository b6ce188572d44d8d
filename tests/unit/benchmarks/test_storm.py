"""The storm benchmark in smoke mode, so the script keeps working.

It checks that the storm runs end to end and finds no double allocation;
the speed figures it prints are for docs/benchmarks.md, not asserted here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.e2e
def test_storm_smoke_runs_both_transports_without_double_allocation() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "storm.py"), "--smoke", "--tls", "both"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.count("double allocations: 0 (must be 0)") == 2
    assert "== plain HTTP: 40 users" in out
    assert "== TLS: 40 users" in out
    for phase in ("sign-in", "launch"):
        counts = re.findall(rf"^{phase}\s+(\d+) ok .* errors (\d+)", out, re.MULTILINE)
        assert counts == [("40", "0"), ("40", "0")], out
    assert re.search(r"limit: argon2id verifications [\d.]+/s", out)
    assert re.search(r"ratios\s+sign-ins/s ÷ argon2id limit = [\d.]+", out)
