"""The pools file's field types: durations ("90s", "30m", "8h", "2d", "1h30m"),
ports, MAC addresses, the admin's commands with placeholders, and StrictModel.
Backends' option tables are built from them too, so they live below both.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MAC = re.compile(r"[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}")
DURATION_HINT = 'a duration like "90s", "30m", "8h" or "1h30m"'
COMMAND_PLACEHOLDERS = ("name", "host", "mac")


def parse_duration(text: str) -> timedelta:
    """ "90s", "30m", "8h", "2d", "1h30m" → timedelta; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"must be {DURATION_HINT}, not {text!r}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The pools-file spelling of `value` (whole seconds): 5400 s → "1h30m"."""
    left = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _duration(value: object) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(f"must be {DURATION_HINT}: a string with a unit")
    return parse_duration(value)


def _port_range(port: int) -> int:
    if not 1 <= port <= 65535:
        raise ValueError("must be 1-65535")
    return port


def _mac(value: str) -> str:
    if not _MAC.fullmatch(value.lower()):
        raise ValueError('must be a MAC address like "52:54:00:12:34:56"')
    return value.lower().replace("-", ":")


def _command(argv: list[str]) -> list[str]:
    for arg in argv:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError:
            raise ValueError(f"{arg!r} has an unmatched brace; write {{{{ for a brace") from None
        for name in fields:
            if name not in COMMAND_PLACEHOLDERS:
                raise ValueError(
                    f"{{{name}}} is not a placeholder; use "
                    + ", ".join(f"{{{p}}}" for p in COMMAND_PLACEHOLDERS)
                )
    return argv


NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
Port = Annotated[int, AfterValidator(_port_range)]
MacAddress = Annotated[str, AfterValidator(_mac)]
Command = Annotated[list[NonEmpty], Field(min_length=1), AfterValidator(_command)]


class StrictModel(BaseModel):
    """A table of the pools file; backends' option tables build on it too."""

    # strict: a TOML file has real types, so "5901" for a port is a mistake.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
