"""benchmarks/packages.py in smoke mode against what `make package` built, so the
script keeps working; its figures are for docs/benchmarks.md, not asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.installer.conftest import ROOT


@pytest.mark.timeout(300)
def test_the_packages_benchmark_prints_every_figure(bundle: Path) -> None:
    if not (ROOT / "build" / "venv-launcher" / "env" / "bin" / "python").exists():
        pytest.skip("the frozen launcher's virtualenv is gone: run make package")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "packages.py"), "--smoke",
         "--dist", str(bundle.parent)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    for figure in ("portable folder", "ICU", "frozen start", "virtualenv start",
                   "frozen / virtualenv"):  # fmt: skip
        assert figure in done.stdout, figure
