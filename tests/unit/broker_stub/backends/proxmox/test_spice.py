"""spiceproxy's answer (recorded from PVE's source, tests/data/proxmox) as a Console."""

from __future__ import annotations

from typing import Any

import pytest

from broker_stub.backends.base import NoConsole
from broker_stub.backends.proxmox.spice import console_of, proxy_url
from tests.helpers.fakepve import recorded_answer


def test_the_recorded_answer_becomes_a_console_behind_the_proxy() -> None:
    answer = recorded_answer()
    console, password = console_of(answer, vm="desk-1")
    assert password == answer["password"]
    assert console.host == answer["host"]  # the opaque proxy ticket, as PVE gave it
    assert console.host.startswith("pvespiceproxy:")
    assert (console.port, console.tls_port) == (None, 61000)
    assert console.proxy == "http://pve1.example.com:3128"
    assert console.probe_address == ("pve1.example.com", 3128)
    assert console.host_subject == (
        "OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.com"
    )


def test_the_ca_gets_its_newlines_back() -> None:
    # PVE writes the CA's newlines as backslash-n (for a .vv file); a PEM needs them real.
    assert "\\n" in recorded_answer()["ca"]
    console, _ = console_of(recorded_answer(), vm="desk-1")
    assert console.ca is not None
    assert "\\n" not in console.ca
    lines = console.ca.splitlines()
    assert lines[0] == "-----BEGIN CERTIFICATE-----"
    assert lines[-1] == "-----END CERTIFICATE-----"


def test_a_proxy_without_its_port_gets_pves() -> None:
    # The launcher refuses a proxy URL without a port; PVE's proxy is on 3128.
    console, _ = console_of(recorded_answer() | {"proxy": "http://pve1.example.com"}, vm="d")
    assert console.proxy == "http://pve1.example.com:3128"
    console, _ = console_of(recorded_answer() | {"proxy": "http://[2001:db8::7]/"}, vm="d")
    assert console.proxy == "http://[2001:db8::7]:3128"


def test_a_tls_port_as_a_string_and_no_ca_or_subject() -> None:
    answer = recorded_answer() | {"tls-port": "61001", "ca": "", "host-subject": None}
    console, _ = console_of(answer, vm="desk-1")
    assert (console.tls_port, console.ca, console.host_subject) == (61001, None, None)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"type": "vnc"}, "answered type 'vnc'"),
        ({"host": ""}, "no host or password"),
        ({"password": None}, "no host or password"),
        ({"proxy": "pve1:3128"}, "no proxy URL"),
        ({"proxy": "http://:3128"}, "names no proxy host"),
        ({"proxy": "http://pve1:99999"}, "with a host and a port and nothing else"),
        ({"proxy": "http://pve1:3128/spice"}, "with a host and a port and nothing else"),
        ({"proxy": "http://root:pw@pve1:3128"}, "holds no user or password"),
        ({"tls-port": None}, "no TLS port"),
        ({"tls-port": "x"}, "no TLS port"),
    ],
)
def test_an_answer_the_launcher_cannot_use_is_no_console(change: dict[str, Any], said: str) -> None:
    with pytest.raises(NoConsole, match=said) as caught:
        console_of(recorded_answer() | change, vm="desk-1")
    assert str(caught.value).startswith("desk-1: ")
    assert recorded_answer()["password"] not in str(caught.value)


def test_proxy_urls_as_pve_writes_them() -> None:
    assert proxy_url("pve1") == "http://pve1:3128"
    assert proxy_url("192.0.2.7") == "http://192.0.2.7:3128"
    assert proxy_url("2001:db8::7") == "http://[2001:db8::7]:3128"
