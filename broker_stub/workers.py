"""`serve --workers N`: one broker node on N processes, so it can use N cores.

One Python process uses about one core, however many the machine has (the
GIL). With more than one worker, the parent process does the one-time work
(`cli` builds the app once: migrations, the pools file, machine repair),
binds the listening socket once, and hands it to uvicorn's supervisor. That
spawns N worker processes which share the socket, starts a new one when one
dies, and stops them all on SIGINT or SIGTERM. The parent serves nothing.

Each worker builds its own app with `create_app(prepared=True)`: its own
engine and connection pool, request gate and scheduler thread (deadlines
fire once however many schedulers run; domain/scheduler.py says how). The
settings reach the worker pickled over multiprocessing's pipe, never in its
environment or on its command line: they may hold the LDAP bind password.
Counters are shared through files (broker_stub/metrics.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from broker_stub import log
from broker_stub.app import create_app
from broker_stub.metrics import SHARED_DIR_ENV
from broker_stub.settings import BrokerSettings


def serve(
    *, settings: BrokerSettings, log_level: str, log_json: bool, options: dict[str, Any]
) -> int:
    """Serve with settings.workers processes until a signal stops them; the exit status.

    `options` are the uvicorn settings `serve` gives one process (host, port, TLS, ...).
    """
    app = functools.partial(worker_app, settings=settings, log_level=log_level, log_json=log_json)
    config = uvicorn.Config(
        app, factory=True, workers=settings.workers, log_level=log_level, **options
    )
    sock = config.bind_socket()
    try:
        # Made before the directory, so a signal from now on is handled, not fatal.
        supervisor = Multiprocess(config, sockets=[sock])
        with _shared_metrics_dir():
            supervisor.run()
    finally:
        sock.close()
    # The supervisor gives up when a worker could not start at all (a bad
    # certificate, say); the status says so, as uvicorn's own does.
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        return STARTUP_FAILURE
    return 0


def worker_app(*, settings: BrokerSettings, log_level: str, log_json: bool) -> FastAPI:
    """The app of one worker; uvicorn calls this in the worker process."""
    log.setup(log_level, json=log_json)
    return create_app(settings, prepared=True)


@contextlib.contextmanager
def _shared_metrics_dir() -> Iterator[None]:
    """A private directory (0700) for the workers' counters, gone when they are."""
    path = tempfile.mkdtemp(prefix="rubicon-broker-metrics-")
    # Workers inherit the environment; only the path goes there, no secret.
    os.environ[SHARED_DIR_ENV] = path
    try:
        yield
    finally:
        os.environ.pop(SHARED_DIR_ENV, None)
        shutil.rmtree(path, ignore_errors=True)
