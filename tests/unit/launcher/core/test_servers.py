from __future__ import annotations

import pytest

from launcher.core import servers


def test_use_puts_the_last_used_first_normalized() -> None:
    listed = servers.use([], "b.example.com")
    assert listed == ["https://b.example.com"]
    listed = servers.use(listed, "https://a.example.com:8443/")
    assert listed == ["https://a.example.com:8443", "https://b.example.com"]
    assert servers.use(listed, "b.example.com") == [
        "https://b.example.com",
        "https://a.example.com:8443",
    ]


def test_add_edit_remove() -> None:
    listed = servers.add(["https://a"], "b")
    assert listed == ["https://b", "https://a"]
    assert servers.replace(listed, "https://a", "c:8443") == ["https://b", "https://c:8443"]
    assert servers.replace(listed, "https://a", "b") == ["https://b"]  # no duplicate
    assert servers.remove(listed, "https://b") == ["https://a"]
    assert servers.remove(listed, "https://none") == listed


def test_a_bad_address_is_refused_in_plain_words() -> None:
    with pytest.raises(ValueError, match="not a broker address"):
        servers.add([], "ftp://x")


def test_the_list_is_capped() -> None:
    listed: list[str] = []
    for n in range(30):
        listed = servers.use(listed, f"b{n}.example.com")
    assert len(listed) == 20
    assert listed[0] == "https://b29.example.com"


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("https://broker.example.com", "https://broker.example.com:443", True),
        ("https://broker.example.com", "broker.example.com", True),
        ("HTTPS://Broker.Example.com/", "https://broker.example.com", True),
        ("http://127.0.0.1:80", "http://127.0.0.1", True),
        ("https://broker.example.com", "https://broker.example.com:8443", False),
        ("https://broker.example.com", "http://broker.example.com", False),
        ("https://broker.example.com", "https://other.example.com", False),
        ("ht!tp:/bad url", "ht!tp:/bad url", False),
    ],
)
def test_same_broker_compares_normalised_addresses(one: str, other: str, same: bool) -> None:
    assert servers.same(one, other) is same
