"""Named loggers and log set-up for the broker.

This is the only module that names loggers; everything else logs through the
objects below. Never pass a password, token or console password to them.
"""

from __future__ import annotations

import json as _json
import logging
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

ROOT: Final = "rubicon.broker"

api: Final = logging.getLogger(f"{ROOT}.api")
auth: Final = logging.getLogger(f"{ROOT}.auth")
backend: Final = logging.getLogger(f"{ROOT}.backend")
cli: Final = logging.getLogger(f"{ROOT}.cli")
config: Final = logging.getLogger(f"{ROOT}.config")
db: Final = logging.getLogger(f"{ROOT}.db")
domain: Final = logging.getLogger(f"{ROOT}.domain")
# One line per HTTP request (broker_stub.api.observe).
http: Final = logging.getLogger(f"{ROOT}.http")
demo: Final = logging.getLogger(f"{ROOT}.demo")
scheduler: Final = logging.getLogger(f"{ROOT}.scheduler")
xdisplay: Final = logging.getLogger(f"{ROOT}.xdisplay")

LEVELS: Final = ("debug", "info", "warning", "error")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Structured fields a caller passed as extra={"fields": {...}}; they
        # never replace the four above.
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _json.dumps(entry, ensure_ascii=False)


class _Handler(logging.StreamHandler[TextIO]):
    """Marks the handler we installed so a second setup() replaces it."""


def setup(level: str = "info", json: bool = False) -> None:
    """Send all log records (ours and uvicorn's) to stderr at `level`."""
    handler = _Handler(sys.stderr)
    if json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic narrates every step at INFO; rubicon.broker.db logs the outcome.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
