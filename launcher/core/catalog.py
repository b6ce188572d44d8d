"""The desktop list as the user sees it: search, favourites, recent, actions.

Pure functions over :class:`~launcher.core.models.Desktop`; the desktops
page renders what they return and nothing else decides.

Favourites and recents are kept per broker (by its normalized URL) in the
user settings, as lists of desktop ids: ``{"https://b": ["lab", "win"]}``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from launcher.core.models import Desktop, DesktopState, Protocol
from launcher.core.settings import MAX_RECENTS

__all__ = [
    "Actions",
    "Show",
    "actions",
    "arrange",
    "auto_launch_target",
    "matches",
    "note_recent",
    "toggle_favourite",
]

# Words a search also finds a desktop by, beside its name and id.
STATE_WORDS = {
    DesktopState.AVAILABLE: "available",
    DesktopState.CONNECTED: "connected",
    DesktopState.DISCONNECTED: "disconnected",
    DesktopState.STARTING: "starting",
    DesktopState.UNAVAILABLE: "unavailable in use",
    DesktopState.MAINTENANCE: "maintenance",
}


_WORD = re.compile(r"\w+")


class Show(enum.StrEnum):
    ALL = "all"
    FAVOURITES = "favourites"
    RECENT = "recent"


def matches(desktop: Desktop, query: str) -> bool:
    """Every word of ``query`` begins a word of the desktop's name, id, protocols or state.

    ``eng`` finds "Engineering desktop"; ``lab`` does not find "available".
    """
    text = " ".join(
        (
            desktop.name,
            desktop.id,
            " ".join(p.value for p in desktop.protocols),
            STATE_WORDS[desktop.state],
        )
    ).casefold()
    words = _WORD.findall(text)
    return all(
        any(word.startswith(part) for word in words) for part in _WORD.findall(query.casefold())
    )


def arrange(
    desktops: Sequence[Desktop],
    *,
    query: str = "",
    show: Show = Show.ALL,
    favourites: Sequence[str] = (),
    recents: Sequence[str] = (),
) -> list[Desktop]:
    """The desktops to show, in order.

    ``ALL``: favourites first, then the rest, each in the broker's order (by
    name). ``FAVOURITES``: only starred ones. ``RECENT``: the ones opened
    lately, newest first. The search narrows any of them.
    """
    found = [d for d in desktops if matches(d, query)]
    starred = set(favourites)
    if show is Show.FAVOURITES:
        return [d for d in found if d.id in starred]
    if show is Show.RECENT:
        by_id = {d.id: d for d in found}
        return [by_id[i] for i in recents if i in by_id]
    return [d for d in found if d.id in starred] + [d for d in found if d.id not in starred]


def toggle_favourite(
    favourites: Mapping[str, Sequence[str]], server: str, desktop_id: str
) -> dict[str, list[str]]:
    """A copy of ``favourites`` with ``desktop_id`` starred on ``server``, or unstarred."""
    out = {k: list(v) for k, v in favourites.items()}
    mine = out.setdefault(server, [])
    if desktop_id in mine:
        mine.remove(desktop_id)
    else:
        mine.append(desktop_id)
    if not mine:
        del out[server]
    return out


def note_recent(
    recents: Mapping[str, Sequence[str]], server: str, desktop_id: str
) -> dict[str, list[str]]:
    """A copy of ``recents`` with ``desktop_id`` first on ``server``; at most MAX_RECENTS."""
    out = {k: list(v) for k, v in recents.items()}
    mine = [desktop_id, *(i for i in out.get(server, []) if i != desktop_id)]
    out[server] = mine[:MAX_RECENTS]
    return out


def launchable(desktop: Desktop) -> bool:
    """Whether a launch should work now: a machine is free or the user holds one."""
    if desktop.session is not None:
        return True
    return desktop.state in (DesktopState.AVAILABLE, DesktopState.STARTING)


def auto_launch_target(desktops: Sequence[Desktop], enabled: bool) -> Desktop | None:
    """The one desktop to open at once after sign-in, if the setting is on."""
    if not enabled or len(desktops) != 1 or not launchable(desktops[0]):
        return None
    return desktops[0]


@dataclass(frozen=True, slots=True)
class Actions:
    """What the user may do with a desktop; the page enables buttons and menus from it."""

    connect: bool
    reconnect: bool  # Connect reads "Reconnect": the user holds a session there
    logoff: bool
    reset: bool
    restart: bool
    protocols: tuple[Protocol, ...]  # for "Connect with": only when there is a choice


def actions(desktop: Desktop | None) -> Actions:
    if desktop is None:
        return Actions(False, False, False, False, False, ())
    session = desktop.session is not None
    return Actions(
        # "All in use" may change any second: trying says so in plain words.
        # Maintenance will not, unless the user's own machine is in it.
        connect=session or desktop.state is not DesktopState.MAINTENANCE,
        reconnect=session or desktop.state in (DesktopState.CONNECTED, DesktopState.DISCONNECTED),
        logoff=session,
        reset=session and desktop.allow_reset,
        restart=session and desktop.allow_restart,
        protocols=desktop.protocols if len(desktop.protocols) > 1 else (),
    )
