"""The launcher's log file: rotating, private, redacted."""

from __future__ import annotations

import io
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.core import log


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger("rubicon")
    saved = (list(root.handlers), root.level, root.propagate)
    yield
    for handler in root.handlers:
        if handler not in saved[0]:
            handler.close()
    root.handlers[:], root.level, root.propagate = saved


def test_log_file_is_private_and_redacted(tmp_path: Path, restore_logging: None) -> None:
    stream = io.StringIO()
    directory = tmp_path / "logs"
    path = log.setup(level="debug", stream=stream, directory=directory)
    assert path == directory / "rubicon.log"
    log.broker.info("POST /auth/login {'password': 'hunter2'} Authorization: Bearer t0K3n")
    log.client.info("RDP client: /p:hunter2")
    text = path.read_text()
    assert "hunter2" not in text
    assert "t0K3n" not in text
    assert "[redacted]" in text
    assert "hunter2" not in stream.getvalue()  # stderr too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_rotated_files_stay_private(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log, "MAX_BYTES", 2_000)
    path = log.setup(stream=io.StringIO(), directory=tmp_path)
    assert path is not None
    for n in range(200):
        log.app.info("line %d %s", n, "x" * 40)
    files = sorted(tmp_path.glob("rubicon.log*"))
    assert [f.name for f in files] == [
        "rubicon.log",
        "rubicon.log.1",
        "rubicon.log.2",
        "rubicon.log.3",
    ]
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}


def test_an_unwritable_log_directory_is_not_fatal(tmp_path: Path, restore_logging: None) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    stream = io.StringIO()
    assert log.setup(stream=stream, directory=blocker / "logs") is None
    assert "cannot write the log file" in stream.getvalue()


def test_log_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert log.log_dir() == tmp_path / "rubicon" / "log"
