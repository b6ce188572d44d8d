"""What every `rubicon-broker` command shares: the exit statuses, the one-line
error (CliError), settings from the flags, the database runner and the output
helpers.

Every command runs through here: `run()` gives it a session on an up-to-date
database; `on_engine()` an engine on its own. Database trouble becomes one
readable line (`with_database()`), not a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from broker_stub import log
from broker_stub.db.engine import make_engine, make_session_factory, safe_url
from broker_stub.domain import paging
from broker_stub.domain.admin import Admin
from broker_stub.settings import BrokerSettings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

PROG = "rubicon-broker"
EXIT_USAGE = 2
EXIT_REFUSED = 1

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
T = TypeVar("T")
RAW = argparse.RawDescriptionHelpFormatter


class CliError(Exception):
    """Something the person at the terminal must fix; printed as one line."""


# The parser


def wrap(text: str) -> str:
    # Raw formatting keeps the examples' line breaks, so wrap prose ourselves.
    return textwrap.fill(text, width=78)


def add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy database URL (default: a SQLite file in your data directory)",
    )


def usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def action_parser(
    actions: Subparsers, name: str, help_text: str, example: str = ""
) -> argparse.ArgumentParser:
    """An action that works on the database (it takes --database-url)."""
    parser = actions.add_parser(
        name,
        help=help_text,
        description=wrap(help_text[:1].upper() + help_text[1:] + "."),
        epilog=f"example:\n  {example}" if example else None,
        formatter_class=RAW,
    )
    add_database_url(parser)
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def group_of_actions(subparsers: Subparsers, name: str, help_text: str, example: str) -> Subparsers:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=wrap(help_text[:1].upper() + help_text[1:] + "."),
        epilog=f"example:\n  {example}",
        formatter_class=RAW,
    )
    parser.set_defaults(func=lambda _args: usage(parser))
    return parser.add_subparsers(title="actions", metavar="ACTION")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# Settings and the database


def settings_from(**overrides: Any) -> BrokerSettings:
    """Settings from the environment, with the flags that were given on top."""
    try:
        return BrokerSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise CliError(f"bad setting {where}: {err['msg']}") from None


def admin_here() -> Admin:
    """The person at this terminal, as the audit log names them."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or passwd
        login = "unknown"
    return Admin.cli(login)


def on_engine(settings: BrokerSettings, action: Callable[[Engine], T]) -> T:
    """Run `action` on an engine for the configured database, disposed of afterwards."""

    def go() -> T:
        engine = make_engine(settings.effective_database_url())
        try:
            return action(engine)
        finally:
            engine.dispose()

    return with_database(settings, go)


def run(args: argparse.Namespace, action: Callable[[Session], T]) -> T:
    """Run `action` on an up-to-date database from --database-url or the environment."""
    from broker_stub.db import migrate

    log.setup("warning")
    settings = settings_from(database_url=args.database_url)

    def go(engine: Engine) -> T:
        migrate.upgrade(engine)
        with make_session_factory(engine)() as db:
            return action(db)

    return on_engine(settings, go)


def with_database(settings: BrokerSettings, action: Callable[[], T]) -> T:
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


# Output


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(value: Any) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [
            dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
            for v in value
        ]
    print(json.dumps(value, default=_plain, ensure_ascii=False, indent=2))


def _cell(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """Columns padded to their widest cell; `empty` when there are no rows."""
    if not rows:
        print(empty)
        return
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def all_pages(fetch: Callable[[str | None], paging.Page[T]], limit: int | None) -> list[T]:
    """Every item (or the first `limit`) of a paged list."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items += page.items
        if page.next_cursor is None or (limit is not None and len(items) >= limit):
            return items[:limit] if limit is not None else items
        cursor = page.next_cursor
