"""The launcher's named loggers and their one-time setup.

Modules log through these names instead of ``logging.getLogger(__name__)`` so
an admin can turn one area up (``--log-level debug``) and read a log that is
grouped by what happened, not by file layout.

Besides stderr, :func:`setup` can keep a log file, ``rubicon.log`` in the
user's log directory (:func:`log_dir`): rotated at 1 MB with three old files
kept, each created 0600 in a 0700 directory. Every line written to it, and
to stderr, passes through :func:`launcher.core.redact.redact` first.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import platformdirs

from launcher.core.redact import redact

app = logging.getLogger("rubicon.app")
broker = logging.getLogger("rubicon.brokerclient")  # rubicon.broker.* is the server
launch = logging.getLogger("rubicon.launch")
client = logging.getLogger("rubicon.client")  # what native clients print
ui = logging.getLogger("rubicon.ui")
qt = logging.getLogger("rubicon.qt")


LOG_FILE = "rubicon.log"
MAX_BYTES = 1_000_000
BACKUPS = 3


def log_dir() -> Path:
    """Where the launcher keeps its log files (platformdirs' user log directory)."""
    return Path(platformdirs.user_log_dir("rubicon", appauthor=False))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for tests and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """A plain formatter whose output has passed through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file created 0600, whatever the umask says."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(self.baseFilename, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def _plain() -> logging.Formatter:
    return RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")


def file_handler(directory: Path) -> logging.Handler:
    """The rotating ``rubicon.log`` in ``directory`` (made 0700 if missing)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = PrivateRotatingFileHandler(
        directory / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s [%(threadName)s]: %(message)s")
    )
    return handler


def setup(
    *,
    level: str = "info",
    json_output: bool = False,
    stream: TextIO | None = None,
    directory: Path | None = None,
) -> Path | None:
    """Send the ``rubicon`` loggers to ``stream`` (stderr by default).

    With ``directory``, also to the rotating log file there; returns its path,
    or None if there is none (or it could not be opened: logged, not fatal).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_output else _plain())
    root = logging.getLogger("rubicon")
    handlers: list[logging.Handler] = [handler]
    path: Path | None = None
    problem: OSError | None = None
    if directory is not None:
        try:
            handlers.append(file_handler(directory))
            path = directory / LOG_FILE
        except OSError as e:
            problem = e
    for old in root.handlers:
        if old not in handlers:
            old.close()
    root.handlers[:] = handlers
    root.setLevel(level.upper())
    root.propagate = False
    if problem is not None:
        app.warning("cannot write the log file in %s: %s", directory, problem)
    return path
