"""The user's list of brokers: add, edit, remove, the one used last first.

Pure functions over a list of normalized broker URLs (``https://host[:port]``);
each returns a new list. Addresses are normalized with
:func:`launcher.core.broker.normalize_url`, whose ``ValueError`` says in
plain words what is wrong with one.
"""

from __future__ import annotations

from collections.abc import Sequence

from launcher.core.broker import normalize_url
from launcher.core.settings import MAX_SERVERS

__all__ = ["add", "normalize_url", "remove", "replace", "same", "use"]


def _without(servers: Sequence[str], url: str) -> list[str]:
    return [s for s in servers if s != url]


def use(servers: Sequence[str], address: str) -> list[str]:
    """``address`` moved (or added) to the front: it is the one used last."""
    url = normalize_url(address)
    return [url, *_without(servers, url)][:MAX_SERVERS]


def add(servers: Sequence[str], address: str) -> list[str]:
    """``address`` added at the front; already there: moved to the front."""
    return use(servers, address)


def replace(servers: Sequence[str], old: str, address: str) -> list[str]:
    """``old`` edited to ``address``, in its place; a duplicate it would make goes."""
    url = normalize_url(address)
    out: list[str] = []
    for server in servers:
        value = url if server == old else server
        if value not in out:
            out.append(value)
    if old not in servers:
        out = [url, *_without(out, url)]
    return out[:MAX_SERVERS]


def remove(servers: Sequence[str], address: str) -> list[str]:
    return [s for s in servers if s != address]


def same(one: str, other: str) -> bool:
    """Whether two addresses name the same broker, written alike or not.

    ``https://b.example.com``, ``b.example.com:443`` and ``HTTPS://B.example.com/``
    are one broker; an address that is none is the same as nothing.
    """
    try:
        return normalize_url(one) == normalize_url(other)
    except ValueError:
        return False
