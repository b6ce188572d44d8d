"""The launcher's named loggers and their one-time setup.

Modules log through these names instead of ``logging.getLogger(__name__)`` so
an admin can turn one area up (``--log-level debug``) and read a log that is
grouped by what happened, not by file layout.

Besides stderr, :func:`setup` can keep a log file, ``rubicon.log`` in the
user's log directory (:func:`log_dir`): rotated at 1 MB with three old files
kept, each created 0600 in a 0700 directory. Every line written to it, and
to stderr, passes through :func:`launcher.core.redact.redact` first.

The window opens the file only once its first frame is painted
(``setup(defer_file=True)``, then :func:`open_deferred_file`): until then the
records are kept in memory, and written to the file first, in order, when it
opens. Importing this module loads neither ``logging.handlers`` nor
``platformdirs`` nor ``json``: the file handler, the log directory and the
JSON formatter load them when first used.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from launcher.core.redact import redact

if TYPE_CHECKING:
    import io
    import logging.handlers

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
    import platformdirs

    return Path(platformdirs.user_log_dir("rubicon", appauthor=False))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for tests and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        import json
        from datetime import UTC, datetime

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


@functools.cache
def _private_handler_class() -> type[logging.handlers.RotatingFileHandler]:
    """The rotating handler that creates its files 0600; defined (and
    ``logging.handlers`` imported) when the first log file is opened."""
    import logging.handlers

    class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
        """A rotating log file created 0600, whatever the umask says."""

        def _open(self) -> io.TextIOWrapper:
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.chmod(self.baseFilename, 0o600)
            return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)

    return PrivateRotatingFileHandler


def _plain() -> logging.Formatter:
    return RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")


def file_handler(directory: Path) -> logging.Handler:
    """The rotating ``rubicon.log`` in ``directory`` (made 0700 if missing)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = _private_handler_class()(
        directory / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s [%(threadName)s]: %(message)s")
    )
    return handler


class _Early(logging.Handler):
    """Keeps records until the deferred log file is open, then hands each to it.

    A record is formatted the way a ``QueueHandler`` prepares one (message
    merged with its arguments) so that it reads the same when written later.
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.target: logging.Handler | None = None  # the file, once open

    def emit(self, record: logging.LogRecord) -> None:
        if self.target is not None:  # a record that raced the switch to the file
            self.target.handle(record)
            return
        record.msg = record.getMessage()
        record.args = None
        self.records.append(record)


_deferred: tuple[Path, _Early] | None = None  # what setup(defer_file=True) put off


def setup(
    *,
    level: str = "info",
    json_output: bool = False,
    stream: TextIO | None = None,
    directory: Path | None = None,
    defer_file: bool = False,
) -> Path | None:
    """Send the ``rubicon`` loggers to ``stream`` (stderr by default).

    With ``directory``, also to the rotating log file there; returns its path,
    or None if there is none (or it could not be opened: logged, not fatal).
    With ``defer_file`` the file is opened only by :func:`open_deferred_file`;
    records logged before are kept in memory and written to it first. The
    path returned is then where it will be.
    """
    global _deferred
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_output else _plain())
    root = logging.getLogger("rubicon")
    handlers: list[logging.Handler] = [handler]
    path: Path | None = None
    problem: OSError | None = None
    _deferred = None
    if directory is not None and defer_file:
        early = _Early()
        handlers.append(early)
        _deferred = (directory, early)
        path = directory / LOG_FILE
    elif directory is not None:
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


def open_deferred_file() -> Path | None:
    """Open the log file ``setup(defer_file=True)`` put off; write what was kept, in order.

    Returns its path; None if nothing was put off, or it could not be opened
    (logged: the records kept then stay on stderr only, as without a file).
    Calling it again does nothing.
    """
    global _deferred
    if _deferred is None:
        return None
    (directory, early), _deferred = _deferred, None
    root = logging.getLogger("rubicon")
    lock = early.lock
    assert lock is not None  # logging.Handler makes one
    with lock:  # a record from another thread waits, then goes to the file
        try:
            opened = file_handler(directory)
        except OSError as e:
            early.records.clear()
            early.target = logging.NullHandler()
            if early in root.handlers:
                root.handlers.remove(early)
            problem = e
        else:
            for record in early.records:
                if record.levelno >= opened.level:
                    opened.handle(record)
            early.records.clear()
            early.target = opened
            # In place: a thread logging right now meets one handler or the other.
            if early in root.handlers:
                root.handlers[root.handlers.index(early)] = opened
            return directory / LOG_FILE
    app.warning("cannot write the log file in %s: %s", directory, problem)
    return None
