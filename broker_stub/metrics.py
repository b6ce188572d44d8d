"""Prometheus metrics: one registry per app, never the process-wide default.

Counters and the launch-time histogram are fed by the request observer
(broker_stub.api.observe); the gauges of sessions and machines by state are
counted from the database when Prometheus scrapes, so every broker node
reports the same numbers and nothing is kept in memory between scrapes.

A node that serves with several worker processes (`serve --workers`) gives
them a shared directory in PROMETHEUS_MULTIPROC_DIR, prometheus_client's own
switch, set before the workers import it: each worker then keeps its counts
in files there, and a scrape of any worker reads all the files, so it shows
the node's sums. The files of a worker that died stay: its counts are part
of the node's totals (prometheus_client's mark_process_dead would remove only
files of live-mode gauges, which the broker does not have).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from broker_stub import log
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Machine,
    MachineState,
    Pool,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Launches take tens of milliseconds when a machine is free, seconds when a
# backend has to act; the buckets cover both.
LAUNCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SHARED_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The broker's metrics; lives in app.state.metrics."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        own: CollectorRegistry | None = self.registry
        shared = os.environ.get(SHARED_DIR_ENV)
        if shared:
            # The files hold this worker's counts too: registered here as
            # well, they would be in a scrape twice. (That module has no type hints.)
            MultiProcessCollector(self.registry, path=shared)  # type: ignore[no-untyped-call]
            own = None
        self.requests = Counter(
            "rubicon_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=own,
        )
        self.sign_ins = Counter(
            "rubicon_sign_ins",
            "Sign-in attempts: outcome ok or failed; reason is the problem code of a failure.",
            ["outcome", "reason"],
            registry=own,
        )
        self.launches = Counter(
            "rubicon_launches",
            "Launch requests by pool and outcome (ok, starting, or the problem code).",
            ["pool", "outcome"],
            registry=own,
        )
        self.launch_seconds = Histogram(
            "rubicon_launch_duration_seconds",
            "Time to answer a successful launch: allocation, or reconnection to a session.",
            buckets=LAUNCH_BUCKETS,
            registry=own,
        )
        self.registry.register(StateCollector(session_factory))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StateCollector(Collector):
    """Sessions and machines by pool and state, counted at scrape time."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def describe(self) -> list[Metric]:
        # Describing must not touch the database (it runs at registration).
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "rubicon_database_up", "1 if the last scrape could read the database, else 0."
        )
        try:
            with self._session_factory() as db:
                families = list(self._count(db))
        except SQLAlchemyError as exc:
            log.db.warning("metrics: cannot read the database: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _count(self, db: Session) -> Iterator[Metric]:
        health = db.execute(select(Pool.id, Pool.degraded_since).order_by(Pool.id)).all()
        pools = [pool_id for pool_id, _ in health]
        degraded = GaugeMetricFamily(
            "rubicon_pool_degraded",
            "1 while the pool's backend keeps failing (its hypervisor), else 0.",
            labels=["pool"],
        )
        for pool_id, since in health:
            degraded.add_metric([pool_id], 0 if since is None else 1)
        yield degraded
        sessions = GaugeMetricFamily(
            "rubicon_sessions", "Live sessions by pool and state.", labels=["pool", "state"]
        )
        live = dict.fromkeys(((p, s.value) for p in pools for s in LIVE_SESSION_STATES), 0)
        rows = db.execute(
            select(DesktopSession.pool_id, DesktopSession.state, func.count())
            .where(DesktopSession.state.in_(LIVE_SESSION_STATES))
            .group_by(DesktopSession.pool_id, DesktopSession.state)
        )
        for pool_id, state, count in rows:
            live[(pool_id, state)] = count
        for (pool_id, state), count in sorted(live.items()):
            sessions.add_metric([pool_id, state], count)
        yield sessions

        machines = GaugeMetricFamily(
            "rubicon_machines", "Machines by pool and state.", labels=["pool", "state"]
        )
        states = dict.fromkeys(((p, s.value) for p in pools for s in MachineState), 0)
        rows = db.execute(
            select(Machine.pool_id, Machine.state, func.count()).group_by(
                Machine.pool_id, Machine.state
            )
        )
        for pool_id, state, count in rows:
            states[(pool_id, state)] = count
        for (pool_id, state), count in sorted(states.items()):
            machines.add_metric([pool_id, state], count)
        yield machines
