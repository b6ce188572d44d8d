"""The desktop list as shown: search, favourites, recent, auto-launch, actions."""

from __future__ import annotations

from launcher.core import catalog
from launcher.core.catalog import Show
from launcher.core.models import Desktop, DesktopState, Protocol, SessionRef

ENG = Desktop(
    "engineering", "Engineering desktop", (Protocol.VNC,), Protocol.VNC, DesktopState.AVAILABLE
)
WIN = Desktop(
    "win",
    "Windows 11",
    (Protocol.RDP, Protocol.VNC),
    Protocol.RDP,
    DesktopState.CONNECTED,
    SessionRef("s1", "active", "win-1"),
    allow_reset=True,
)
LAB = Desktop("lab", "Teaching lab", (Protocol.SPICE,), Protocol.SPICE, DesktopState.MAINTENANCE)
ALL = [ENG, LAB, WIN]


def test_search_matches_every_word_in_name_id_protocol_or_state() -> None:
    assert catalog.arrange(ALL, query="eng") == [ENG]
    assert catalog.arrange(ALL, query="  WINDOWS rdp ") == [WIN]
    assert catalog.arrange(ALL, query="maintenance") == [LAB]
    assert catalog.arrange(ALL, query="vnc") == [ENG, WIN]
    assert catalog.arrange(ALL, query="vnc lab") == []
    assert catalog.arrange(ALL, query="") == ALL


def test_favourites_come_first_and_can_be_shown_alone() -> None:
    assert catalog.arrange(ALL, favourites=["win"]) == [WIN, ENG, LAB]
    assert catalog.arrange(ALL, show=Show.FAVOURITES, favourites=["win", "gone"]) == [WIN]
    assert catalog.arrange(ALL, show=Show.FAVOURITES, favourites=["win"], query="eng") == []


def test_recent_are_newest_first() -> None:
    assert catalog.arrange(ALL, show=Show.RECENT, recents=["lab", "engineering", "old"]) == [
        LAB,
        ENG,
    ]


def test_toggle_favourite_is_per_broker_and_returns_a_copy() -> None:
    before = {"https://a": ["lab"]}
    after = catalog.toggle_favourite(before, "https://a", "win")
    assert after == {"https://a": ["lab", "win"]}
    assert before == {"https://a": ["lab"]}
    assert catalog.toggle_favourite(after, "https://a", "lab") == {"https://a": ["win"]}
    assert catalog.toggle_favourite({"https://a": ["lab"]}, "https://a", "lab") == {}
    assert catalog.toggle_favourite({}, "https://b", "x") == {"https://b": ["x"]}


def test_recents_move_to_the_front_and_are_capped() -> None:
    recents: dict[str, list[str]] = {}
    for desktop_id in ["a", "b", "c", "a", "d", "e", "f"]:
        recents = catalog.note_recent(recents, "https://a", desktop_id)
    assert recents == {"https://a": ["f", "e", "d", "a", "c"]}


def test_auto_launch_only_for_one_desktop_that_can_open() -> None:
    assert catalog.auto_launch_target([ENG], True) is ENG
    assert catalog.auto_launch_target([ENG], False) is None
    assert catalog.auto_launch_target([ENG, WIN], True) is None
    assert catalog.auto_launch_target([LAB], True) is None  # maintenance
    assert catalog.auto_launch_target([WIN], True) is WIN  # reconnect


def test_actions_follow_the_session_and_the_pool_flags() -> None:
    eng = catalog.actions(ENG)
    assert (eng.connect, eng.reconnect, eng.logoff, eng.reset, eng.restart) == (
        True,
        False,
        False,
        False,
        False,
    )
    assert eng.protocols == ()
    win = catalog.actions(WIN)
    assert (win.connect, win.reconnect, win.logoff, win.reset, win.restart) == (
        True,
        True,
        True,
        True,
        False,
    )
    assert win.protocols == (Protocol.RDP, Protocol.VNC)
    assert not catalog.actions(LAB).connect
    assert not catalog.actions(None).connect
