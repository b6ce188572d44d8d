"""SQLite writers take turns in front of SQLite's lock: the next one goes as soon
as a transaction ends, within the busy timeout, across threads and processes."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from broker_stub.db.engine import make_engine
from broker_stub.db.sqlite_writer import WriterQueue


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def test_a_writer_waits_its_turn_before_sqlite_sees_its_statement(engine: Engine) -> None:
    # What SQLite itself ran, in order (its trace hook), on every connection.
    ran: list[str] = []
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(ran.append))
    engine.dispose()
    first_wrote = threading.Event()

    def second() -> None:
        first_wrote.wait(5)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))

    thread = threading.Thread(target=second)
    thread.start()
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        first_wrote.set()
        time.sleep(0.3)  # the second writer is waiting meanwhile
        ran.append("-- first commits")
        conn.commit()
    thread.join(10)
    statements = [s for s in ran if "INSERT" in s or s.startswith("--")]
    # Without the queue the second INSERT would reach SQLite at once and
    # sleep in its busy handler, before the first commit.
    assert statements == [
        "INSERT INTO t VALUES (1)",
        "-- first commits",
        "INSERT INTO t VALUES (2)",
    ]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [1, 2]


def test_the_turn_comes_back_on_rollback_and_when_a_connection_is_handed_back(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.rollback()
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        # closed without commit or rollback: the pool rolls it back
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))  # would wait 5 s and fail if not
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [3]


def test_a_writer_gives_up_after_the_busy_timeout_with_database_is_locked(
    engine: Engine,
) -> None:
    failed: list[BaseException] = []

    def second() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=200")
            try:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            except OperationalError as exc:
                failed.append(exc)
            conn.exec_driver_sql("PRAGMA busy_timeout=5000")

    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(10)
        conn.commit()
    assert len(failed) == 1
    assert "database is locked" in str(failed[0])


def test_reads_do_not_wait_for_a_writer(engine: Engine) -> None:
    with engine.connect() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        writer.commit()


def test_queues_on_one_file_exclude_each_other_like_processes_do(tmp_path: Path) -> None:
    # Two queues have two open files: flock excludes them as it would two processes.
    database = tmp_path / "x.sqlite3"
    one, two = WriterQueue(database), WriterQueue(database)
    assert one.acquire(timeout=1)
    assert not two.acquire(timeout=0.2)
    one.release()
    assert two.acquire(timeout=1)
    two.release()
    lock_file = tmp_path / "x.sqlite3.writer-lock"
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    one.close()
    two.close()
