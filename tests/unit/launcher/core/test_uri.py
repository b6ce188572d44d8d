from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.broker import normalize_url
from launcher.core.models import Protocol
from launcher.core.uri import Link, LinkError, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rubicon://broker.example.com/engineering?protocol=rdp&user=alice",
            Link("https://broker.example.com", "engineering", Protocol.RDP, "alice"),
        ),
        ("rubicon://broker.example.com:8443/", Link("https://broker.example.com:8443")),
        ("RUBICON://Broker.Example.com", Link("https://broker.example.com")),
        ("rubicon://broker.example.com:443/lab", Link("https://broker.example.com", "lab")),
        ("rubicon://127.0.0.1:80/demo?tls=0", Link("http://127.0.0.1", "demo")),
        ("rubicon://127.0.0.1:443/demo?tls=0", Link("http://127.0.0.1:443", "demo")),
        ("rubicon://b.test:80/x", Link("https://b.test:80", "x")),
        ("rubicon://127.0.0.1:8080/demo?tls=0", Link("http://127.0.0.1:8080", "demo")),
        (
            "rubicon://[::1]:8443/lab?protocol=SPICE",
            Link("https://[::1]:8443", "lab", Protocol.SPICE),
        ),
        (
            "  rubicon://b.test/x-1?user=DOMAIN\\bob ",
            Link("https://b.test", "x-1", user="DOMAIN\\bob"),
        ),
    ],
)
def test_good_links(text: str, expected: Link) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("https://b.test/x", "must start with rubicon://"),
        ("rubicon:///x", "does not name a broker"),
        ("rubicon://b.test:99999/x", "port"),
        ("rubicon://alice:pw@b.test/x", "must not carry a username or password"),
        ("rubicon://b.test/x?tls=0", "only for a broker on this computer"),
        ("rubicon://b.test/x?tls=maybe", "tls= takes 0 or 1"),
        ("rubicon://b.test/x?protocol=ica", "protocol= takes one of rdp, spice, vnc"),
        ("rubicon://b.test/../etc", "is not a desktop name"),
        ("rubicon://b.test/a/b", "is not a desktop name"),
        ("rubicon://b.test/x?user=a;rm", "user= is not a valid username"),
        ("rubicon://b.test/x?run=calc", "options Rubicon does not know: run"),
        ("rubicon://b.test/x?user=a&user=b", "repeats an option"),
        ("rubicon://b_c.test/x", "does not name a broker"),
    ],
)
def test_bad_links_say_why(text: str, says: str) -> None:
    with pytest.raises(LinkError, match=says.replace("(", r"\(")):
        parse(text)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_with_a_link_error(text: str) -> None:
    try:
        link = parse(text)
    except LinkError as e:
        message = str(e)
        assert message.endswith(".") or "rubicon://" in message
        return
    assert link.server.startswith(("https://", "http://"))
    assert normalize_url(link.server) == link.server  # written as the sign-in form writes it
