"""Paged lists: a page of items and an opaque cursor to the next page.

A cursor is the sort key of the last item handed out, tagged with the list it
belongs to and base64url-encoded. Clients must not build or change cursors;
one that does not decode, or that belongs to another list, is refused with
InvalidCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from broker_stub.domain.errors import InvalidCursor

T = TypeVar("T")

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 500
# Longer than any cursor this module makes; a bigger one is junk.
MAX_CURSOR_LENGTH: Final = 512

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # None on the last page.
    next_cursor: str | None


def encode(kind: str, key: Key) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str, shape: tuple[type, ...]) -> Key:
    """The key in `cursor`, whose parts must have the types in `shape`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not isinstance(value, list) or len(value) != len(shape) + 1 or value[0] != kind:
        raise InvalidCursor()
    key = tuple(value[1:])
    # bool is an int to Python, but never a key part.
    if any(type(part) is not want for part, want in zip(key, shape, strict=True)):
        raise InvalidCursor()
    return key


def cut(rows: list[T], limit: int, kind: str, key: Callable[[T], Key]) -> Page[T]:
    """A page of the first `limit` rows, from a query that fetched `limit + 1`.

    The extra row only tells that more follow; the cursor holds the key of the
    last row handed out.
    """
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    items = rows[:limit]
    return Page(items=items, next_cursor=encode(kind, key(items[-1])))
