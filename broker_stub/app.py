"""Build the broker's ASGI application from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI

import broker_stub
from broker_stub import log, tls
from broker_stub.api import admin, auth, desktops, health, problems, sessions
from broker_stub.api import tls as tls_routes
from broker_stub.api.admission import AdmissionGate
from broker_stub.api.edge import TextGuard
from broker_stub.api.observe import RequestObserver
from broker_stub.auth.directory import Directory
from broker_stub.backends import Backends
from broker_stub.clock import Clock, utcnow
from broker_stub.config import load_config
from broker_stub.db import migrate
from broker_stub.db.engine import make_engine, make_session_factory, request_slots, safe_url
from broker_stub.domain.desired_startup import apply_pools_file
from broker_stub.domain.pool_health import health_listener, upkeep_soon
from broker_stub.domain.pools import repair_machines
from broker_stub.domain.scheduler import Scheduler
from broker_stub.domain.upkeep import Upkeep
from broker_stub.metrics import Metrics
from broker_stub.settings import BrokerSettings, LdapSettings


class BrokerAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            problems.fix_openapi_media_types(super().openapi())
        return super().openapi()


def create_app(
    settings: BrokerSettings, *, clock: Clock = utcnow, prepared: bool = False
) -> FastAPI:
    """Open the database, bring its schema up to date, fill a new database
    from the pools file (domain/desired_startup.py says why only a new one),
    give machines in error another chance, and wire the routes. With
    `prepared`, `serve --workers` did that one-time work in its parent
    process already, and the app only opens the database.

    Raises ConfigError for a bad pools file or LDAP settings, MigrationError for a database the
    migrations cannot handle, and SQLAlchemy errors when the database cannot
    be reached, before any request is served. `clock` is the time the
    routes go by (tests pass one they can move; it stays in app.state.clock).
    """
    # Read before the database is touched: a mistake in the file costs nothing.
    path = settings.config
    pools_file = None if path is None or prepared else (path, load_config(path))
    directory = _directory(settings.ldap)
    url = settings.effective_database_url()
    engine = make_engine(url)
    try:
        session_factory = make_session_factory(engine)
        if not prepared:
            migrate.upgrade(engine)
            if pools_file is None:
                log.config.warning("no pools file given; pools in the database stay as they are")
            else:
                apply_pools_file(engine, *pools_file)
            with session_factory() as db:
                repair_machines(db)
                db.commit()
    except BaseException:
        engine.dispose()
        raise
    log.db.info("using database %s", safe_url(url))

    def node_clock() -> datetime:
        # The app's clock as it is now: tests move or replace app.state.clock.
        current: Clock = app.state.clock
        return current()

    backends = Backends(
        on_health=health_listener(session_factory, node_clock),
        on_change=upkeep_soon(session_factory),
    )
    upkeep = Upkeep(session_factory, backends, clock=node_clock)
    scheduler = Scheduler(
        session_factory,
        upkeep,
        interval=settings.scheduler_interval,
        upkeep_interval=settings.upkeep_interval,
        clock=node_clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.scheduler:
            scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()
            upkeep.close()
            backends.close()
            engine.dispose()

    app = BrokerAPI(
        title="Rubicon broker",
        version=broker_stub.__version__,
        summary="Signs users in, lists their desktops and hands out machines.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.directory = directory
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.metrics = Metrics(session_factory)
    # Added first, so it sits inside the observer, whose timing includes the wait.
    app.add_middleware(AdmissionGate, limit=settings.request_slots or request_slots(engine))
    # Inside the observer, so a refusal is logged and counted like any other.
    app.add_middleware(TextGuard)
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    app.state.backends = backends
    app.state.upkeep = upkeep
    app.state.scheduler = scheduler
    # What launchers are told about the certificates: those of the pair served now.
    app.state.tls = tls.published(None if settings.insecure_http else settings.tls_cert)
    problems.install(app)
    for module in (auth, desktops, sessions, admin, health, tls_routes):
        app.include_router(module.router)
    return app


def _directory(settings: LdapSettings) -> Directory | None:
    """The configured directory, or None when LDAP is off.

    Raises ConfigError (broker_stub.config) for settings that cannot work.
    """
    if not settings.enabled:
        return None
    # Here, not at the top: a broker without LDAP starts without loading ldap3.
    from broker_stub.auth.ldap import LdapDirectory

    return LdapDirectory(settings)
