"""The window's log file opens after its first frame: nothing logged before is lost.

``log.setup(defer_file=True)`` keeps records in memory until
``log.open_deferred_file()``, which writes them to the file first, in order,
then hands the file every record after.
"""

from __future__ import annotations

import io
import logging
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.core import log


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger("rubicon")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    log.open_deferred_file()  # nothing put off may outlive the test
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:], root.level, root.propagate = saved


def lines(path: Path) -> list[str]:
    return [line.split(": ", 1)[1] for line in path.read_text().splitlines()]


def test_records_before_the_file_opens_are_written_first_in_order(
    tmp_path: Path, restore_logging: None
) -> None:
    stream = io.StringIO()
    path = log.setup(level="debug", stream=stream, directory=tmp_path / "logs", defer_file=True)
    assert path == tmp_path / "logs" / log.LOG_FILE
    log.app.info("before the window: %s", "one")
    log.qt.warning("before the window: two")
    log.ui.debug("before the window: three, password=hunter2")
    assert not path.exists()  # nothing opened, nor the folder made, before the frame
    assert "before the window: one" in stream.getvalue()  # stderr has them at once

    assert log.open_deferred_file() == path
    log.app.info("after the window: four")
    assert lines(path) == [
        "before the window: one",
        "before the window: two",
        "before the window: three, password=[redacted]",
        "after the window: four",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert log.open_deferred_file() is None  # once only
    log.app.info("five")
    assert lines(path)[-1] == "five"
    assert lines(path).count("after the window: four") == 1


def test_no_record_from_another_thread_is_lost_or_doubled_at_the_switch(
    tmp_path: Path, restore_logging: None
) -> None:
    path = log.setup(stream=io.StringIO(), directory=tmp_path, defer_file=True)
    assert path is not None
    started = threading.Event()

    def busy() -> None:
        for n in range(3000):
            log.launch.info("line %d", n)
            if n == 100:
                started.set()

    worker = threading.Thread(target=busy)
    worker.start()
    started.wait(timeout=30)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible meanwhile
    try:
        assert log.open_deferred_file() == path
    finally:
        sys.setswitchinterval(old)
    worker.join(timeout=60)
    assert lines(path) == [f"line {n}" for n in range(3000)]


def test_a_file_that_cannot_be_opened_is_not_fatal(tmp_path: Path, restore_logging: None) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    stream = io.StringIO()
    log.setup(stream=stream, directory=blocker / "logs", defer_file=True)
    log.app.info("kept for a file that will not open")
    assert log.open_deferred_file() is None
    assert "cannot write the log file" in stream.getvalue()
    log.app.info("after")  # still on stderr, nowhere else, no error
    assert stream.getvalue().count("kept for a file that will not open") == 1
    assert "after" in stream.getvalue()


def test_without_defer_the_file_opens_at_once(tmp_path: Path, restore_logging: None) -> None:
    path = log.setup(stream=io.StringIO(), directory=tmp_path)
    assert path is not None
    assert path.exists()
    assert log.open_deferred_file() is None
