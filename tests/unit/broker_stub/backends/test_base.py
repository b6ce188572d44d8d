"""broker_stub/backends/base.py: the types every backend shares."""

from __future__ import annotations

import re

import pytest

from broker_stub.backends import Console


def test_a_console_is_probed_on_its_port_or_else_its_tls_port() -> None:
    assert Console(host="10.0.0.5", port=5901, tls_port=5902).probe_address == ("10.0.0.5", 5901)
    assert Console(host="10.0.0.5", port=None, tls_port=5902).probe_address == ("10.0.0.5", 5902)


@pytest.mark.parametrize(
    ("proxy", "address"),
    [
        ("http://pve1.example.com:3128", ("pve1.example.com", 3128)),
        ("http://pve1.example.com:8080/", ("pve1.example.com", 8080)),
        ("https://proxy.example.com:443", ("proxy.example.com", 443)),
        ("http://[2001:db8::7]:3129", ("2001:db8::7", 3129)),
    ],
)
def test_a_console_behind_a_proxy_is_probed_on_the_proxys_own_port(
    proxy: str, address: tuple[str, int]
) -> None:
    console = Console(host="pvespiceproxy:ticket", port=None, tls_port=61000, proxy=proxy)
    assert console.probe_address == address
    assert console.probe_port == address[1]


@pytest.mark.parametrize(
    "proxy",
    [
        "http://pve1.example.com",  # no port: launchers refuse it, so nothing guesses 3128
        "http://pve1.example.com/",
        "http://pve1.example.com:0",
        "http://pve1.example.com:65536",
        "pve1.example.com:3128",  # no scheme
        "socks5://pve1.example.com:1080",
        "http://:3128",  # no host
        "http://pve1.example.com:3128/spice",
        "http://pve1.example.com:3128?x=1",
        "http://pve1.example.com:3128#top",
    ],
)
def test_a_console_with_a_proxy_url_launchers_refuse_cannot_be_made(proxy: str) -> None:
    said = (
        "a console's proxy is an http:// or https:// URL with a host and a port and nothing "
        f"else, like http://pve1.example.com:3128; not {proxy!r}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        Console(host="pvespiceproxy:ticket", port=None, tls_port=61000, proxy=proxy)


def test_a_proxy_url_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(ValueError, match=r"^a console's proxy URL holds no user or password$"):
        Console(host="h", port=None, tls_port=61000, proxy="http://root:s3cret@pve1:3128")
