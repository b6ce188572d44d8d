"""A throwaway PostgreSQL cluster: initdb, start on a free loopback port, stop, delete.

Shared by the test suite (tests/helpers/postgres.py wraps it in pytest
fixtures) and the storm benchmark, so it imports neither pytest nor the tests.

Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off PATH.
PostgreSQL will not run as root, so under root the cluster belongs to an
unprivileged system user; otherwise it runs as whoever runs it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broker_stub.demo.xdisplay import free_tcp_port

if TYPE_CHECKING:
    import psycopg

HOST = "127.0.0.1"
SUPERUSER = "rubicon"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Durability buys nothing in a cluster that is deleted after the run.
SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "max_connections": "200",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}

_database_numbers = itertools.count(1)


def find_bindir() -> Path | None:
    """Debian's newest PostgreSQL bin directory, else the one on PATH, else None."""
    debian = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda d: [int(x) for x in d.parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    on_path = shutil.which("initdb")
    candidates = [*debian, *([Path(on_path).resolve().parent] if on_path else [])]
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _owner() -> tuple[int, int] | None:
    """uid and gid to run the cluster as, or None for ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and there is neither a postgres nor a nobody user")


def _as_owner(owner: tuple[int, int] | None) -> dict[str, Any]:
    if owner is None:
        return {}
    return {"user": owner[0], "group": owner[1], "extra_groups": []}


@dataclass
class PostgresServer:
    """A running throwaway cluster; ``stop()`` ends it and deletes its files."""

    bindir: Path
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    owner: tuple[int, int] | None
    host: str = HOST
    user: str = SUPERUSER

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit connection as the superuser (CREATE DATABASE needs autocommit)."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, prefix: str = "test") -> str:
        """Create ``<prefix>_<n>``, empty, and return its SQLAlchemy URL."""
        from psycopg import sql

        name = f"{prefix}_{next(_database_numbers)}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        # FORCE: a test that leaked a connection must not break the teardown.
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            # If pg_ctl hangs or fails, the kill below still ends the server.
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    [self.bindir / "pg_ctl", "stop", "-D", self.datadir, "-m", "fast", "-w"],
                    **_as_owner(self.owner),
                    cwd=self.root,
                    capture_output=True,
                    timeout=STOP_TIMEOUT,
                    check=False,
                )
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)

    def _ready(self) -> bool:
        import psycopg

        try:
            with self.connect():
                return True
        except psycopg.OperationalError:
            return False


def _init_cluster(bindir: Path, root: Path, owner: tuple[int, int] | None) -> None:
    datadir, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, *owner)
    initdb = subprocess.run(
        [
            bindir / "initdb",
            "-D",
            datadir,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        **_as_owner(owner),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed in {root}:\n{initdb.stdout}{initdb.stderr}")
    # No "host all all all" line: only loopback TCP and our own socket get in.
    (datadir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    settings = {**SETTINGS, "unix_socket_directories": f"'{sockets}'"}
    with (datadir / "postgresql.conf").open("a") as conf:
        conf.write("\n# rubicon tests\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


def start_postgres(
    bindir: Path, timeout: float = START_TIMEOUT, *, own_session: bool = False
) -> PostgresServer:
    """initdb a new cluster in a temp dir and start it on a free loopback port.

    ``own_session``: start it in a session of its own, so a Ctrl-C at the
    terminal reaches only the caller, which stops it with ``stop()``.
    """
    owner = _owner()
    # Not under pytest's tmp dirs: those are 0700 root, which the owner cannot enter.
    root = Path(tempfile.mkdtemp(prefix="rubicon-pg-"))
    server: PostgresServer | None = None
    try:
        _init_cluster(bindir, root, owner)
        for _attempt in range(3):
            port = free_tcp_port(HOST)
            with (root / "postgres.log").open("ab") as log:
                process = subprocess.Popen(
                    [bindir / "postgres", "-D", root / "data", "-p", str(port)],
                    **_as_owner(owner),
                    cwd=root,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=own_session,
                )
            server = PostgresServer(bindir, root, port, process, owner)
            deadline = time.monotonic() + timeout
            while process.poll() is None and not server._ready():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not accept connections within {timeout:.0f}s:\n"
                        + server.log_tail()
                    )
                time.sleep(0.05)
            if process.poll() is None:
                return server
            # Someone may have taken the port between our probe and the bind.
            if "could not bind" not in server.log_tail():
                break
        assert server is not None
        raise RuntimeError(f"PostgreSQL exited while starting:\n{server.log_tail()}")
    except BaseException:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
