"""A queue for SQLite's one writer, in front of SQLite's own lock.

SQLite lets one connection write at a time. A connection that finds the
write lock taken waits in SQLite's busy handler, which sleeps in growing
steps (1, 2, 5, 10 ... 100 ms) and tries again: in a launch storm writers
sleep while the lock is free, and now and then one sleeps past the busy
timeout and fails with "database is locked". Here a connection about to
write first waits for its turn on a lock of its process, then on a lock
file beside the database that every process on it shares (`serve` workers,
a second node, the CLI), and gives the turn back when its transaction ends,
so the next writer goes at once.

SQLite's lock still decides who writes; this only orders the waiting. A
program that does not take part (the sqlite3 shell) is still safe, and the
turn is given up after the busy timeout, as SQLite would.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from broker_stub import log

try:
    import fcntl
except ImportError:  # Windows: the turn is kept within the process only
    fcntl = None  # type: ignore[assignment]

# Statements that take SQLite's write lock. pysqlite begins a transaction
# right before the first of them; SELECTs before it run outside any.
_WRITES = re.compile(
    r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|BEGIN\s+(IMMEDIATE|EXCLUSIVE))\b",
    re.IGNORECASE,
)
# A connection waits for its turn as long as SQLite would wait for the lock:
# its busy timeout, which migrate.lock raises for a while.
_BUSY_TIMEOUT = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)", re.IGNORECASE)
# Keys in the DBAPI connection's info dict.
_HOLDS = "rubicon_sqlite_writer"
_WAIT = "rubicon_sqlite_wait"
_POLL_S = 0.0005


class WriterQueue:
    """One writing transaction at a time, across the threads and processes on one file."""

    def __init__(self, database: Path) -> None:
        self._turn = threading.Lock()
        self._path = database.with_name(database.name + ".writer-lock")
        # Opened on first use, closed when the engine is disposed or collected.
        self._fds: list[int] = []
        weakref.finalize(self, _close_all, self._fds)

    def acquire(self, *, timeout: float) -> bool:
        """Wait for the turn; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if not self._turn.acquire(timeout=timeout):
            return False
        fd = self._file()
        if fd is None or fcntl is None:
            return True
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._turn.release()
                    return False
                time.sleep(_POLL_S)

    def release(self) -> None:
        if self._fds and fcntl is not None:
            fcntl.flock(self._fds[0], fcntl.LOCK_UN)
        self._turn.release()

    def close(self) -> None:
        """Close the lock file unless a turn is on; the next turn opens it again."""
        if self._turn.acquire(blocking=False):
            try:
                _close_all(self._fds)
            finally:
                self._turn.release()

    def _file(self) -> int | None:
        if not self._fds:
            try:
                self._fds.append(os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            except OSError as exc:
                # A read-only folder: other processes' writers queue in SQLite's busy handler.
                log.db.debug("no writer lock file %s (%s)", self._path, exc)
                return None
        return self._fds[0]


def _close_all(fds: list[int]) -> None:
    while fds:
        os.close(fds.pop())


def install(engine: Engine, database: Path, *, timeout: float) -> WriterQueue:
    """Make `engine`'s connections wait their turn before writing, at most
    `timeout` seconds (the connections' busy timeout) unless they change that."""
    queue = WriterQueue(database)

    def before_execute(
        conn: Connection, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if conn.info.get(_HOLDS) or not _WRITES.match(statement):
            busy = _BUSY_TIMEOUT.match(statement)
            if busy:
                conn.info[_WAIT] = int(busy.group(1)) / 1000
            return
        if not queue.acquire(timeout=conn.info.get(_WAIT, timeout)):
            raise OperationalError(
                statement, None, _Locked("database is locked: no turn to write within the timeout")
            )
        conn.info[_HOLDS] = True

    def transaction_ended(conn: Connection) -> None:
        _give_back(conn.info)

    # A connection closed or handed back mid-transaction is rolled back by the pool.
    def returned(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        _give_back(record.info)

    def reset(_dbapi: DBAPIConnection, record: ConnectionPoolEntry, _state: Any) -> None:
        _give_back(record.info)

    def _give_back(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS, False):
            queue.release()

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", transaction_ended)
    event.listen(engine, "rollback", transaction_ended)
    event.listen(engine.pool, "reset", reset)
    event.listen(engine.pool, "checkin", returned)
    event.listen(engine.pool, "close", returned)
    event.listen(engine, "engine_disposed", lambda _engine: queue.close())
    return queue


class _Locked(Exception):
    """Stands in for the driver's error in the OperationalError raised on a timeout."""
