"""Turn a broker's connection details into a plan for a native client.

Everything here is pure: a plan says what to run and what to feed it, and
``launcher.core.supervisor`` is what starts it. Errors::

    LaunchError
    └── ClientNotFound   the native client is not installed
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClientNotFound", "ExitReason", "LaunchError", "LaunchPlan", "find_client"]


class LaunchError(Exception):
    """A desktop could not be opened; ``str()`` is the user-facing message."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ClientNotFound(LaunchError):
    pass


@dataclass(frozen=True, slots=True)
class ExitReason:
    """Why a client stopped, as a user would want it said."""

    message: str
    hint: str = ""
    failed: bool = True


@dataclass(frozen=True, slots=True)
class LaunchPlan:
    """What to run. ``stdin`` is written to the client and the pipe closed.

    ``stdin`` and ``env`` may hold secrets, so they stay out of ``repr``.
    """

    argv: tuple[str, ...]
    stdin: bytes | None = field(default=None, repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    title: str = ""


def find_client(
    names: Sequence[str],
    *,
    override: str | None = None,
    extra_dirs: Sequence[str] = (),
    path: str | None = None,
) -> str | None:
    """Return the first installed client among ``names``, or None.

    An ``override`` (a path from the user's settings) wins when it is an
    executable file; ``extra_dirs`` are the usual install places that are
    often missing from PATH (desktop launchers get a thin PATH).
    """
    if override:
        candidate = Path(override).expanduser()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        return None
    search = os.pathsep.join(
        p for p in (path if path is not None else os.environ.get("PATH", ""), *extra_dirs) if p
    )
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def platform_key() -> str:
    """``linux``, ``windows`` or ``macos``: the key of the install-hint tables."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"
