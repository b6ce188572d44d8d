"""The kiosk's X session: its .desktop entry, and the wrapper that restarts Rubicon.

The wrapper (installer/linux/rubicon-kiosk-session) runs with a fake
``rubicon`` and a fake ``logger`` on PATH. Every process is stopped by its
PID and every wait has a timeout.
"""

from __future__ import annotations

import configparser
import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.e2e import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "installer" / "linux" / "rubicon-kiosk-session"
SESSION = ROOT / "resources" / "xsession" / "rubicon-kiosk.desktop"

# Counts its runs; the first CRASHES runs exit 3 at once, later ones wait and
# exit 0 on SIGTERM (or ignore it, with IGNORE_TERM=1).
FAKE_RUBICON = """#!/bin/sh
n=$(cat "$STATE/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$STATE/count"
echo "$(date +%s.%N) $$ $*" >> "$STATE/runs"
if [ "$n" -le "$CRASHES" ]; then
    exit 3
fi
if [ "${IGNORE_TERM:-0}" = 1 ]; then
    trap '' TERM
else
    trap 'kill "$nap" 2>/dev/null; echo term >> "$STATE/runs"; exit 0' TERM
fi
echo "$$" > "$STATE/ready"
while :; do
    sleep 30 &
    nap=$!
    wait "$nap"
done
"""

FAKE_LOGGER = """#!/bin/sh
echo "$*" >> "$STATE/syslog"
"""


class Session:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.state = tmp_path / "state"
        self.state.mkdir(parents=True)
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for name, text in (("rubicon", FAKE_RUBICON), ("logger", FAKE_LOGGER)):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "STATE": str(self.state),
            "CRASHES": "2",
            "RUBICON_KIOSK_BACKOFF_START": "1",
            "RUBICON_KIOSK_BACKOFF_MAX": "2",
            "RUBICON_KIOSK_STOP_TIMEOUT": "2",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with (self.state / "stderr").open("wb") as out:
            self.proc = subprocess.Popen(
                [str(WRAPPER)], env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        return self.proc

    def runs(self) -> list[str]:
        path = self.state / "runs"
        return path.read_text().splitlines() if path.exists() else []

    def starts(self) -> list[tuple[float, int]]:
        return [
            (float(t), int(pid))
            for t, pid, *_ in (r.split() for r in self.runs() if r[0].isdigit())
        ]

    def syslog(self) -> list[str]:
        path = self.state / "syslog"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        """Teardown: the wrapper, then any fake it left, each by PID."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        for _, pid in self.starts():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Sessions:
    def __init__(self, tmp_path: Path) -> None:
        self._tmp = tmp_path
        self.made: list[Session] = []

    def __call__(self, **env: str) -> Session:
        self.made.append(Session(self._tmp / str(len(self.made)), **env))
        return self.made[-1]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Sessions]:
    sessions = Sessions(tmp_path)
    yield sessions
    for s in sessions.made:
        s.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_the_session_entry_starts_the_wrapper() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(SESSION)
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"] == desktop["TryExec"] == "/usr/bin/rubicon-kiosk-session"
    assert desktop["Name"]
    assert os.access(WRAPPER, os.X_OK)


def test_rubicon_is_restarted_after_crashes_and_stops_cleanly_on_sigterm(session: Sessions) -> None:
    s = session()
    proc = s.start()
    wait_for(lambda: (s.state / "ready").exists(), 20, "the third start of rubicon")
    starts = s.starts()
    assert len(starts) == 3  # started, crashed twice, restarted twice
    assert all(run.endswith("--kiosk") for run in s.runs())
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.9  # waited 1 s,
    assert gaps[1] >= 1.9  # then 2 s
    restarts = [line for line in s.syslog() if "restart" in line]
    assert len(restarts) == 2
    assert "exited with status 3" in restarts[0]
    assert "restart 1 in 1s" in restarts[0]
    assert "restart 2 in 2s" in restarts[1]
    assert "-t rubicon-kiosk" in restarts[0]

    rubicon = int((s.state / "ready").read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert s.runs()[-1] == "term"  # Rubicon was asked to quit, and did
    assert not alive(rubicon)
    assert len(s.starts()) == 3  # and was not started again
    assert "stopped" in s.syslog()[-1]


def test_a_crash_loop_waits_longer_up_to_the_cap_and_stops_while_waiting(session: Sessions) -> None:
    s = session(CRASHES="1000")
    proc = s.start()
    wait_for(lambda: len(s.starts()) >= 4, 20, "four starts of rubicon")
    starts = s.starts()
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(starts)]
    assert 0.9 <= gaps[0] < 1.9
    assert 1.9 <= gaps[1] < 2.9
    assert 1.9 <= gaps[2] < 2.9  # capped at RUBICON_KIOSK_BACKOFF_MAX
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # while it waits before the next start
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - began < 1.5
    count = len(s.starts())
    time.sleep(2.5)
    assert len(s.starts()) == count


def test_a_rubicon_that_ignores_sigterm_is_killed_after_the_stop_timeout(session: Sessions) -> None:
    s = session(CRASHES="0", IGNORE_TERM="1")
    proc = s.start()
    wait_for(lambda: (s.state / "ready").exists(), 10, "rubicon to start")
    rubicon = int((s.state / "ready").read_text())
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert 1.5 <= time.monotonic() - began < 6
    assert not alive(rubicon)


def test_leaving_kiosk_mode_ends_the_session_after_the_admin_command(
    session: Sessions, tmp_path: Path
) -> None:
    marker = tmp_path / "admin-ran"
    s = session(CRASHES="0", RUBICON_KIOSK_ADMIN_COMMAND=f"touch {marker}")
    # This fake exits 0 at once: what Rubicon does after the admin's PIN.
    (Path(s.env["PATH"].split(":")[0]) / "rubicon").write_text("#!/bin/sh\nexit 0\n")
    proc = s.start()
    assert proc.wait(timeout=10) == 0
    assert marker.exists()
    assert any("left kiosk mode" in line for line in s.syslog())
