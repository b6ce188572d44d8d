"""Background jobs by key: never twice at once, once more if asked while running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from broker_stub.domain.jobs import Jobs


@pytest.fixture
def jobs() -> Iterator[Jobs]:
    made = Jobs(workers=4, name="test-jobs")
    yield made
    made.close()


class Recorder:
    """A job that can be held up, and records how many of it ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.started = threading.Event()
        self.runs = 0
        self.at_once = 0
        self.most_at_once = 0

    def __call__(self, label: str) -> None:
        with self.lock:
            self.runs += 1
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        self.started.set()
        self.release.wait(10)
        with self.lock:
            self.at_once -= 1


def test_a_key_handed_over_while_it_runs_runs_once_more_afterwards(jobs: Jobs) -> None:
    job = Recorder()
    jobs.submit(("tend", "lab"), job, "first")
    assert job.started.wait(10)

    for _ in range(3):  # three more asks while it runs: one more run, not three
        jobs.submit(("tend", "lab"), job, "again")
    job.release.set()
    jobs.wait()

    assert (job.runs, job.most_at_once) == (2, 1)


def test_different_keys_run_side_by_side(jobs: Jobs) -> None:
    job = Recorder()
    jobs.submit(("tend", "lab"), job, "lab")
    jobs.submit(("tend", "art"), job, "art")
    threading.Event().wait(0.2)

    assert job.at_once == 2
    job.release.set()
    jobs.wait()
    assert job.runs == 2


def test_a_key_queued_twice_runs_once(jobs: Jobs) -> None:
    blocker = Recorder()
    for n in range(4):  # every worker busy, so the next ones wait in the queue
        jobs.submit(("hold", n), blocker, "hold")
    job = Recorder()
    job.release.set()
    jobs.submit(("probe", 7), job, "first")
    jobs.submit(("probe", 7), job, "second")
    blocker.release.set()
    jobs.wait()

    assert job.runs == 1


def test_a_failing_job_is_logged_and_the_next_one_runs(
    jobs: Jobs, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("database gone")

    done = threading.Event()
    jobs.submit(("recycle", 1), broken)
    jobs.wait()
    jobs.submit(("recycle", 1), done.set)
    jobs.wait()

    assert done.is_set()
    assert "background job ('recycle', 1) failed" in caplog.text
