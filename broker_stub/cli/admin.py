"""`rubicon-broker` commands for administrators: groups, pools, machines,
entitlements, sessions, audit, apply (the `users` commands are in users.py).

They work on the database directly, through the same domain functions as the
admin API, and every change goes to the audit log as "cli:<login name>".
Lists print a table, or JSON with --json.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from broker_stub.cli.common import (
    RAW,
    CliError,
    Subparsers,
    action_parser,
    add_database_url,
    admin_here,
    all_pages,
    group_of_actions,
    json_flag,
    positive,
    print_json,
    print_table,
    run,
    wrap,
)
from broker_stub.db.models import EntitlementKind, SessionState
from broker_stub.domain import paging

# groups


def _add_groups(subparsers: Subparsers) -> None:
    actions = group_of_actions(
        subparsers, "groups", "manage groups of users", "rubicon-broker groups add-member staff bob"
    )
    p = action_parser(actions, "list", "list the groups and their members")
    json_flag(p)
    p.set_defaults(func=_groups_list)
    p = action_parser(actions, "add", "add an empty group", "rubicon-broker groups add staff")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_groups_add)
    p = action_parser(actions, "remove", "remove a group; entitlements that name it stay")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_groups_remove)
    p = action_parser(actions, "add-member", "put a user in a group")
    p.add_argument("name", metavar="GROUP")
    p.add_argument("user", metavar="USER")
    p.set_defaults(func=_groups_member, add=True)
    p = action_parser(actions, "remove-member", "take a user out of a group")
    p.add_argument("name", metavar="GROUP")
    p.add_argument("user", metavar="USER")
    p.set_defaults(func=_groups_member, add=False)


def _groups_list(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    groups = run(args, accounts.list_groups)
    if args.json:
        print_json(groups)
        return 0
    print_table(["GROUP", "MEMBERS"], [[g.name, g.members] for g in groups], "No groups.")
    return 0


def _groups_add(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts
    from broker_stub.values import names

    problem = names.name_problem("group", args.name)
    if problem:
        raise CliError(problem)
    run(args, lambda db: accounts.create_group(db, admin_here(), args.name))
    print(f"Added group {args.name!r}.")
    return 0


def _groups_remove(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    run(args, lambda db: accounts.delete_group(db, admin_here(), args.name))
    print(f"Removed group {args.name!r}.")
    return 0


def _groups_member(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

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


def _add_pools(subparsers: Subparsers) -> None:
    actions = group_of_actions(
        subparsers, "pools", "look at the pools", "rubicon-broker pools list"
    )
    p = action_parser(actions, "list", "list the pools with machine counts and entitlements")
    json_flag(p)
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


def _add_machines(subparsers: Subparsers) -> None:
    actions = group_of_actions(
        subparsers,
        "machines",
        "list, add and remove machines, put them in maintenance, unassign and recycle them",
        "rubicon-broker machines maintenance engineering eng-1 on",
    )
    p = action_parser(actions, "list", "list a pool's machines")
    p.add_argument("pool", metavar="POOL")
    json_flag(p)
    p.set_defaults(func=_machines_list)

    p = action_parser(
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

    p = action_parser(actions, "remove", "remove a machine nobody is using")
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_machines_remove)

    p = action_parser(
        actions,
        "maintenance",
        "put a machine in maintenance (no launch gets it) or take it out",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.add_argument("switch", choices=["on", "off"])
    p.set_defaults(func=_machines_maintenance)

    p = action_parser(
        actions,
        "unassign",
        "take a dedicated pool's machine from its owner; their next launch binds a free one",
        "rubicon-broker machines unassign design design-1",
    )
    p.add_argument("pool", metavar="POOL")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_machines_unassign)

    p = action_parser(
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


def _add_entitlements(subparsers: Subparsers) -> None:
    actions = group_of_actions(
        subparsers,
        "entitlements",
        "say which users and groups may use which pools",
        "rubicon-broker entitlements add engineering group staff",
    )
    p = action_parser(actions, "list", "list entitlements")
    p.add_argument("--pool", metavar="POOL", help="only this pool's")
    json_flag(p)
    p.set_defaults(func=_entitlements_list)
    for name, text in (("add", "let a user or group use a pool"), ("remove", "take that away")):
        p = action_parser(actions, name, text)
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


def _add_sessions(subparsers: Subparsers) -> None:
    actions = group_of_actions(
        subparsers,
        "sessions",
        "list sessions, disconnect them or log them off",
        "rubicon-broker sessions list --pool engineering --state active",
    )
    p = action_parser(actions, "list", "list sessions, newest first")
    p.add_argument("--user", metavar="USER")
    p.add_argument("--pool", metavar="POOL")
    p.add_argument("--state", choices=[s.value for s in SessionState])
    p.add_argument("--limit", type=positive, default=100, help="at most this many (default 100)")
    json_flag(p)
    p.set_defaults(func=_sessions_list)
    p = action_parser(
        actions, "disconnect", "mark a session disconnected; the user keeps the machine"
    )
    p.add_argument("id", metavar="SESSION")
    p.set_defaults(func=_sessions_change, logoff=False)
    p = action_parser(actions, "logoff", "end a session and free its machine")
    p.add_argument("id", metavar="SESSION")
    p.set_defaults(func=_sessions_change, logoff=True)


def _sessions_list(args: argparse.Namespace) -> int:
    from broker_stub.domain import admin_sessions

    state = SessionState(args.state) if args.state else None
    sessions = run(
        args,
        lambda db: all_pages(
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


def _add_audit(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "audit",
        help="read the audit log",
        description=wrap(
            "Print audit events, newest first: sign-ins, launches, logoffs and every "
            "administrator's change. Times are UTC."
        ),
        epilog="examples:\n"
        "  rubicon-broker audit --since 1d --actor alice\n"
        "  rubicon-broker audit --action 'admin.*' --since 2026-11-01T00:00:00Z --json",
        formatter_class=RAW,
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
    p.add_argument("--limit", type=positive, default=100, help="at most this many (default 100)")
    json_flag(p)
    add_database_url(p)
    p.set_defaults(func=_audit)


def _when(text: str) -> datetime:
    from broker_stub.clock import utcnow
    from broker_stub.values.fields import parse_duration

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
        lambda db: all_pages(
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


def _add_apply(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "apply",
        help="make the database match a desired-state file",
        description=wrap(
            "Read a desired-state file (the pools file's [[pools]], plus optional "
            "[[groups]] and [[users]]), print what would change, and change it in one "
            "transaction. Running it again with the same file changes nothing. A section "
            "left out of the file leaves that part of the database alone."
        ),
        epilog="examples:\n"
        "  rubicon-broker apply site.toml --dry-run\n"
        "  rubicon-broker apply site.toml",
        formatter_class=RAW,
    )
    p.add_argument("file", metavar="FILE", type=Path)
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    add_database_url(p)
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


def add_commands(subparsers: Subparsers) -> None:
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
