"""The clone-pool benchmark in smoke mode, so the script keeps working.

It runs the three figures at their smallest (2 launches of a stopped machine,
a pool of 3 clones, 3 users at once into 3-clone pools, on demand and from
spares) on a private libvirtd, and checks that every figure and its virsh
limit are printed, every launch and virsh run ended ready, and no machine
was handed out twice, by the answers, the database and libvirt. The speed
figures are for docs/benchmarks.md, never asserted here. Like the libvirtd
fixtures, it skips where libvirtd, QEMU or libvirt-python are missing (or
not root), and fails there under RUBICON_REQUIRE_E2E=1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.libvirtd import require_libvirtd

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 240.0
USERS = 3
MS = r"\d+ ms"


def run_smoke(workdir: Path) -> str:
    """Run the script in smoke mode and return what it printed.

    If the test ends early (a timeout, Ctrl-C), the script gets SIGTERM, on
    which it stops its brokers and its libvirtd; its session is killed only if
    it does not exit within 60 s.
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "clone_pool.py"),
            "--smoke",
            "--workdir",
            str(workdir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        out, err = stop(proc)
        pytest.fail(f"clone_pool.py --smoke took over {TIMEOUT:.0f} s:\n{out}{err}")
    except BaseException:
        stop(proc)
        raise
    assert proc.returncode == 0, out + err
    return out


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()


def lines(pattern: str, out: str) -> list[str]:
    return re.findall(f"^{pattern}$", out, re.MULTILINE)


@pytest.mark.e2e
def test_clone_pool_smoke_prints_every_figure_without_duplicates(tmp_path: Path) -> None:
    require_libvirtd()
    out = run_smoke(tmp_path)

    assert re.search(r"^load average before [\d./]+$", out, re.MULTILINE), out
    assert re.search(r"^load average after [\d./]+$", out, re.MULTILINE), out
    assert re.search(r"^libvirt: private libvirtd [\d.]+, QEMU [\d.]+ \(TCG\)", out, re.M), out
    # 1. A stopped machine to its console: both paths, both runs, and the ratio.
    assert lines(
        rf"broker    launch → console ready: median {MS}  p90 {MS}  "
        rf"\(min {MS}, max {MS}, n 2\); .*",
        out,
    ), out
    virsh = rf"limit     virsh start → console ready: median {MS}  p90 {MS}  .*n 2\); .*"
    assert lines(virsh, out), out
    assert lines(r"ratio     broker ÷ virsh = [\d.]+ \(median\), [\d.]+ \(p90\)", out), out
    # 2. Clones per minute: three made each way, all defined on libvirt.
    assert lines(r"broker    upkeep filling the pool, .*: 3 in [\d.]+ s; .* clones/min.*", out), out
    assert lines(r"limit     virsh vol-create-as \+ define, serial: 3 in [\d.]+ s; .*", out), out
    assert lines(r"floor     libvirt-python on one connection, serial: 3 in [\d.]+ s; .*", out), out
    per_minute = (
        r"ratio     broker ÷ virsh = [\d.]+, broker ÷ libvirt-python = [\d.]+ \(clones per minute\)"
    )
    assert lines(per_minute, out), out
    # 3. Three users at once, on demand and from spares: everyone ready, nothing twice.
    for crowd in ("3a", "3b"):
        assert re.search(rf"^== {crowd}\. {USERS} users launching at once", out, re.M), out
    ready = rf"{USERS} of {USERS} ready: p50 {MS}  p99 {MS}  max {MS}; wall [\d.]+ s; errors 0"
    assert len(lines(rf"broker    time to 200: {ready}; answers .*", out)) == 2, out
    limit = rf"limit     virsh, one thread a user: {ready}; {USERS} console ports"
    assert len(lines(limit, out)) == 2, out
    floor = rf"floor     libvirt-python, one connection, one thread a user: {ready}; {USERS} .*"
    assert len(lines(floor, out)) == 2, out
    consoles = rf"          console accepted the one-time password: {USERS} of {USERS}, .*"
    assert len(lines(consoles, out)) == 2, out
    checks = lines(
        rf"check     {USERS} sessions on {USERS} machines, {USERS} domains with {USERS} console "
        r"ports; machines under two live sessions 0, sessions sharing a machine 0, "
        r"machines answered to two users 0, domains sharing a console port 0, "
        r"answers not in the database 0, answers not their machine's console 0",
        out,
    )
    assert len(checks) == 2, out
    assert len(lines(r"duplicates: 0 \(must be 0\)", out)) == 2, out
    assert len(lines(r"duplicates: \d+ \(must be 0\)", out)) == 2, out
    crowd_ratio = r"ratio     broker ÷ (virsh|libvirt-python) = [\d.]+ \(p50\), [\d.]+ \(p99\), .*"
    assert len(lines(crowd_ratio, out)) == 4, out
    assert lines(rf"spares    {USERS} made and running [\d.]+ s after .*", out), out
    assert "FAILED" not in out, out
    # Each figure says how busy the machine was, ours and the others'.
    cpu = r"cpu       (broker|virsh|libvirt-python): .* others' share [\d.]+"
    assert len(lines(cpu, out)) == 11, out
