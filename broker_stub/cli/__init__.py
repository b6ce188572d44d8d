"""`rubicon-broker`, the broker's command line: entry.py builds the parser and
runs a command; common.py is what every command shares (the database runner,
one-line errors, tables and JSON); init.py, serve.py, users.py and admin.py
hold the commands.

`python -m broker_stub.cli` is the same as `rubicon-broker`.
"""

from broker_stub.cli.common import EXIT_REFUSED, EXIT_USAGE, CliError
from broker_stub.cli.entry import build_parser, main
from broker_stub.cli.serve import is_loopback

__all__ = ["EXIT_REFUSED", "EXIT_USAGE", "CliError", "build_parser", "is_loopback", "main"]
