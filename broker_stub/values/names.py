"""What a username, group name, machine name or pool id may look like.

The same rules serve the API's request schemas (as JSON Schema patterns), the
command line and the desired-state file, so a name one of them accepts works
in the others: no whitespace at the ends, no control characters, and no "/",
because names appear as one segment of an admin URL.
"""

from __future__ import annotations

import re
from typing import Final

USERNAME_MAX: Final = 128
NAME_MAX: Final = 200

# Spelled out rather than \s, which means three different things in JSON
# Schema (ECMA-262), pydantic's Rust regex and Python's re. No control
# characters (C0, DEL, C1) anywhere; no whitespace at either end.
CONTROL: Final = r"\x00-\x1f\x7f-\x9f"
_SPACE = r"\x20\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_EDGE = rf"[^/{CONTROL}{_SPACE}]"
_INNER = rf"[^/{CONTROL}]"
# Any text the broker takes in (a password, a filter, a console password):
# no control characters. pydantic also refuses a lone surrogate (from JSON's
# "\ud800") in a field with a pattern: neither database can store one, and
# PostgreSQL cannot store NUL.
TEXT_PATTERN: Final = rf"^[^{CONTROL}]*$"
_NOT_TEXT = re.compile(rf"[{CONTROL}\ud800-\udfff]")
USERNAME_PATTERN: Final = rf"^{_EDGE}+$"
NAME_PATTERN: Final = rf"^{_EDGE}({_INNER}*{_EDGE})?$"
# A pool id goes into URLs, rubicon:// links, `rubicon --desktop ID` and clone
# names (`ID-001`): lower-case letters, digits and '-', but not at either end
# (an id that starts with '-' reads as an option on a command line). The
# launcher checks links and --desktop with the same rule; tests/helpers/pool_ids.py
# holds the ids both sides' tests try.
POOL_ID_MAX: Final = 64
POOL_ID_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
POOL_ID_RULE: Final = (
    "use 1-64 lower-case letters, digits and '-', beginning and ending with a letter "
    'or digit (like "engineering" or "win-11")'
)


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a username, or None if it can."""
    if not 1 <= len(name) <= USERNAME_MAX or not re.fullmatch(USERNAME_PATTERN, name):
        return (
            f"{name!r} is not a usable username: use 1-{USERNAME_MAX} characters "
            "without spaces, control characters or '/'"
        )
    return None


def name_problem(kind: str, name: str) -> str | None:
    """Why `name` cannot name a group or machine (`kind`), or None if it can."""
    if not 1 <= len(name) <= NAME_MAX or not re.fullmatch(NAME_PATTERN, name):
        return (
            f"{name!r} is not a usable {kind} name: use 1-{NAME_MAX} characters without "
            "control characters or '/', and no spaces at either end"
        )
    return None


def is_text(value: str) -> bool:
    """True if `value` has no control character and no lone surrogate (TEXT_PATTERN)."""
    return _NOT_TEXT.search(value) is None
