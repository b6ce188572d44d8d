"""`rubicon-broker serve` and `rubicon-broker migrate`: run the API, bring the
database's tables up to date."""

from __future__ import annotations

import argparse
import ipaddress
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broker_stub import log
from broker_stub.cli.common import (
    RAW,
    CliError,
    Subparsers,
    add_database_url,
    on_engine,
    settings_from,
    with_database,
    wrap,
)
from broker_stub.clock import utcnow
from broker_stub.db.engine import safe_url
from broker_stub.settings import TLS_CERT_FILE, TLS_KEY_FILE, BrokerSettings, config_dir

if TYPE_CHECKING:
    # Loaded when needed, so --help stays quick: cryptography and alembic are big.
    from broker_stub.tls import Certificate

CERT_RENEW_WARNING = timedelta(days=30)

_TLS_NOTE = (
    "It serves HTTPS with the key and certificate that `rubicon-broker init` "
    "made, unless --insecure-http is given, which only a loopback host allows."
)


def add_migrate(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="bring the database's tables up to date",
        description=wrap(
            "Create the broker's tables in an empty database, or upgrade them after "
            "installing a newer broker. `serve` does this too when it starts; run it "
            "yourself to upgrade at a time you choose, or to check the database."
        ),
        epilog="example:\n"
        "  rubicon-broker migrate --database-url postgresql://rubicon@db.example.com/rubicon",
        formatter_class=RAW,
    )
    add_database_url(parser)
    parser.set_defaults(func=_migrate)


def add_serve(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the broker's HTTPS API",
        description=wrap(
            "Bring the database up to date, fill it from the pools file if it has no "
            "pools yet (otherwise log how it differs from the file), then serve the API. "
            + _TLS_NOTE
        ),
        epilog=(
            "example:\n  rubicon-broker serve --config pools.toml --host 0.0.0.0 --port 8443\n"
            "  rubicon-broker serve --config pools.toml --insecure-http   # 127.0.0.1 only\n"
            "  rubicon-broker serve --config pools.toml --host 0.0.0.0 --workers 8\n\n"
            "The pools file format, with comments: resources/pools.example.toml in the\n"
            "source tree, and docs/admin.md."
        ),
        formatter_class=RAW,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the TOML file that describes the pools (or RUBICON_BROKER_CONFIG): it fills "
        "a new database; later starts only log how the database differs from it, and "
        "`rubicon-broker apply FILE` brings a changed file in",
    )
    parser.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port to listen on (default: 8080)")
    parser.add_argument(
        "--workers",
        metavar="N",
        type=_worker_count,
        help="processes that serve the API (or RUBICON_BROKER_WORKERS; default: 1). One "
        "process uses about one core; the number of cores "
        f"({os.cpu_count() or 1} here) is the usual choice. The start-up work runs once, "
        "before the workers start",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="FILE",
        type=Path,
        help=f"PEM certificate (default: {config_dir() / TLS_CERT_FILE})",
    )
    parser.add_argument(
        "--tls-key",
        metavar="FILE",
        type=Path,
        help=f"PEM private key (default: {config_dir() / TLS_KEY_FILE})",
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        default=None,
        help="serve plain HTTP without TLS; allowed on a loopback host only",
    )
    add_database_url(parser)
    parser.add_argument("--log-level", choices=log.LEVELS, default="info", help="(default: info)")
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.set_defaults(func=_serve)


def _worker_count(text: str) -> int:
    count = int(text) if text.isdigit() else 0
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of processes: give 1 or more "
            f"(usually the number of cores, {os.cpu_count() or 1} here)"
        )
    return count


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _serve(args: argparse.Namespace) -> int:
    log.setup(args.log_level, json=args.log_json)
    settings = settings_from(
        config=args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        database_url=args.database_url,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        insecure_http=args.insecure_http,
    )
    # Without a pools file the database is the truth, as `apply` and the admin API leave it.
    cert = _tls_certificate(settings, tls_flags=bool(args.tls_cert or args.tls_key))

    # Imported here so `users add` and --help stay quick.
    import uvicorn

    from broker_stub import server
    from broker_stub.app import create_app

    app = with_database(settings, lambda: create_app(settings))
    if cert is None:
        log.cli.warning("serving plain HTTP: only for tests and demos on this machine")
    else:
        _log_certificate(cert)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        # rubicon.broker.http logs every request once, by route template and
        # with its request id; uvicorn's line would repeat it with the raw path.
        "access_log": False,
        "ssl_certfile": cert.cert if cert else None,
        "ssl_keyfile": cert.key if cert else None,
        **server.uvicorn_options(),
    }
    if settings.workers > 1:
        from broker_stub import workers

        # This app is never served: building it did the one-time work, and a
        # failure there stopped the command with one line, before any worker.
        app.state.engine.dispose()
        return workers.serve(
            settings=settings, log_level=args.log_level, log_json=args.log_json, options=options
        )
    uvicorn.run(app, log_level=args.log_level, **options)
    return 0


def _tls_certificate(settings: BrokerSettings, tls_flags: bool) -> Certificate | None:
    """The certificate to serve, or None for plain HTTP where that is safe."""
    from broker_stub import tls

    if settings.insecure_http:
        if tls_flags:
            raise CliError(
                "--insecure-http and --tls-cert/--tls-key contradict each other; pick one"
            )
        if not is_loopback(settings.host):
            raise CliError(
                f"refusing to serve plain HTTP on {settings.host}: passwords and tokens "
                "would cross the network unencrypted. Leave out --insecure-http to serve "
                "HTTPS (run `rubicon-broker init` first), or listen on 127.0.0.1"
            )
        return None
    try:
        return tls.load(settings.tls_cert, settings.tls_key)
    except tls.TlsError as exc:
        raise CliError(str(exc)) from None


def _log_certificate(cert: Certificate) -> None:
    from broker_stub import tls

    log.cli.info(
        "TLS certificate %s for %s, SHA-256 fingerprint %s",
        cert.cert,
        ", ".join(cert.names) or "(no names)",
        cert.fingerprint,
    )
    upcoming = tls.next_path(cert.cert)
    if upcoming.exists():
        shown = tls.published(cert.cert)
        if shown.next_fingerprint is None:
            log.cli.warning("the next TLS certificate %s cannot be read; not announced", upcoming)
        else:
            log.cli.info(
                "announcing the next TLS certificate %s to launchers, SHA-256 fingerprint %s; "
                "`rubicon-broker init --rotate` puts it in place",
                upcoming,
                shown.next_fingerprint,
            )
    left = cert.not_after - utcnow()
    if left < timedelta(0):
        log.cli.warning(
            "the TLS certificate %s expired on %s; launchers will refuse it. Make a new one "
            "with `rubicon-broker init --force` and tell users the new fingerprint",
            cert.cert,
            cert.not_after.date(),
        )
    elif left < CERT_RENEW_WARNING:
        log.cli.warning(
            "the TLS certificate %s expires on %s; make a new one before then",
            cert.cert,
            cert.not_after.date(),
        )
    if os.name == "posix" and cert.key.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.cli.warning(
            "other users may read the TLS private key %s; run: chmod 600 %s", cert.key, cert.key
        )


def _migrate(args: argparse.Namespace) -> int:
    from broker_stub.db import migrate

    log.setup("warning")
    settings = settings_from(database_url=args.database_url)

    url, result = on_engine(
        settings, lambda engine: (settings.effective_database_url(), migrate.upgrade(engine))
    )
    where = safe_url(url)
    if not result.applied:
        print(f"The database {where} is up to date (revision {result.after}).")
        return 0
    print(
        f"Upgraded the database {where} from "
        f"{f'revision {result.before}' if result.before else 'empty'} to revision {result.after}:"
    )
    for step in result.applied:
        print(f"  {step.id}  {step.title}")
    return 0
