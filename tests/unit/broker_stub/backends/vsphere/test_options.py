"""The vsphere pool table: what the pools file may say, and what it is told when wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broker_stub.backends.vsphere.backend import free_port, guest_address
from broker_stub.backends.vsphere.options import VsphereOptions
from tests.helpers.vcsim import make_certificate

FINGERPRINT = "AB:" * 31 + "AB"


@pytest.fixture
def table(tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / "vc.password"
    secret.write_text("pw\n")
    secret.chmod(0o600)
    return {"url": "https://vc.example.com", "user": "svc", "password_file": str(secret)}


def check(table: dict[str, Any]) -> VsphereOptions:
    return VsphereOptions.model_validate(table)


@pytest.mark.parametrize(
    "selection",
    [
        {"folder": "DC1/vm/Lab"},
        {"resource_pool": "DC1/host/C1/Resources/Lab"},
        {"name_pattern": "lab-*"},
        {"tagged": True},
        {"clones": {"template": "golden", "max": 3}},
    ],
)
def test_each_selection_alone_is_enough(table: dict[str, Any], selection: dict[str, Any]) -> None:
    assert check({**table, **selection}).sdk_url == "https://vc.example.com/sdk"


@pytest.mark.parametrize(
    ("selection", "said"),
    [({}, "this table has 0"), ({"folder": "a", "tagged": True}, r"has 2 \(folder, tagged\)")],
)
def test_exactly_one_selection(table: dict[str, Any], selection: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError, match=rf"exactly one of folder.*{said}"):
        check({**table, **selection})


def test_the_password_file_must_be_the_brokers_alone(table: dict[str, Any]) -> None:
    path = table["password_file"]
    Path(path).chmod(0o640)
    with pytest.raises(ValidationError) as exposed:
        check({**table, "folder": "a"})
    assert (
        f"password_file: {path} may be read by its group or others (mode 0640); "
        f"run: chmod 600 {path}"
    ) in str(exposed.value)
    Path(path).write_text("")
    Path(path).chmod(0o600)
    with pytest.raises(ValidationError) as empty:
        check({**table, "folder": "a"})
    assert f"password_file: {path} is empty; write the secret on its one line" in str(empty.value)
    with pytest.raises(ValidationError) as missing:
        check({**table, "folder": "a", "password_file": "/nowhere"})
    assert (
        "password_file: cannot read /nowhere: No such file or directory; "
        "give a file the broker's user can read"
    ) in str(missing.value)


def test_no_password_in_the_table_itself(table: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="password"):
        check({**table, "folder": "a", "password": "pw"})


def test_tls_is_https_and_one_way_of_trust(table: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not an https:// URL"):
        check({**table, "folder": "a", "url": "http://vc.example.com"})
    ca = make_certificate(tmp_path / "tls").ca_file
    with pytest.raises(ValidationError, match="fingerprint or ca_file, not both"):
        check({**table, "folder": "a", "fingerprint": FINGERPRINT, "ca_file": str(ca)})
    with pytest.raises(ValidationError, match="no CA certificate can be read from"):
        check({**table, "folder": "a", "ca_file": str(table["password_file"])})
    # No switch turns verification off: an unknown key is refused like any other.
    with pytest.raises(ValidationError, match="insecure"):
        check({**table, "folder": "a", "insecure": True})


def test_fingerprints_are_sha256_in_any_usual_spelling(table: dict[str, Any]) -> None:
    assert check({**table, "folder": "a", "fingerprint": FINGERPRINT}).fingerprint == "ab" * 32
    assert check({**table, "folder": "a", "fingerprint": "AB" * 32}).fingerprint == "ab" * 32
    sha1 = "AB:" * 19 + "AB"
    with pytest.raises(
        ValidationError, match=r"fingerprint: '(AB:){19}AB' has 40 hex digits, not 64"
    ):
        check({**table, "folder": "a", "fingerprint": sha1})


def test_vnc_ports_and_durations(table: dict[str, Any]) -> None:
    options = check({**table, "folder": "a", "vnc_ports": [5901, 5901], "task_timeout": "2m"})
    assert options.stored()["vnc_ports"] == [5901, 5901]
    assert options.stored()["task_timeout"] == "120s"
    assert check({**table, "folder": "a"}).vnc_ports == [5900, 5964]
    with pytest.raises(ValidationError, match="5910 comes after 5900"):
        check({**table, "folder": "a", "vnc_ports": [5910, 5900]})
    with pytest.raises(ValidationError, match="at least 10s per task"):
        check({**table, "folder": "a", "task_timeout": "5s"})


def test_what_is_stored_makes_the_same_options(table: dict[str, Any]) -> None:
    options = check({**table, "clones": {"template": "g", "max": 2, "min_free": "1GiB"}})
    assert check(options.stored()) == options


def test_free_port_keeps_a_vms_port_when_it_can() -> None:
    assert free_port(5903, set(), 5900, 5964) == 5903
    assert free_port(5903, {5903}, 5900, 5964) == 5900
    assert free_port(6000, {5900}, 5900, 5964) == 5901
    assert free_port(None, {5900, 5901}, 5900, 5901) is None


class Nic:
    def __init__(self, *addresses: str) -> None:
        self.ipAddress = list(addresses)


class Guest:
    def __init__(self, address: str | None, *nics: Nic) -> None:
        self.ipAddress = address
        self.net = list(nics)


def test_guest_address_prefers_ipv4_and_skips_link_local() -> None:
    assert guest_address(None) is None
    assert guest_address(Guest(None)) is None
    assert guest_address(Guest("10.0.0.5")) == "10.0.0.5"
    assert guest_address(Guest(None, Nic("fe80::1", "2001:db8::5", "10.0.0.6"))) == "10.0.0.6"
    assert guest_address(Guest(None, Nic("fe80::1", "169.254.3.4", "2001:db8::5"))) == "2001:db8::5"
