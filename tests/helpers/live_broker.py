"""A real broker for launcher tests: uvicorn on a free loopback port.

It runs the same ``create_app`` the ``rubicon-broker serve`` command runs,
in a thread of the test process, so the launcher talks real HTTP to it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from broker_stub.app import create_app
from broker_stub.auth.users import set_user
from broker_stub.settings import BrokerSettings


@dataclass(frozen=True)
class Machine:
    name: str
    port: int
    password: str | None = "vncpass1"
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class LiveBroker:
    url: str
    database_url: str
    # The app it serves: tests fire its scheduler (app.state.scheduler.run_once) at a time
    # they choose, or read its database.
    app: FastAPI | None = None


def write_config(
    path: Path,
    pools: dict[str, Sequence[Machine]],
    *,
    users: Sequence[str],
    health_check: bool = False,
) -> Path:
    """One VNC pool per entry, named after its id, entitled to ``users``.

    The broker probes no console unless ``health_check``: most launcher tests
    hand out ports nothing listens on, and a real desktop is what they do not need.
    """
    lines: list[str] = []
    for pool_id, machines in pools.items():
        lines += [
            "[[pools]]",
            f"id = {json.dumps(pool_id)}",
            f"name = {json.dumps(pool_id.replace('-', ' ').title())}",
            'protocol = "vnc"',
            f"users = {json.dumps(list(users))}",
            f"health_check = {json.dumps(health_check)}",
        ]
        for m in machines:
            lines += [
                "[[pools.machines]]",
                f"name = {json.dumps(m.name)}",
                f"host = {json.dumps(m.host)}",
                f"port = {m.port}",
            ]
            if m.password is not None:
                lines.append(f"password = {json.dumps(m.password)}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


@contextmanager
def live_broker(
    tmp_path: Path,
    *,
    pools: dict[str, Sequence[Machine]],
    users: dict[str, str],
    tls: tuple[Path, Path] | None = None,
    health_check: bool = False,
    port: int = 0,
) -> Iterator[LiveBroker]:
    """``tls``: (certificate, key) to serve HTTPS with, as ``serve`` does (a
    ``next-cert.pem`` beside the certificate is announced, as ``serve`` does);
    ``health_check``: probe consoles before handing machines out (real desktops);
    ``port``: the one a broker served before (a restart), else a free one."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{tmp_path / 'broker.sqlite3'}"
    settings = BrokerSettings(
        database_url=database_url,
        config=write_config(
            tmp_path / "pools.toml", pools, users=list(users), health_check=health_check
        ),
        **({"tls_cert": tls[0], "tls_key": tls[1]} if tls else {}),
    )
    app = create_app(settings)
    with app.state.session_factory() as db:
        for name, password in users.items():
            set_user(db, name, password, display_name=name.title())
    with serve(app, tls=tls, port=port) as url:
        yield LiveBroker(url=url, database_url=database_url, app=app)


@contextmanager
def serve(app: FastAPI, *, tls: tuple[Path, Path] | None = None, port: int = 0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port (or ``port``), its lifespan
    included; its URL.

    For tests that build the app themselves (their own pools file and settings).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart on the same port
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    if tls is not None:
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            ssl_certfile=str(tls[0]),
            ssl_keyfile=str(tls[1]),
        )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test broker did not start")
        time.sleep(0.02)
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
