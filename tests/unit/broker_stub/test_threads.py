"""DaemonPool: calls on a few daemon threads, and a hung one never keeps Python from exiting."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import CancelledError

import pytest

from broker_stub.threads import DaemonPool


def test_results_and_errors_come_back_through_futures() -> None:
    pool = DaemonPool(workers=2, name="test-pool")

    def fail() -> None:
        raise KeyError("graphics")

    assert pool.submit(pow, 2, 10).result(timeout=5) == 1024
    with pytest.raises(KeyError, match="graphics"):
        pool.submit(fail).result(timeout=5)
    pool.close()


def test_at_most_workers_threads_and_each_a_daemon() -> None:
    pool = DaemonPool(workers=2, name="test-pool")
    release = threading.Event()
    seen: set[str] = set()

    def hold() -> None:
        seen.add(threading.current_thread().name)
        assert threading.current_thread().daemon
        release.wait(5)

    futures = [pool.submit(hold) for _ in range(5)]
    threading.Event().wait(0.2)
    running = [t for t in threading.enumerate() if t.name.startswith("test-pool_")]
    release.set()
    for future in futures:
        future.result(timeout=5)

    assert len(running) == 2
    assert seen == {"test-pool_1", "test-pool_2"}
    pool.close()


def test_closing_cancels_what_waits_and_refuses_more() -> None:
    pool = DaemonPool(workers=1, name="test-pool")
    release = threading.Event()
    running = pool.submit(release.wait, 5)
    waiting = pool.submit(pow, 2, 2)

    pool.close()
    release.set()

    assert running.result(timeout=5) is True
    with pytest.raises(CancelledError):
        waiting.result(timeout=5)
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(pow, 2, 2)


def test_a_call_that_never_returns_does_not_keep_python_from_exiting() -> None:
    script = (
        "import threading\n"
        "from broker_stub.threads import DaemonPool\n"
        "pool = DaemonPool(workers=1, name='hung')\n"
        "pool.submit(threading.Event().wait)\n"  # a hypervisor that never answers
        "print('leaving', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )

    assert (done.returncode, done.stdout) == (0, "leaving\n")
