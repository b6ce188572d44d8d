"""What one start asks for: a link, options, or both; and the hand-over to a running window."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from launcher.core import startup
from launcher.core.models import Protocol
from launcher.core.startup import StartError, StartRequest
from tests.helpers import pool_ids


def test_a_link_names_broker_desktop_protocol_and_user() -> None:
    req = startup.request("rubicon://broker.example.com/engineering?protocol=rdp&user=ann")
    assert req == StartRequest(
        "https://broker.example.com", "ann", "engineering", Protocol.RDP, None, False
    )


def test_options_win_over_the_link() -> None:
    req = startup.request(
        "rubicon://broker.example.com/engineering?protocol=rdp",
        server="other.example.com:8443",
        desktop="lab",
        protocol="VNC",
        fullscreen=True,
    )
    assert (req.server, req.desktop, req.protocol, req.fullscreen) == (
        "https://other.example.com:8443",
        "lab",
        Protocol.VNC,
        True,
    )


def test_no_link_no_options_is_empty() -> None:
    assert startup.request().empty


@pytest.mark.parametrize(
    ("link", "options", "words"),
    [
        ("http://x/y", {}, "Not a Rubicon link"),
        ("rubicon://b/Bad_Desktop", {}, "not a desktop name"),
        (None, {"desktop": "../etc"}, "not a desktop id"),
        (None, {"protocol": "ica"}, "--protocol takes one of"),
        (None, {"server": "ftp://x"}, "not a broker address"),
        (None, {"user": "ann smith"}, "not a valid username"),
        (None, {"server": "b", "non_interactive": True}, "--non-interactive needs --user"),
    ],
)
def test_bad_requests_are_refused_in_plain_words(
    link: str | None, options: dict[str, object], words: str
) -> None:
    with pytest.raises(StartError, match=words):
        startup.request(link, **options)  # type: ignore[arg-type]


def test_non_interactive_with_everything() -> None:
    req = startup.request(
        "rubicon://b.example.com/lab?user=ann", non_interactive=True, fullscreen=False
    )
    assert req.non_interactive
    assert req.desktop == "lab"


def test_the_hand_over_round_trips_and_checks_again() -> None:
    req = startup.request("rubicon://b.example.com/lab?protocol=spice&user=ann")
    assert startup.decode(startup.encode(req).strip()) == StartRequest(
        "https://b.example.com", "ann", "lab", Protocol.SPICE
    )
    for bad in (b"\xff", b"[]", b'{"server": 3}', b'{"desktop": "../x"}', b"x" * 5000):
        with pytest.raises(StartError):
            startup.decode(bad)


def test_instance_name_is_per_user(tmp_path: Path) -> None:
    assert startup.instance_name("ann", str(tmp_path)) == str(tmp_path / "rubicon.socket")
    ann = startup.instance_name("ann", "")
    assert ann.startswith("rubicon-")
    assert ann != startup.instance_name("bob", "")
    assert "ann" not in ann


# -- pool ids: the broker's rule (tests/helpers/pool_ids.py) ------------------------


@pytest.mark.parametrize("pool_id", pool_ids.GOOD)
def test_every_pool_id_the_broker_takes_is_taken_by_link_and_option(pool_id: str) -> None:
    assert startup.request(f"rubicon://b.example.com/{pool_id}").desktop == pool_id
    assert startup.request(desktop=pool_id).desktop == pool_id


@pytest.mark.parametrize("pool_id", pool_ids.BAD)
def test_every_pool_id_the_broker_refuses_is_refused_by_link_and_option(pool_id: str) -> None:
    if pool_id:  # rubicon://b.example.com/ names no desktop at all
        with pytest.raises(StartError, match="not a desktop name"):
            startup.request(f"rubicon://b.example.com/{quote(pool_id)}")
    with pytest.raises(StartError, match="not a desktop id"):
        startup.request(desktop=pool_id)
