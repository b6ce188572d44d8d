"""launcher.ui.tasks: work off the GUI thread, its outcome on it, and the wait at exit."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject, QThread
from pytestqt.qtbot import QtBot

from launcher.ui import tasks


def test_the_outcome_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    owner = QObject()
    seen: list[tuple[object, bool]] = []
    tasks.run(
        owner,
        lambda: 42,
        on_success=lambda value: seen.append((value, QThread.currentThread().isMainThread())),
        on_failure=lambda error: seen.append((error, False)),
    )

    qtbot.waitUntil(lambda: bool(seen), timeout=5_000)
    assert seen == [(42, True)]


def test_finish_waits_for_work_still_running() -> None:
    done = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        done.set()

    tasks.run(QObject(), slow, on_success=lambda _: None, on_failure=lambda _: None)

    assert tasks.finish(timeout_ms=5_000) is True
    assert done.is_set()


def test_finish_gives_up_after_its_timeout(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    tasks.run(QObject(), release.wait, on_success=lambda _: None, on_failure=lambda _: None)
    try:
        assert tasks.finish(timeout_ms=50) is False
        assert "background work still running at exit" in caplog.text
    finally:
        release.set()
        assert tasks.finish(timeout_ms=5_000) is True
