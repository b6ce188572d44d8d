"""The launcher's named loggers and their one-time setup.

Modules log through these names instead of ``logging.getLogger(__name__)`` so
an admin can turn one area up (``--log-level debug``) and read a log that is
grouped by what happened, not by file layout.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

app = logging.getLogger("rubicon.app")
broker = logging.getLogger("rubicon.brokerclient")  # rubicon.broker.* is the server
launch = logging.getLogger("rubicon.launch")
client = logging.getLogger("rubicon.client")  # what native clients print
ui = logging.getLogger("rubicon.ui")
qt = logging.getLogger("rubicon.qt")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for tests and log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(*, level: str = "info", json_output: bool = False, stream: TextIO | None = None) -> None:
    """Send the ``rubicon`` loggers to ``stream`` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_output:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger("rubicon")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
