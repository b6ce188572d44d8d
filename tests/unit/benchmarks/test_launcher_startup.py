"""The launcher start-up benchmark in smoke mode, so the script keeps working.

Speed is never asserted here; the figures are for docs/benchmarks.md. What is
asserted: the script runs and prints its lines, and the first window's imports
leave out the modules made lazy for start-up (a regression there costs the
start-up ~100 ms of CPU and ~24 MiB, silently).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Loaded only when first used: a broker call, a launch, the keychain, the doctor.
NOT_AT_START = (
    "httpx",
    "ssl",
    "keyring",
    "cryptography",
    "argon2",
    "launcher.core.doctor",
    "launcher.ui.diagnostics",
)


def test_the_first_window_imports_none_of_the_lazy_modules() -> None:
    code = (
        "import sys\n"
        "import launcher.app, launcher.ui.mainwindow, launcher.ui.kiosk\n"
        f"print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout


@pytest.mark.e2e
def test_launcher_startup_smoke_prints_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "launcher_startup.py"),
            "--smoke",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.startswith("machine: ")
    for name in ("bare PySide6", "rubicon"):
        assert re.search(
            rf"^{name}\s+start median\s+[\d.]+ ms .* CPU median\s+[\d.]+ ms .* peak RSS median"
            rf"\s+[\d.]+ MiB",
            out,
            re.MULTILINE,
        ), out
    assert re.search(r"start rubicon ÷ bare = [\d.]+ \(target ≤ 1.5", out), out
    assert re.search(r"CPU rubicon ÷ bare = [\d.]+", out), out
    assert re.search(r"memory rubicon ÷ bare = [\d.]+ \(target ≤ 1.5", out), out
    assert re.search(r"click → exec seen\s+median\s+[\d.]+ ms", out), out
    assert re.search(r"click → first instruction\s+median\s+[\d.]+ ms", out), out
    assert re.search(r"click-to-exec median [\d.]+ ms \(target ≤ 150 ms", out), out
