"""The README's two commands install what each needs, read from `make -n` in a fresh tree.

`make demo` installs what runs: Rubicon with the broker's extra (the launcher's
dependencies come with the distribution itself) and the libvirt extra when
libvirt's headers are there; `make test` and `make lint` add the dev extra
(pytest, ruff, mypy, schemathesis, ..., and the broker's extra again).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.e2e import require_binaries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_tree(tmp_path: Path) -> Path:
    """The Makefile and pyproject.toml in a folder without .venv, as in a new clone."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def installs(tree: Path, target: str) -> list[set[str]]:
    """The extras of each `pip install -e` that `make TARGET` would run, in order."""
    require_binaries("make")
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = []
    # Both branches of the libvirt-headers test are printed, each one install.
    for spec in re.findall(r"pip install -e '?(\.\S*?)'?(?:;|\s|$)", result.stdout):
        extras = re.fullmatch(r"\.(?:\[(.*)\])?", spec)
        assert extras, f"unexpected install {spec!r} in:\n{result.stdout}"
        found.append(set(filter(None, (extras[1] or "").split(","))))
    assert found, f"no install in:\n{result.stdout}"
    return found


def test_the_run_command_installs_only_what_runs(fresh_tree: Path) -> None:
    assert installs(fresh_tree, "demo") == [{"broker", "libvirt"}, {"broker"}]


@pytest.mark.parametrize("target", ["test", "lint"])
def test_the_test_command_adds_the_dev_extra(fresh_tree: Path, target: str) -> None:
    assert installs(fresh_tree, target) == [
        {"broker", "libvirt"},
        {"broker"},
        {"dev", "libvirt"},
        {"dev"},
    ]


def test_the_dev_extra_brings_the_broker() -> None:
    # `make test` installs .[dev]: the tests drive both halves.
    text = (ROOT / "pyproject.toml").read_text()
    dev = text[text.index("\ndev = [") :]
    own = re.search(r'"rubicon\[([a-z,]+)\]"', dev[: dev.index("]\n")])
    assert own is not None
    assert "broker" in own.group(1).split(",")
