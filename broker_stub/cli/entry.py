"""`rubicon-broker`: the parser of every command, and main().

Every sub-command registers a handler with `set_defaults(func=...)`; the
handler takes the parsed arguments and returns the exit status. The commands
live beside this module: init.py, serve.py (serve, migrate), users.py,
admin.py (groups, pools, machines, entitlements, sessions, audit, apply); the
demo is broker_stub/demo/__init__.py. What they share is common.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from broker_stub import __version__, demo
from broker_stub.cli import admin, init, serve, users
from broker_stub.cli.common import EXIT_REFUSED, EXIT_USAGE, PROG, CliError, wrap
from broker_stub.config import ConfigError
from broker_stub.domain.errors import BrokerError


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
        description=wrap(
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
    init.add_init(subparsers)
    serve.add_migrate(subparsers)
    serve.add_serve(subparsers)
    users.add_users(subparsers)
    admin.add_commands(subparsers)
    demo.add_demo_command(subparsers)
    return parser
