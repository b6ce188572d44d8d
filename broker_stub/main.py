"""The `rubicon-broker` command: the broker's command line, or what to install first.

The server's packages (FastAPI, SQLAlchemy, ...) are the extra ``broker`` of
the ``rubicon`` distribution; a launcher-only install has the command but not
them. Only this module and the standard library load before they are checked,
so such an install gets one sentence saying what to install, not a traceback
from whichever command first imports one of them.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["SERVER_MODULES", "main", "missing_modules"]

# The top-level modules of the extra's packages (tests/unit/test_dependencies.py
# holds this against the extra's list in pyproject.toml).
SERVER_MODULES = (
    "alembic",
    "argon2",
    "cryptography",
    "fastapi",
    "ldap3",
    "platformdirs",
    "prometheus_client",
    "psycopg",
    "pydantic",
    "pydantic_settings",
    "pyotp",
    "sqlalchemy",
    "uvicorn",
)


def missing_modules() -> list[str]:
    """The server's modules that cannot be imported here (found, not imported: quick)."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def main() -> int:
    missing = missing_modules()
    if missing:
        print(
            "rubicon-broker: the broker's packages are not installed here "
            f"(missing: {', '.join(missing)}).\n"
            "Install them with:  pip install 'rubicon[broker]'\n"
            "or install the rubicon-broker package, which has them.",
            file=sys.stderr,
        )
        return 1
    from broker_stub.cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
