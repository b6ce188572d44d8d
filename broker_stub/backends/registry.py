"""Which kinds of backend this broker knows, and this node's backend for each pool.

Kinds come from two places: the ones that ship (static, libvirt) and the
entry-point group "rubicon.backends", where an installed distribution names
a `BackendKind` object (docs/backends.md shows one). A plug-in that fails to
load is reported when a pool asks for it, with the reason; it does not stop
the broker from serving other pools.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from broker_stub import log
from broker_stub.backends.base import BackendError, BackendKind, Context, Shared
from broker_stub.backends.calls import Calls, HealthListener

ENTRY_POINT_GROUP = "rubicon.backends"


def _static() -> BackendKind:
    from broker_stub.backends.static import KIND

    return KIND


def _libvirt() -> BackendKind:
    from broker_stub.backends.libvirt import KIND

    return KIND


def _vsphere() -> BackendKind:
    from broker_stub.backends.vsphere import KIND

    return KIND


def _hyperv() -> BackendKind:
    from broker_stub.backends.hyperv import KIND

    return KIND


def _proxmox() -> BackendKind:
    from broker_stub.backends.proxmox import KIND

    return KIND


_BUILT_IN: dict[str, Callable[[], BackendKind]] = {
    "static": _static,
    "libvirt": _libvirt,
    "vsphere": _vsphere,
    "proxmox": _proxmox,
    "hyperv": _hyperv,
}


class UnknownKind(BackendError):
    """No backend kind by that name, or its plug-in cannot be loaded."""


@functools.cache
def _plugins() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in _BUILT_IN:
            log.backend.warning(
                "the plug-in %s names its backend %r, which is built in; it is ignored",
                point.value,
                point.name,
            )
            continue
        found.setdefault(point.name, point)
    return found


def kinds() -> list[str]:
    """Every kind's name: the built-in ones first, then the plug-ins'."""
    return [*_BUILT_IN, *sorted(_plugins())]


def rescan() -> None:
    """Look for plug-ins again (after a distribution was installed in this process)."""
    _plugins.cache_clear()
    find_kind.cache_clear()


@functools.cache
def find_kind(name: str) -> BackendKind:
    """The kind called `name`; UnknownKind says which kinds there are, or why a plug-in failed."""
    if name in _BUILT_IN:
        return _BUILT_IN[name]()
    point = _plugins().get(name)
    if point is None:
        raise UnknownKind(
            f"there is no backend type {name!r}; this broker knows {', '.join(kinds())}. "
            f"A plug-in adds one through the entry-point group {ENTRY_POINT_GROUP!r}"
        )
    where = f"{point.value}" + (f" from {point.dist.name}" if point.dist else "")
    try:
        kind = point.load()
    except Exception as exc:  # a broken plug-in must not take the broker down
        raise UnknownKind(
            f"the backend plug-in {name!r} ({where}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}; reinstall or remove it"
        ) from None
    if not isinstance(kind, BackendKind):
        raise UnknownKind(
            f"the backend plug-in {name!r} ({where}) names a {type(kind).__name__}, "
            "not a broker_stub.backends.BackendKind"
        )
    if kind.name != name:
        raise UnknownKind(
            f"the backend plug-in {name!r} ({where}) is registered as {name!r} "
            f"but calls itself {kind.name!r}; the two must match"
        )
    return kind


class Backends:
    """This node's backends: one per pool and options, each behind its own `Calls`.

    Made on first use, and made again when a pool's options change. Safe across
    threads. `on_health` hears when a pool's backend starts or stops failing.
    """

    def __init__(
        self,
        *,
        on_health: HealthListener | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._made: dict[str, tuple[dict[str, Any], Calls]] = {}
        self._shared = Shared()
        self._on_health = on_health
        self._on_change = on_change

    def for_pool(self, pool_id: str, options: Mapping[str, Any]) -> Calls:
        """The pool's backend; UnknownKind if its type is not (or no longer) here."""
        with self._lock:
            known = self._made.get(pool_id)
            if known is not None and known[0] == options:
                return known[1]
            kind = find_kind(str(options.get("type", "static")))
            context = Context(pool_id=pool_id, shared=self._shared, changed=self._changed(pool_id))
            backend = kind.create(options, context)
            calls = Calls(pool_id, backend, on_health=self._on_health)
            self._made[pool_id] = (dict(options), calls)
        if known is not None:
            known[1].close()
        return calls

    def _changed(self, pool_id: str) -> Callable[[], None]:
        def changed() -> None:
            if self._on_change is not None:
                self._on_change(pool_id)

        return changed

    def made(self) -> dict[str, Calls]:
        """The backends made so far, by pool."""
        with self._lock:
            return {pool_id: calls for pool_id, (_, calls) in self._made.items()}

    def close(self) -> None:
        """Stop every backend's threads and close shared connections (node shutdown)."""
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for _, calls in made:
            calls.close()
        self._shared.close()
