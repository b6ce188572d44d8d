"""Two `rubicon-broker serve` processes that start at the same moment on one
database, with one pools file, as broker nodes do after an upgrade.

Each process imports the broker first, says so, and waits for the test's go
before it runs `serve`, so the two reach the database together instead of an
import time apart. Several rounds on a new PostgreSQL database and a new
SQLite file: both must answer /healthz, the database must hold each pool and
machine once, and the logs must say that one filled it and the other found
it filled. Every process is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from broker_stub.db.engine import make_engine
from broker_stub.db.models import Machine, Pool
from broker_stub.demo.xdisplay import free_tcp_port, stop_process
from tests.helpers.e2e import wait_for
from tests.unit.broker_stub.conftest import to_toml

pytestmark = pytest.mark.e2e

ROUNDS = 3
NODES = 2
POOLS = [
    {
        "id": f"pool-{p}",
        "name": f"Pool {p}",
        "protocol": "vnc",
        "health_check": False,  # made-up hosts: never probed
        "groups": ["staff"],
        "machines": [{"name": f"m-{p}-{m}", "host": f"10.0.{p}.{m}"} for m in range(40)],
    }
    for p in range(3)
]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
FILLED = "the database had no pools, so start-up added them"
MATCHES = "the database matches it, nothing changed"

# Import first, touch READY, wait for GO, then run the command as the entry point would.
NODE = """
import sys, time
from pathlib import Path
import uvicorn
from broker_stub import app, cli
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.002)
sys.exit(cli.main(sys.argv[3:]))
"""


@dataclass
class Node:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT)


def start_node(config: Path, database_url: str, log: Path, go: Path) -> Node:
    port = free_tcp_port("127.0.0.1")
    argv = [
        *("serve", "--insecure-http", "--host", "127.0.0.1", "--port", str(port)),
        *("--config", str(config), "--database-url", database_url, "--log-level", "info"),
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", NODE, f"{log}.ready", str(go), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Node(url=f"http://127.0.0.1:{port}", process=process, log=log)


def ready(node: Node) -> bool:
    if node.process.poll() is not None:
        pytest.fail(f"{node.log.name} exited:\n{node.log.read_text()[-3000:]}", pytrace=False)
    return Path(f"{node.log}.ready").exists()


def healthy(node: Node) -> bool:
    if node.process.poll() is not None:
        pytest.fail(f"{node.log.name} exited:\n{node.log.read_text()[-3000:]}", pytrace=False)
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{node.url}/healthz", timeout=2).status_code == 200
    return False


@pytest.mark.timeout(300)
def test_nodes_started_together_fill_the_database_once(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    config = tmp_path / "pools.toml"
    config.write_text(to_toml(POOLS))
    config.chmod(0o600)
    for round_ in range(ROUNDS):
        url = new_database()
        go = tmp_path / f"round-{round_}.go"
        nodes: list[Node] = []
        try:
            for n in range(NODES):
                log = tmp_path / f"round-{round_}-node-{n}.log"
                nodes.append(start_node(config, url, log, go))
            for node in nodes:
                wait_for(lambda node=node: ready(node), timeout=START_TIMEOUT, what="imports")
            go.touch()
            for node in nodes:
                wait_for(lambda node=node: healthy(node), timeout=START_TIMEOUT, what="/healthz")
        finally:
            for node in nodes:
                node.stop()

        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                pools = sorted(conn.scalars(select(Pool.id)))
                machines = sorted(
                    tuple(r) for r in conn.execute(select(Machine.pool_id, Machine.name))
                )
        finally:
            engine.dispose()
        assert pools == [p["id"] for p in POOLS]
        assert machines == sorted((p["id"], m["name"]) for p in POOLS for m in p["machines"])
        logs = [node.log.read_text() for node in nodes]
        assert sum(FILLED in text for text in logs) == 1, logs
        assert sum(MATCHES in text for text in logs) == NODES - 1, logs
