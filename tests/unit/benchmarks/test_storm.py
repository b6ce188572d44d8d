"""The storm benchmark in smoke mode, so the script keeps working.

It checks that the storm runs end to end, on one SQLite node and on two
nodes sharing one PostgreSQL database, driven by wrk: every user signed in
and launched exactly once, and no double allocation, by the answers and by
the database itself. The speed figures it prints are for docs/benchmarks.md,
not asserted here; that each is printed, with wrk's CPU beside the servers'
and every ratio by rate and by CPU, is. Without wrk the tests skip (fail
under RUBICON_REQUIRE_E2E=1).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.postgres import require_postgres

ROOT = Path(__file__).resolve().parents[3]
SMOKE_USERS = 40
# The smoke run's probe users (3 before, 3 after) and one warm-up user per node
# launch too; the database must hold exactly the sessions the answers name.
SMOKE_EXTRA = 6


def run_storm(*args: str, timeout: float) -> str:
    """Run the script in smoke mode and return what it printed.

    If the test ends early (a timeout, Ctrl-C), the script gets SIGTERM, on
    which it stops the servers it started; its own session is killed only if
    it does not exit within 30 s.
    """
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "storm.py"), "--smoke", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = stop(proc)
        pytest.fail(f"storm.py {' '.join(args)} took over {timeout:.0f} s:\n{out}{err}")
    except BaseException:
        stop(proc)
        raise
    assert proc.returncode == 0, out + err
    return out


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()


def assert_clean_storm(out: str, headers: list[str], nodes: int) -> None:
    """Every header's storm ran, everyone signed in and launched, nothing handed out twice."""
    for header in headers:
        assert header in out, out
    modes = len(headers)
    assert out.count("double allocations: 0 (must be 0)") == modes, out
    assert len(re.findall(r"^double allocations: ", out, re.MULTILINE)) == modes, out
    for phase in ("sign-in", "launch"):
        totals = re.findall(rf"^{phase}\s+(\d+) ok .* errors (\d+)", out, re.MULTILINE)
        assert totals == [(str(SMOKE_USERS), "0")] * modes, out
    per_node = re.findall(r"^  node (\d+)\s+(\d+) ok .* errors (\d+)", out, re.MULTILINE)
    if nodes == 1:
        assert per_node == [], out
    else:
        share = str(SMOKE_USERS // nodes)
        expected = [(str(i), share, "0") for i in range(1, nodes + 1)]
        assert per_node == expected * 2 * modes, out  # sign-in and launch, each mode
    sessions = SMOKE_USERS + SMOKE_EXTRA + nodes
    database = re.findall(
        r"^database\s+(\d+) live sessions, (\d+) launches answered; "
        r"machines under two live sessions (\d+), users with two in one pool (\d+), "
        r"machines held by someone else (\d+), answers not in the database (\d+), "
        r"machines answered to two users (\d+)$",
        out,
        re.MULTILINE,
    )
    assert database == [(str(sessions), str(sessions), "0", "0", "0", "0", "0")] * modes, out
    for line in (
        r"limit\s+argon2id verifications [\d.]+/s on \d+ cores, [\d.]+ ms CPU each, "
        r"others used [\d.]+ cores meanwhile$",
        r"limit\s+bare endpoint \d+ requests/s \(.*, wrk -t \d+ -c \d+( a node)?\), "
        r"servers [\d.]+ ms CPU each \+ wrk [\d.]+ ms, others used [\d.]+ cores meanwhile$",
        r"cpu\s+per sign-in: brokers [\d.]+ .*\+ wrk [\d.]+ = [\d.]+ ms",
        r"cpu\s+per launch: brokers [\d.]+ .*\+ wrk [\d.]+ = [\d.]+ ms",
        r"ratios\s+sign-ins/s ÷ argon2id limit = [\d.]+ by rate, [\d.]+ by CPU; "
        r"launches/s ÷ bare endpoint = [\d.]+ by rate, [\d.]+ by CPU$",
        r"\s+\(by CPU: .* wrk's CPU is left out of both sides\)$",
    ):
        assert len(re.findall(f"^{line}", out, re.MULTILINE)) == modes, (line, out)
    tracked = re.findall(
        rf"^tracked\s+{3 + nodes} → {sessions} live sessions: launch [\d.]+ → [\d.]+ ms "
        r"\(×[\d.]+\), desktop list [\d.]+ → [\d.]+ ms \(×[\d.]+\)",
        out,
        re.MULTILINE,
    )
    assert len(tracked) == modes, out


@pytest.mark.e2e
def test_storm_smoke_runs_both_transports_without_double_allocation(wrk_installed: None) -> None:
    out = run_storm("--tls", "both", "--workers", "2", timeout=100)
    assert re.search(r"^load generator: wrk \S+", out, re.MULTILINE), out
    assert_clean_storm(
        out,
        [
            f"== SQLite, 1 node of 2 workers, plain HTTP: {SMOKE_USERS} users",
            f"== SQLite, 1 node of 2 workers, TLS: {SMOKE_USERS} users",
        ],
        nodes=1,
    )


@pytest.mark.e2e
def test_storm_smoke_two_nodes_on_one_postgresql_without_double_allocation(
    wrk_installed: None,
) -> None:
    require_postgres()
    out = run_storm(
        "--database", "postgresql", "--nodes", "2", "--workers", "1", "--tls", "on", timeout=100
    )
    assert re.search(r"^PostgreSQL: \S+ on port \d+, pid \d+$", out, re.MULTILINE), out
    assert_clean_storm(
        out, [f"== PostgreSQL, 2 nodes of 1 worker, TLS: {SMOKE_USERS} users"], nodes=2
    )
    assert re.search(
        r"^cpu\s+per launch: brokers [\d.]+ \+ PostgreSQL [\d.]+ \+ wrk [\d.]+ = ", out, re.M
    ), out
    assert re.search(r"wrk -t \d+ -c 4 a node\)", out), out  # 8 connections over 2 nodes
    # The cluster the script started is gone with it.
    pid = int(re.findall(r"^PostgreSQL: .* pid (\d+)$", out, re.MULTILINE)[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
