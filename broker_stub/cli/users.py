"""`rubicon-broker users add | list | passwd | unlock | remove | role | totp`:
the broker's user accounts, through the same domain functions as the admin API."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from broker_stub import log
from broker_stub.cli.common import (
    RAW,
    CliError,
    Subparsers,
    action_parser,
    add_database_url,
    admin_here,
    all_pages,
    json_flag,
    print_json,
    print_table,
    run,
    settings_from,
    usage,
    wrap,
)
from broker_stub.db.models import Role
from broker_stub.domain import paging

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def add_users(subparsers: Subparsers) -> None:
    users = subparsers.add_parser(
        "users",
        help="manage user accounts",
        description="Manage the broker's user accounts.",
        epilog="example:\n  rubicon-broker users add alice --group staff",
        formatter_class=RAW,
    )
    users.set_defaults(func=lambda _args: usage(users))
    actions = users.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a user, or set a new password for an existing one",
        description=wrap(
            "Add a user, or set a new password for an existing one. The password "
            "is asked for twice on the terminal unless --password-stdin is given."
        ),
        epilog="examples:\n"
        "  rubicon-broker users add alice --display-name 'Alice Liddell' --group staff\n"
        "  printf '%s\\n' \"$PASSWORD\" | rubicon-broker users add bob --password-stdin",
        formatter_class=RAW,
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
    add_database_url(add)
    add.set_defaults(func=_users_add)
    _add_user_actions(actions)
    totp = actions.add_parser(
        "totp",
        help="enrol a user in TOTP codes (a second factor), or remove them",
        description=wrap(
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
        formatter_class=RAW,
    )
    totp.add_argument("name", metavar="NAME", help="the username")
    totp_mode = totp.add_mutually_exclusive_group()
    totp_mode.add_argument(
        "--force", action="store_true", help="replace the secret of a user who already has one"
    )
    totp_mode.add_argument("--remove", action="store_true", help="stop asking this user for codes")
    add_database_url(totp)
    totp.set_defaults(func=_users_totp)


def _add_user_actions(actions: Subparsers) -> None:
    """`users list | passwd | unlock | remove | role`."""
    p = action_parser(actions, "list", "list the users", "rubicon-broker users list --role admin")
    p.add_argument("--role", choices=[r.value for r in Role], help="only users with this role")
    p.add_argument("--group", metavar="G", help="only members of this group")
    json_flag(p)
    p.set_defaults(func=_users_list)

    p = action_parser(
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

    p = action_parser(
        actions,
        "unlock",
        "lift a user's sign-in lock after too many failed sign-ins",
        "rubicon-broker users unlock alice",
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_users_unlock)

    p = action_parser(
        actions,
        "remove",
        "remove a user, logging off their sessions first",
        "rubicon-broker users remove alice",
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=_users_remove)

    p = action_parser(
        actions,
        "role",
        "make a user an admin, or a plain user again",
        "rubicon-broker users role alice admin",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("role", choices=[r.value for r in Role])
    p.set_defaults(func=_users_role)


def _users_list(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    role = Role(args.role) if args.role else None
    users = run(
        args,
        lambda db: all_pages(
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
    from broker_stub.auth import accounts

    settings = settings_from(database_url=args.database_url)
    password = _read_new_password(
        args.name, from_stdin=args.password_stdin, minimum=settings.password_min_length
    )
    run(args, lambda db: accounts.set_password(db, admin_here(), args.name, password))
    print(f"Set a new password for {args.name!r}; their earlier sign-ins no longer work.")
    return 0


def _users_unlock(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    was_locked = run(args, lambda db: accounts.unlock_user(db, admin_here(), args.name))
    if was_locked:
        print(f"Unlocked {args.name!r}; they can sign in again.")
    else:
        print(f"{args.name!r} was not locked; their failed sign-ins are forgotten.")
    return 0


def _users_remove(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    ended = run(args, lambda db: accounts.delete_user(db, admin_here(), args.name))
    sessions = f" and logged off {ended} session{'s' if ended != 1 else ''}" if ended else ""
    print(f"Removed user {args.name!r}{sessions}.")
    return 0


def _users_role(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts

    info = run(args, lambda db: accounts.set_role(db, admin_here(), args.name, Role(args.role)))
    print(f"{info.username!r} is now {'an admin' if info.role == Role.ADMIN else 'a plain user'}.")
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from broker_stub.auth import accounts
    from broker_stub.values import names

    log.setup("warning")
    name = args.name
    problem = names.username_problem(name)
    if problem:
        raise CliError(problem)
    settings = settings_from(database_url=args.database_url)
    password = _read_new_password(
        name, from_stdin=args.password_stdin, minimum=settings.password_min_length
    )

    created = run(
        args,
        lambda db: accounts.save_user(
            db,
            admin_here(),
            name,
            password,
            display_name=args.display_name,
            groups=args.group,
            role=Role.ADMIN if args.admin else None,
        ),
    )
    print(f"{'Added' if created else 'Updated'} user {name!r}.")
    return 0


def _users_totp(args: argparse.Namespace) -> int:
    from broker_stub.auth import totp
    from broker_stub.auth.users import find_user

    name: str = args.name

    def apply(db: Session) -> str | bool:
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

    result = run(args, apply)
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
