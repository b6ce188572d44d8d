"""`rubicon-broker`: run the broker and manage its users.

Every sub-command registers a handler with `set_defaults(func=...)`; the
handler takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from broker_stub import __version__, demo, log
from broker_stub.config import ConfigError
from broker_stub.db.engine import create_schema, make_engine, make_session_factory, safe_url
from broker_stub.settings import BrokerSettings

PROG = "rubicon-broker"
EXIT_USAGE = 2

_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
T = TypeVar("T")

_TLS_NOTE = (
    "The broker speaks plain HTTP for now, so it listens on loopback addresses "
    "only; built-in TLS arrives in a later release. Until then put a TLS reverse "
    "proxy in front of it."
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
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_wrap(
            "Rubicon's connection broker: signs users in, lists the desktops "
            "they may use and hands out machines."
        ),
        epilog="example:\n"
        "  rubicon-broker users add demo --display-name 'Demo User' --group staff\n"
        "  rubicon-broker serve --config /etc/rubicon/pools.toml\n\n"
        "Settings can also come from RUBICON_BROKER_* environment variables\n"
        "(RUBICON_BROKER_CONFIG, RUBICON_BROKER_DATABASE_URL, ...).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_serve(subparsers)
    _add_users(subparsers)
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


def _add_serve(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the broker's HTTP API",
        description=_wrap(
            "Apply the pools file to the database, then serve the HTTP API. " + _TLS_NOTE
        ),
        epilog=(
            "example:\n  rubicon-broker serve --config pools.toml --port 8080 --log-json\n\n"
            "The pools file format, with comments: resources/pools.example.toml in the\n"
            "source tree, and docs/api.md."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the TOML file that describes the pools (required here or in RUBICON_BROKER_CONFIG)",
    )
    parser.add_argument("--host", help="loopback address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port to listen on (default: 8080)")
    _add_database_url(parser)
    parser.add_argument("--log-level", choices=log.LEVELS, default="info", help="(default: info)")
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.set_defaults(func=_serve)


def _add_users(subparsers: _Subparsers) -> None:
    users = subparsers.add_parser(
        "users",
        help="manage local user accounts",
        description="Manage the broker's local user accounts.",
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
    _add_database_url(add)
    add.set_defaults(func=_users_add)


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
        config=args.config, host=args.host, port=args.port, database_url=args.database_url
    )
    if settings.config is None:
        raise CliError("no pools file: pass --config FILE or set RUBICON_BROKER_CONFIG")
    if not is_loopback(settings.host):
        raise CliError(f"refusing to listen on {settings.host} without TLS. {_TLS_NOTE}")

    # Imported here so `users add` and --help stay quick.
    import uvicorn

    from broker_stub.app import create_app

    app = _with_database(settings, lambda: create_app(settings))
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_config=None, log_level=args.log_level
    )
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from broker_stub.auth.users import set_user

    log.setup("warning")
    name = args.name
    if not name or len(name) > 128 or any(c.isspace() or not c.isprintable() for c in name):
        raise CliError(f"{name!r} is not a usable username: use 1-128 characters, no spaces")
    settings = _settings(database_url=args.database_url)
    password = _read_new_password(name, from_stdin=args.password_stdin)

    def apply() -> bool:
        engine = make_engine(settings.effective_database_url())
        try:
            create_schema(engine)
            with make_session_factory(engine)() as db:
                return set_user(db, name, password, args.display_name, args.group)
        finally:
            engine.dispose()

    created = _with_database(settings, apply)
    print(f"{'Added' if created else 'Updated'} user {name!r}.")
    return 0


def _read_new_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass(f"New password for {name}: ")
            again = getpass.getpass("Repeat the password: ")
        except (EOFError, KeyboardInterrupt):
            raise CliError("no password given; nothing changed") from None
        if password != again:
            raise CliError("the two passwords differ; nothing changed")
    if not password:
        raise CliError("the password is empty; nothing changed")
    return password


def _with_database(settings: BrokerSettings, action: Callable[[], T]) -> T:
    """Run `action`; database trouble becomes one readable line, not a traceback."""
    where = safe_url(settings.database_url) if settings.database_url else "(default SQLite file)"
    try:
        return action()
    except DBAPIError as exc:
        raise CliError(f"cannot use the database {where}: {exc.orig or exc}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"cannot use the database {where}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise CliError(
            f"cannot use the database {where}: its Python driver {exc.name!r} is not installed"
        ) from None
    except OSError as exc:
        raise CliError(f"cannot use the database {where}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
