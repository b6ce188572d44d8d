"""The user's own settings, kept in one JSON file in the config directory.

Only what the user chose lives here; never a password or token (those
belong to the OS keychain). A damaged file is set aside, not lost, and the
defaults are used.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from launcher.core import log

APP_NAME = "rubicon"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@dataclass(slots=True)
class UserSettings:
    last_server: str = ""
    last_username: str = ""
    fullscreen: bool = False
    # Per-protocol client path chosen by the user, e.g. {"vnc": "/opt/bin/vncviewer"}.
    clients: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> UserSettings:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            _set_aside(path, e)
            return cls()
        if not isinstance(raw, dict):
            _set_aside(path, "not a JSON object")
            return cls()
        known = {f.name for f in fields(cls)}
        settings = cls()
        for key, value in raw.items():
            if key in known and isinstance(value, type(getattr(settings, key))):
                setattr(settings, key, value)
            else:
                log.app.warning("settings %s: ignoring %r", path, key)
        return settings

    def save(self, path: Path) -> None:
        """Write atomically, readable by the user alone."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(self), f, indent=2, sort_keys=True)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _set_aside(path: Path, why: Any) -> None:
    broken = path.with_suffix(path.suffix + ".broken")
    log.app.warning("settings %s unreadable (%s); moved to %s, using defaults", path, why, broken)
    try:
        os.replace(path, broken)
    except OSError as e:
        log.app.warning("could not move %s aside: %s", path, e)
