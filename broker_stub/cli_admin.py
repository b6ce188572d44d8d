"""`rubicon-broker` commands for administrators: users, groups, pools, machines,
entitlements, sessions, audit, apply.

They work on the database directly, through the same domain functions as the
admin API, and every change goes to the audit log as "cli:<login name>".
Lists print a table, or JSON with --json. broker_stub.cli owns the parser and
calls add_user_actions() and add_commands().
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.cli import (
    CliError,
    _add_database_url,
    _read_new_password,
    _settings,
    _Subparsers,
    _with_database,
    _wrap,
)
from broker_stub.db.engine import make_engine, make_session_factory
from broker_stub.db.models import EntitlementKind, Role, SessionState
from broker_stub.domain import paging
from broker_stub.domain.admin import Admin

T = TypeVar("T")
_RAW = argparse.RawDescriptionHelpFormatter


def admin_here() -> Admin:
    """The person at this terminal, as the audit log names them."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or passwd
        login = "unknown"
    return Admin.cli(login)


def run(args: argparse.Namespace, action: Callable[[Session], T]) -> T:
    """Run `action` on an up-to-date database from --database-url or the environment."""
    from broker_stub.db import migrate

    log.setup("warning")
    settings = _settings(database_url=args.database_url)

    def go() -> T:
        engine = make_engine(settings.effective_database_url())
        try:
            migrate.upgrade(engine)
            with make_session_factory(engine)() as db:
                return action(db)
        finally:
            engine.dispose()

    return _with_database(settings, go)


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


def _all_pages(fetch: Callable[[str | None], paging.Page[T]], limit: int | None) -> list[T]:
    """Every item (or the first `limit`) of a paged list."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items += page.items
        if page.next_cursor is None or (limit is not None and len(items) >= limit):
            return items[:limit] if limit is not None else items
        cursor = page.next_cursor


def _parser(
    actions: _Subparsers, name: str, help_text: str, example: str = ""
) -> argparse.ArgumentParser:
    parser = actions.add_parser(
        name,
        help=help_text,
        description=_wrap(help_text[:1].upper() + help_text[1:] + "."),
        epilog=f"example:\n  {example}" if example else None,
        formatter_class=_RAW,
    )
    _add_database_url(parser)
    return parser


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _group_of_actions(
    subparsers: _Subparsers, name: str, help_text: str, example: str
) -> _Subparsers:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=_wrap(help_text[:1].upper() + help_text[1:] + "."),
        epilog=f"example:\n  {example}",
        formatter_class=_RAW,
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    return parser.add_subparsers(title="actions", metavar="ACTION")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# users


def add_user_actions(actions: _Subparsers) -> None:
    """`users list | passwd | unlock | remove | role` (cli.py has `users add` and `users totp`)."""
    p = _parser(actions, "list", "list the users", "rubicon-broker users list --role admin")
    p.add_argument("--role", choices=[r.value for r in Role], help="only users with this role")
    p.add_argument("--group", metavar="G", help="only members of this group")
    _json_flag(p)
    p.set_defaults(func=_users_list)

    p = _parser(
        actions,
        "passwd",
        "set a new password for a user; their sign-ins stop working and their lock is lifted",
        "printf '%s\\n' \"$PASSWORD\" | rubicon-broker users passwd alice --password-stdin",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line from stdin"
    )
    p.set_defaults(func=_users_passwd)

    p = _parser(
        actions,
        "unlock",
        "lift a user's sign-in lock after too many failed sign-ins",
        "rubicon-broker users unlock alice",
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_users_unlock)

    p = _parser(
        actions,
        "remove",
        "remove a user, logging off their sessions first",
        "rubicon-broker users remove alice",
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_users_remove)

    p = _parser(
        actions,
        "role",
        "make a user an admin, or a plain user again",
        "rubicon-broker users role alice admin",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("role", choices=[r.value for r in Role])
    p.set_defaults(func=_users_role)


def _users_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    role = Role(args.role) if args.role else None
    users = run(
        args,
        lambda db: _all_pages(
            lambda c: accounts.list_users(
                db, limit=paging.MAX_LIMIT, cursor=c, role=role, group=args.group
            ),
            None,
        ),
    )
    if args.json:
        print_json(users)
        return 0
    print_table(
        ["USERNAME", "DISPLAY NAME", "ROLE", "GROUPS", "PASSWORD"],
        [
            [u.username, u.display_name, u.role, u.groups, "local" if u.local_password else "-"]
            for u in users
        ],
        "No users.",
    )
    return 0


def _users_passwd(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    settings = _settings(database_url=args.database_url)
    password = _read_new_password(
        args.name, from_stdin=args.password_stdin, minimum=settings.password_min_length
    )
    run(args, lambda db: accounts.set_password(db, admin_here(), args.name, password))
    print(f"Set a new password for {args.name!r}; their earlier sign-ins no longer work.")
    return 0


def _users_unlock(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    was_locked = run(args, lambda db: accounts.unlock_user(db, admin_here(), args.name))
    if was_locked:
        print(f"Unlocked {args.name!r}; they can sign in again.")
    else:
        print(f"{args.name!r} was not locked; their failed sign-ins are forgotten.")
    return 0


def _users_remove(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    ended = run(args, lambda db: accounts.delete_user(db, admin_here(), args.name))
    sessions = f" and logged off {ended} session{'s' if ended != 1 else ''}" if ended else ""
    print(f"Removed user {args.name!r}{sessions}.")
    return 0


def _users_role(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    info = run(args, lambda db: accounts.set_role(db, admin_here(), args.name, Role(args.role)))
    print(f"{info.username!r} is now {'an admin' if info.role == Role.ADMIN else 'a plain user'}.")
    return 0


# groups


def _add_groups(subparsers: _Subparsers) -> None:
    actions = _group_of_actions(
        subparsers, "groups", "manage groups of users", "rubicon-broker groups add-member staff bob"
    )
    p = _parser(actions, "list", "list the groups and their members")
    _json_flag(p)
    p.set_defaults(func=_groups_list)
    p = _parser(actions, "add", "add an empty group", "rubicon-broker groups add staff")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_groups_add)
    p = _parser(actions, "remove", "remove a group; entitlements that name it stay")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_groups_remove)
    p = _parser(actions, "add-member", "put a user in a group")
    p.add_argument("name", metavar="GROUP")
    p.add_argument("user", metavar="USER")
    p.set_defaults(func=_groups_member, add=True)
    p = _parser(actions, "remove-member", "take a user out of a group")
    p.add_argument("name", metavar="GROUP")
    p.add_argument("user", metavar="USER")
    p.set_defaults(func=_groups_member, add=False)


def _groups_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    groups = run(args, accounts.list_groups)
    if args.json:
        print_json(groups)
        return 0
    print_table(["GROUP", "MEMBERS"], [[g.name, g.members] for g in groups], "No groups.")
    return 0


def _groups_add(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts, names

    problem = names.name_problem("group", args.name)
    if problem:
        raise CliError(problem)
    run(args, lambda db: accounts.create_group(db, admin_here(), args.name))
    print(f"Added group {args.name!r}.")
    return 0


def _groups_remove(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    run(args, lambda db: accounts.delete_group(db, admin_here(), args.name))
    print(f"Removed group {args.name!r}.")
    return 0


def _groups_member(args: argparse.Namespace) -> int:
    from broker_stub.domain import accounts

    change = accounts.add_member if args.add else accounts.remove_member
    changed = run(args, lambda db: change(db, admin_here(), args.name, args.user))
    if args.add:
        done = "Added" if changed else "Nothing to do:"
        where = "to" if changed else "is already in"
    else:
        done = "Removed" if changed else "Nothing to do:"
        where = "from" if changed else "is not in"
    print(f"{done} {args.user!r} {where} group {args.name!r}.")
    return 0


# pools, machines, entitlements


def _add_pools(subparsers: _Subparsers) -> None:
    actions = _group_of_actions(
        subparsers, "pools", "look at the pools", "rubicon-broker pools list"
    )
    p = _parser(actions, "list", "list the pools with machine counts and entitlements")
    _json_flag(p)
    p.set_defaults(func=_pools_list)


def _pools_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    pools = run(args, inventory.list_pools)
    if args.json:
        print_json(pools)
        return 0
    print_table(
        ["POOL", "NAME", "KIND", "PROTOCOLS", "BACKEND", "MACHINES", "ENTITLED"],
        [
            [
                p.id,
                p.name,
                p.kind,
                p.protocols,
                p.backend if p.degraded_since is None else f"{p.backend} (degraded)",
                p.machines,
                [f"{e.kind}:{e.name}" for e in p.entitlements],
            ]
            for p in pools
        ],
        "No pools.",
    )
    return 0


def _add_machines(subparsers: _Subparsers) -> None:
    actions = _group_of_actions(
        subparsers,
        "machines",
        "list, add and remove machines, put them in maintenance, unassign and recycle them",
        "rubicon-broker machines maintenance engineering eng-1 on",
    )
    p = _parser(actions, "list", "list a pool's machines")
    p.add_argument("pool", metavar="POOL")
    _json_flag(p)
    p.set_defaults(func=_machines_list)

    p = _parser(
        actions,
        "add",
        "add a machine to a pool",
        "rubicon-broker machines add engineering eng-3 --host 10.0.20.13 --port 5901",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--host", required=True, help="its address or DNS name")
    p.add_argument("--port", type=int, metavar="N", help="the port of a one-protocol pool")
    for protocol in ("vnc", "rdp", "spice", "spice-tls"):
        p.add_argument(
            f"--{protocol}-port", type=int, metavar="N", help=f"the {protocol} port, if not usual"
        )
    p.add_argument("--mac", help="MAC address, for Wake-on-LAN")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the machine's console password as one line from stdin",
    )
    p.set_defaults(func=_machines_add)

    p = _parser(actions, "remove", "remove a machine nobody is using")
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_machines_remove)

    p = _parser(
        actions,
        "maintenance",
        "put a machine in maintenance (no launch gets it) or take it out",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.add_argument("switch", choices=["on", "off"])
    p.set_defaults(func=_machines_maintenance)

    p = _parser(
        actions,
        "unassign",
        "take a dedicated pool's machine from its owner; their next launch binds a free one",
        "rubicon-broker machines unassign design design-1",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_machines_unassign)

    p = _parser(
        actions,
        "recycle",
        "recycle a machine the pool's way (revert, rebuild, power off); a dedicated one "
        "keeps its owner. A serving broker does the work within seconds",
        "rubicon-broker machines recycle lab lab-007",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_machines_recycle)


def _machines_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    machines = run(args, lambda db: inventory.list_machines(db, args.pool))
    if args.json:
        print_json(machines)
        return 0
    print_table(
        ["MACHINE", "HOST", "PORTS", "STATE", "USER", "SESSION", "PROBLEM"],
        [[m.name, m.host, m.ports, m.state, m.user, m.session, m.problem] for m in machines],
        f"Pool {args.pool!r} has no machines.",
    )
    return 0


def _machines_add(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n") or None
    for port in (args.port, args.vnc_port, args.rdp_port, args.spice_port, args.spice_tls_port):
        if port is not None and not 1 <= port <= 65535:
            raise CliError(f"port {port} is out of range: use 1-65535")
    spec = inventory.MachineSpec(
        name=args.name,
        host=args.host,
        port=args.port,
        vnc_port=args.vnc_port,
        rdp_port=args.rdp_port,
        spice_port=args.spice_port,
        spice_tls_port=args.spice_tls_port,
        mac=args.mac,
        password=password,
    )
    info = run(args, lambda db: inventory.add_machine(db, admin_here(), args.pool, spec))
    ports = ", ".join(f"{k} {v}" for k, v in info.ports.items())
    print(f"Added machine {info.name!r} ({info.host}, {ports}) to pool {args.pool!r}.")
    return 0


def _machines_remove(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    run(args, lambda db: inventory.remove_machine(db, admin_here(), args.pool, args.name))
    print(f"Removed machine {args.name!r} from pool {args.pool!r}.")
    return 0


def _machines_maintenance(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    on = args.switch == "on"
    info = run(
        args, lambda db: inventory.set_maintenance(db, admin_here(), args.pool, args.name, on)
    )
    note = ""
    if on and info.session:
        note = f" Session {info.session} of {info.user} goes on; the machine stays out after it."
    print(f"Machine {info.name!r} in pool {args.pool!r} is {info.state}.{note}")
    return 0


def _machines_unassign(args: argparse.Namespace) -> int:
    from broker_stub.domain import admin_machines

    done = run(args, lambda db: admin_machines.unassign(db, admin_here(), args.pool, args.name))
    print(
        f"Machine {args.name!r} in pool {args.pool!r} is no longer {done.user}'s; "
        f"it is {done.machine.state}."
    )
    return 0


def _machines_recycle(args: argparse.Namespace) -> int:
    from broker_stub.domain import admin_machines

    info = run(args, lambda db: admin_machines.recycle(db, admin_here(), args.pool, args.name))
    print(
        f"Machine {info.name!r} in pool {args.pool!r} is {info.state}: a serving broker "
        "recycles it within seconds."
    )
    return 0


def _add_entitlements(subparsers: _Subparsers) -> None:
    actions = _group_of_actions(
        subparsers,
        "entitlements",
        "say which users and groups may use which pools",
        "rubicon-broker entitlements add engineering group staff",
    )
    p = _parser(actions, "list", "list entitlements")
    p.add_argument("--pool", metavar="POOL", help="only this pool's")
    _json_flag(p)
    p.set_defaults(func=_entitlements_list)
    for name, text in (("add", "let a user or group use a pool"), ("remove", "take that away")):
        p = _parser(actions, name, text)
        p.add_argument("pool", metavar="POOL")
        p.add_argument("kind", choices=[k.value for k in EntitlementKind])
        p.add_argument("name", metavar="NAME")
        p.set_defaults(func=_entitlements_change, add=name == "add")


def _entitlements_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    found = run(args, lambda db: inventory.list_entitlements(db, pool=args.pool))
    if args.json:
        print_json(found)
        return 0
    print_table(
        ["POOL", "KIND", "NAME"], [[e.pool, e.kind, e.name] for e in found], "No entitlements."
    )
    return 0


def _entitlements_change(args: argparse.Namespace) -> int:
    from broker_stub.domain import inventory

    kind = EntitlementKind(args.kind)
    if args.add:
        run(
            args, lambda db: inventory.add_entitlement(db, admin_here(), args.pool, kind, args.name)
        )
        print(f"{args.kind.capitalize()} {args.name!r} may now use pool {args.pool!r}.")
    else:
        run(
            args,
            lambda db: inventory.remove_entitlement(db, admin_here(), args.pool, kind, args.name),
        )
        print(f"{args.kind.capitalize()} {args.name!r} may no longer use pool {args.pool!r}.")
    return 0


# sessions


def _add_sessions(subparsers: _Subparsers) -> None:
    actions = _group_of_actions(
        subparsers,
        "sessions",
        "list sessions, disconnect them or log them off",
        "rubicon-broker sessions list --pool engineering --state active",
    )
    p = _parser(actions, "list", "list sessions, newest first")
    p.add_argument("--user", metavar="USER")
    p.add_argument("--pool", metavar="POOL")
    p.add_argument("--state", choices=[s.value for s in SessionState])
    p.add_argument("--limit", type=_positive, default=100, help="at most this many (default 100)")
    _json_flag(p)
    p.set_defaults(func=_sessions_list)
    p = _parser(actions, "disconnect", "mark a session disconnected; the user keeps the machine")
    p.add_argument("id", metavar="SESSION")
    p.set_defaults(func=_sessions_change, logoff=False)
    p = _parser(actions, "logoff", "end a session and free its machine")
    p.add_argument("id", metavar="SESSION")
    p.set_defaults(func=_sessions_change, logoff=True)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _sessions_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import admin_sessions

    state = SessionState(args.state) if args.state else None
    sessions = run(
        args,
        lambda db: _all_pages(
            lambda c: admin_sessions.list_sessions(
                db,
                user=args.user,
                pool=args.pool,
                state=state,
                limit=min(args.limit, paging.MAX_LIMIT),
                cursor=c,
            ),
            args.limit,
        ),
    )
    if args.json:
        print_json(sessions)
        return 0
    print_table(
        ["SESSION", "USER", "POOL", "MACHINE", "PROTOCOL", "STATE", "STARTED", "ENDED"],
        [
            [s.id, s.user, s.pool, s.machine, s.protocol, s.state, s.started_at, s.ended_at]
            for s in sessions
        ],
        "No sessions.",
    )
    return 0


def _sessions_change(args: argparse.Namespace) -> int:
    from broker_stub.domain import admin_sessions

    change = admin_sessions.logoff if args.logoff else admin_sessions.disconnect
    info = run(args, lambda db: change(db, admin_here(), args.id))
    print(f"Session {info.id} of {info.user} on {info.machine} is {info.state}.")
    return 0


# audit


def _add_audit(subparsers: _Subparsers) -> None:
    p = subparsers.add_parser(
        "audit",
        help="read the audit log",
        description=_wrap(
            "Print audit events, newest first: sign-ins, launches, logoffs and every "
            "administrator's change. Times are UTC."
        ),
        epilog="examples:\n"
        "  rubicon-broker audit --since 1d --actor alice\n"
        "  rubicon-broker audit --action 'admin.*' --since 2026-11-01T00:00:00Z --json",
        formatter_class=_RAW,
    )
    p.add_argument(
        "--since",
        type=_when,
        metavar="WHEN",
        help="from this time: ISO 8601 (UTC unless it has an offset) or an age like 1h, 7d",
    )
    p.add_argument("--until", type=_when, metavar="WHEN", help="before this time (same forms)")
    p.add_argument("--actor", help="who did it")
    p.add_argument("--action", help="what was done; a trailing * matches a prefix")
    p.add_argument("--target", help="what it was done to, e.g. user:alice")
    p.add_argument("--limit", type=_positive, default=100, help="at most this many (default 100)")
    _json_flag(p)
    _add_database_url(p)
    p.set_defaults(func=_audit)


def _when(text: str) -> datetime:
    from broker_stub.clock import utcnow
    from broker_stub.config import parse_duration

    try:
        return utcnow() - parse_duration(text)
    except (ValueError, OverflowError):
        pass
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time like 2026-11-26T08:00:00Z nor an age like 2h"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _audit(args: argparse.Namespace) -> int:
    from broker_stub.domain import auditlog

    query = auditlog.Query(
        since=args.since,
        until=args.until,
        actor=args.actor,
        action=args.action,
        target=args.target,
    )
    events = run(
        args,
        lambda db: _all_pages(
            lambda c: auditlog.events(db, query, limit=min(args.limit, paging.MAX_LIMIT), cursor=c),
            args.limit,
        ),
    )
    if args.json:
        print_json(events)
        return 0
    print_table(
        ["TIME (UTC)", "ACTOR", "ACTION", "TARGET", "ADDRESS", "DETAIL"],
        [[e.at, e.actor, e.action, e.target, e.address, e.detail] for e in events],
        "No audit events match.",
    )
    return 0


# apply


def _add_apply(subparsers: _Subparsers) -> None:
    p = subparsers.add_parser(
        "apply",
        help="make the database match a desired-state file",
        description=_wrap(
            "Read a desired-state file (the pools file's [[pools]], plus optional "
            "[[groups]] and [[users]]), print what would change, and change it in one "
            "transaction. Running it again with the same file changes nothing. A section "
            "left out of the file leaves that part of the database alone."
        ),
        epilog="examples:\n"
        "  rubicon-broker apply site.toml --dry-run\n"
        "  rubicon-broker apply site.toml",
        formatter_class=_RAW,
    )
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    _add_database_url(p)
    p.set_defaults(func=_apply)


def _apply(args: argparse.Namespace) -> int:
    from broker_stub.domain import desired

    state = desired.load(args.file)
    plan = run(
        args,
        lambda db: desired.apply(db.get_bind(), admin_here(), state, dry_run=args.dry_run),
    )
    if not plan.changes:
        print("No changes: the database already matches.")
        for note in plan.notes:
            print(f"  note: {note}")
        return 0
    for change in plan.changes:
        print(f"  {change}")
    for note in plan.notes:
        print(f"  note: {note}")
    total = len(plan.changes)
    things = f"{total} change{'s' if total != 1 else ''}"
    print(f"Dry run: {things} planned, none made." if args.dry_run else f"Applied {things}.")
    return 0


def add_commands(subparsers: _Subparsers) -> None:
    for add in (
        _add_groups,
        _add_pools,
        _add_machines,
        _add_entitlements,
        _add_sessions,
        _add_audit,
        _add_apply,
    ):
        add(subparsers)
