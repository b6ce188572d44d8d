"""`rubicon-broker`: set up and run the broker, and manage its users.

Every sub-command registers a handler with `set_defaults(func=...)`; the
handler takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import ipaddress
import os
import socket
import stat
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from broker_stub import __version__, demo, log
from broker_stub.clock import utcnow
from broker_stub.config import ConfigError
from broker_stub.db.engine import make_engine, make_session_factory, safe_url
from broker_stub.domain.errors import BrokerError
from broker_stub.settings import TLS_CERT_FILE, TLS_KEY_FILE, BrokerSettings, config_dir

if TYPE_CHECKING:
    # Loaded when needed, so --help stays quick: cryptography and alembic are big.
    from broker_stub.tls import Certificate

PROG = "rubicon-broker"
EXIT_USAGE = 2
EXIT_REFUSED = 1
CERT_RENEW_WARNING = timedelta(days=30)

_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
T = TypeVar("T")

_TLS_NOTE = (
    "It serves HTTPS with the key and certificate that `rubicon-broker init` "
    "made, unless --insecure-http is given, which only a loopback host allows."
)


class CliError(Exception):
    """Something the person at the terminal must fix; printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status: int = args.func(args)
    except (CliError, ConfigError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokerError as exc:
        # An admin command refused by the domain (unknown user, machine in use, ...).
        print(f"{PROG}: {exc.detail}", file=sys.stderr)
        return EXIT_REFUSED
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_wrap(
            "Rubicon's connection broker: signs users in, lists the desktops "
            "they may use and hands out machines."
        ),
        epilog="example:\n"
        "  rubicon-broker init --hostname broker.example.com\n"
        "  rubicon-broker users add demo --display-name 'Demo User' --group staff\n"
        "  rubicon-broker serve --config /etc/rubicon/pools.toml --host 0.0.0.0\n\n"
        "Settings can also come from RUBICON_BROKER_* environment variables\n"
        "(RUBICON_BROKER_CONFIG, RUBICON_BROKER_DATABASE_URL, ...).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_init(subparsers)
    _add_migrate(subparsers)
    _add_serve(subparsers)
    _add_users(subparsers)
    from broker_stub import cli_admin  # it imports this module's helpers

    cli_admin.add_commands(subparsers)
    demo.add_demo_command(subparsers)
    return parser


def _wrap(text: str) -> str:
    # Raw formatting keeps the examples' line breaks, so wrap prose ourselves.
    return textwrap.fill(text, width=78)


def _add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy database URL (default: a SQLite file in your data directory)",
    )


def _add_init(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="make the broker's TLS key and self-signed certificate",
        description=_wrap(
            "Make a private key and a self-signed certificate for the broker's "
            "HTTPS, and print the certificate's SHA-256 fingerprint: launchers pin "
            "it. The certificate names the given host names plus localhost, "
            "127.0.0.1 and ::1, and is valid for two years."
        ),
        epilog="example:\n"
        "  rubicon-broker init --hostname broker.example.com --hostname 192.0.2.10\n"
        "  rubicon-broker init --next --hostname broker.example.com   # weeks before\n"
        "  rubicon-broker init --rotate                               # then restart serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        help=f"where to write {TLS_CERT_FILE} and {TLS_KEY_FILE} (default: {config_dir()})",
    )
    parser.add_argument(
        "--hostname",
        metavar="NAME",
        action="append",
        default=[],
        help="a name or address launchers use to reach the broker; repeat for several "
        "(default: this machine's host name)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--next",
        action="store_true",
        help="make the NEXT key and certificate (next-key.pem, next-cert.pem): `serve` "
        "announces it, and launchers that sign in meanwhile accept it after --rotate",
    )
    when.add_argument(
        "--rotate",
        action="store_true",
        help="put the next key and certificate in place (the current ones are kept as "
        "previous-*.pem); then restart `serve` on every node",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing key and certificate"
    )
    parser.set_defaults(func=_init)


def _add_migrate(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="bring the database's tables up to date",
        description=_wrap(
            "Create the broker's tables in an empty database, or upgrade them after "
            "installing a newer broker. `serve` does this too when it starts; run it "
            "yourself to upgrade at a time you choose, or to check the database."
        ),
        epilog="example:\n"
        "  rubicon-broker migrate --database-url postgresql://rubicon@db.example.com/rubicon",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database_url(parser)
    parser.set_defaults(func=_migrate)


def _add_serve(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the broker's HTTPS API",
        description=_wrap(
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    _add_database_url(parser)
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


def _add_users(subparsers: _Subparsers) -> None:
    users = subparsers.add_parser(
        "users",
        help="manage user accounts",
        description="Manage the broker's user accounts.",
        epilog="example:\n  rubicon-broker users add alice --group staff",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    users.set_defaults(func=lambda _args: _usage(users))
    actions = users.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a user, or set a new password for an existing one",
        description=_wrap(
            "Add a user, or set a new password for an existing one. The password "
            "is asked for twice on the terminal unless --password-stdin is given."
        ),
        epilog="examples:\n"
        "  rubicon-broker users add alice --display-name 'Alice Liddell' --group staff\n"
        "  printf '%s\\n' \"$PASSWORD\" | rubicon-broker users add bob --password-stdin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("name", metavar="NAME", help="the username to sign in with")
    add.add_argument("--display-name", metavar="X", help="the name shown in the launcher")
    add.add_argument(
        "--group",
        metavar="G",
        action="append",
        help="a group the user belongs to; repeat for several (replaces the stored groups)",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line from stdin"
    )
    add.add_argument(
        "--admin", action="store_true", help="make the user an admin (may use the admin API)"
    )
    _add_database_url(add)
    add.set_defaults(func=_users_add)
    from broker_stub import cli_admin

    cli_admin.add_user_actions(actions)
    totp = actions.add_parser(
        "totp",
        help="enrol a user in TOTP codes (a second factor), or remove them",
        description=_wrap(
            "Give a user a new TOTP secret and print it once, as an otpauth:// URI "
            "for an authenticator app (most show it as a QR code; `qrencode -t ANSI` "
            "draws one in a terminal) and as text to type in. From then on the user "
            "signs in with a password and the app's current code. The user must "
            "exist: add local users with `users add`; an LDAP user exists after "
            "their first sign-in."
        ),
        epilog="examples:\n"
        "  rubicon-broker users totp alice\n"
        "  rubicon-broker users totp alice --force    # a new secret; the old one stops working\n"
        "  rubicon-broker users totp alice --remove",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    totp.add_argument("name", metavar="NAME", help="the username")
    totp_mode = totp.add_mutually_exclusive_group()
    totp_mode.add_argument(
        "--force", action="store_true", help="replace the secret of a user who already has one"
    )
    totp_mode.add_argument("--remove", action="store_true", help="stop asking this user for codes")
    _add_database_url(totp)
    totp.set_defaults(func=_users_totp)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _settings(**overrides: Any) -> BrokerSettings:
    """Settings from the environment, with the flags that were given on top."""
    try:
        return BrokerSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise CliError(f"bad setting {where}: {err['msg']}") from None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _serve(args: argparse.Namespace) -> int:
    log.setup(args.log_level, json=args.log_json)
    settings = _settings(
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

    app = _with_database(settings, lambda: create_app(settings))
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


def _init(args: argparse.Namespace) -> int:
    from broker_stub import tls

    directory: Path = args.dir or config_dir()
    if args.rotate:
        return _rotate(directory, hostnames=args.hostname)
    hostnames: list[str] = args.hostname or _this_host()
    try:
        cert = tls.create(directory, hostnames, force=args.force, upcoming=args.next)
    except tls.TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write to {directory}: {exc.strerror or exc}") from None
    if args.next:
        print(
            f"Made the NEXT TLS key and self-signed certificate for {', '.join(cert.names)}, "
            f"valid until {cert.not_after.date()}.\n"
            f"  certificate:  {cert.cert}\n"
            f"  private key:  {cert.key} (readable by you only)\n"
            f"SHA-256 fingerprint of the next certificate:\n"
            f"  {cert.fingerprint}\n"
            "Restart `rubicon-broker serve` (every node, with a copy of both files): it keeps\n"
            "serving the current certificate and announces this one. Launchers that pinned\n"
            "the current one and sign in meanwhile accept this one too. Later, run\n"
            "`rubicon-broker init --rotate` and restart `serve` again."
        )
        return 0
    serve_hint = "`rubicon-broker serve` uses them by default."
    if args.dir is not None and directory.resolve() != config_dir().resolve():
        serve_hint = f"Serve with: rubicon-broker serve --tls-cert {cert.cert} --tls-key {cert.key}"
    print(
        f"Made a TLS key and a self-signed certificate for {', '.join(cert.names)}, "
        f"valid until {cert.not_after.date()}.\n"
        f"  certificate:  {cert.cert}\n"
        f"  private key:  {cert.key} (readable by you only)\n"
        f"SHA-256 fingerprint, for launchers to pin:\n"
        f"  {cert.fingerprint}\n"
        f"{serve_hint}"
    )
    return 0


def _rotate(directory: Path, *, hostnames: list[str]) -> int:
    from broker_stub import tls

    if hostnames:
        raise CliError(
            "--rotate takes the names of the next certificate; give --hostname with --next"
        )
    try:
        cert, replaced = tls.rotate(directory)
    except tls.TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot rotate the files in {directory}: {exc.strerror or exc}") from None
    before = (
        f"\n  replaced:     {replaced.fingerprint} (kept as {tls.PREVIOUS}*.pem)"
        if replaced
        else ""
    )
    print(
        f"The next TLS certificate is now the current one, valid until {cert.not_after.date()}.\n"
        f"  certificate:  {cert.cert}\n"
        f"  private key:  {cert.key}\n"
        f"  fingerprint:  {cert.fingerprint}{before}\n"
        "Restart `rubicon-broker serve` on every node. Launchers that learnt the next\n"
        "certificate take it without a question; others show both fingerprints and ask."
    )
    return 0


def _this_host() -> list[str]:
    """This machine's names that can go in a certificate (an odd one is left out)."""
    from broker_stub import tls

    names: list[str] = []
    for name in (socket.getfqdn(), socket.gethostname()):
        with contextlib.suppress(tls.TlsError):
            names.append(tls.normalize_name(name))
    return [n for n in dict.fromkeys(names) if n not in tls.ALWAYS]


def _migrate(args: argparse.Namespace) -> int:
    from broker_stub.db import migrate

    log.setup("warning")
    settings = _settings(database_url=args.database_url)

    def apply() -> tuple[str, migrate.Upgrade]:
        url = settings.effective_database_url()
        engine = make_engine(url)
        try:
            return url, migrate.upgrade(engine)
        finally:
            engine.dispose()

    url, result = _with_database(settings, apply)
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


def _users_add(args: argparse.Namespace) -> int:
    from broker_stub.cli_admin import admin_here
    from broker_stub.db import migrate
    from broker_stub.db.models import Role
    from broker_stub.domain import accounts, names

    log.setup("warning")
    name = args.name
    problem = names.username_problem(name)
    if problem:
        raise CliError(problem)
    settings = _settings(database_url=args.database_url)
    password = _read_new_password(
        name, from_stdin=args.password_stdin, minimum=settings.password_min_length
    )

    def apply() -> bool:
        engine = make_engine(settings.effective_database_url())
        try:
            migrate.upgrade(engine)
            with make_session_factory(engine)() as db:
                return accounts.save_user(
                    db,
                    admin_here(),
                    name,
                    password,
                    display_name=args.display_name,
                    groups=args.group,
                    role=Role.ADMIN if args.admin else None,
                )
        finally:
            engine.dispose()

    created = _with_database(settings, apply)
    print(f"{'Added' if created else 'Updated'} user {name!r}.")
    return 0


def _users_totp(args: argparse.Namespace) -> int:
    from broker_stub.auth import totp
    from broker_stub.auth.users import find_user
    from broker_stub.cli_admin import admin_here
    from broker_stub.db import migrate

    log.setup("warning")
    name: str = args.name
    settings = _settings(database_url=args.database_url)

    def apply() -> str | bool:
        engine = make_engine(settings.effective_database_url())
        try:
            migrate.upgrade(engine)
            with make_session_factory(engine)() as db:
                user = find_user(db, name)
                if user is None:
                    raise CliError(
                        f"there is no user {name!r}: add a local user with `users add`; "
                        "an LDAP user exists once they have signed in"
                    )
                if args.remove:
                    return totp.remove(db, user, admin=admin_here())
                if user.totp_secret is not None and not args.force:
                    raise CliError(
                        f"{name!r} already has TOTP; --force gives them a new secret "
                        "(the old one stops working), --remove turns it off"
                    )
                return totp.enrol(db, user, admin=admin_here())
        finally:
            engine.dispose()

    result = _with_database(settings, apply)
    if args.remove:
        print(
            f"Removed TOTP for {name!r}." if result else f"{name!r} had no TOTP; nothing changed."
        )
        return 0
    assert isinstance(result, str)
    grouped = " ".join(result[i : i + 4] for i in range(0, len(result), 4))
    print(
        f"TOTP is on for {name!r}. Add it to their authenticator app now; "
        "it is not shown again.\n"
        f"  URI:     {totp.provisioning_uri(result, name)}\n"
        f"  secret:  {grouped}   (base32, 6 digits, 30 seconds)\n"
        "From now on they sign in with their password and the app's current code."
    )
    return 0


# Typing a new password twice on a terminal: how many tries before giving up.
PASSWORD_TRIES = 3


def _read_new_password(name: str, *, from_stdin: bool, minimum: int) -> str:
    """A new password that follows the policy: one line of stdin, or typed twice
    on the terminal, asked again (a few times) when too short or mistyped."""
    from broker_stub.auth.passwords import check_new_password
    from broker_stub.domain.errors import PasswordTooShort

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("the password is empty; nothing changed")
        try:
            check_new_password(password, minimum=minimum)
        except PasswordTooShort:
            raise CliError(_too_short(minimum) + "; nothing changed") from None
        return password
    for _ in range(PASSWORD_TRIES):
        try:
            password = getpass.getpass(f"New password for {name}: ")
            try:
                check_new_password(password, minimum=minimum)
            except PasswordTooShort:
                said = _too_short(minimum)
                print(f"{said[:1].upper()}{said[1:]}; try again.", file=sys.stderr)
                continue
            if getpass.getpass("Repeat the password: ") != password:
                print("The two passwords differ; try again.", file=sys.stderr)
                continue
        except (EOFError, KeyboardInterrupt):
            raise CliError("no password given; nothing changed") from None
        return password
    raise CliError(f"no usable password after {PASSWORD_TRIES} tries; nothing changed")


def _too_short(minimum: int) -> str:
    return (
        f"the password is too short: use at least {minimum} characters "
        "(RUBICON_BROKER_PASSWORD_MIN_LENGTH)"
    )


def _with_database(settings: BrokerSettings, action: Callable[[], T]) -> T:
    """Run `action`; database trouble becomes one readable line, not a traceback."""
    from broker_stub.db.migrate import MigrationError

    where = safe_url(settings.database_url) if settings.database_url else "(default SQLite file)"
    try:
        return action()
    except DBAPIError as exc:
        raise CliError(f"cannot use the database {where}: {exc.orig or exc}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"cannot use the database {where}: {exc}") from None
    except MigrationError as exc:
        raise CliError(f"cannot use the database {where}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cannot use the database {where}: its Python driver {exc.name!r} is not installed"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot use the database {where}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
