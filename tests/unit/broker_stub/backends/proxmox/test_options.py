"""The pools file's Proxmox table: pure checks, no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broker_stub.backends.proxmox import KIND
from broker_stub.backends.proxmox.options import ProxmoxOptions, pool_tag

PIN = ":".join(["ab"] * 32)


@pytest.fixture
def base(tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / "token"
    secret.write_text("s3cret-value\n")
    secret.chmod(0o600)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return {
        "url": "https://pve1.example.com:8006",
        "token_id": "rubicon@pve!broker",
        "token_secret_file": str(secret),
        "ca_file": str(ca),
        "tag": "vdi",
    }


def refused(table: dict[str, Any]) -> str:
    with pytest.raises((ValidationError, ValueError)) as caught:
        KIND.options(table)
    return str(caught.value)


def test_a_complete_table_is_stored_as_written(base: dict[str, Any]) -> None:
    stored = KIND.options(base | {"shutdown_timeout": "2m"})
    assert stored == {
        **base,
        "shutdown_timeout": "120s",
        "task_timeout": "300s",
        "request_timeout": "15s",
    }
    assert ProxmoxOptions.model_validate(stored).shutdown_timeout.total_seconds() == 120


@pytest.mark.parametrize(
    ("extra", "count"),
    [
        ({}, 0),
        ({"tag": "vdi", "resource_pool": "desks"}, 2),
        ({"name_pattern": "desk-*", "clones": {"template": "golden", "max": 2}}, 2),
    ],
)
def test_exactly_one_selection(base: dict[str, Any], extra: dict[str, Any], count: int) -> None:
    table = {k: v for k, v in base.items() if k != "tag"} | extra
    message = refused(table)
    assert "exactly one of resource_pool, tag, name_pattern" in message
    assert f"this table has {count}" in message


def test_each_selection_alone_is_taken(base: dict[str, Any]) -> None:
    rest = {k: v for k, v in base.items() if k != "tag"}
    for selection in (
        {"resource_pool": "desks"},
        {"name_pattern": "desk-*"},
        {"clones": {"template": 9000, "max": 5, "node": "pve2", "resource_pool": "vdi"}},
    ):
        stored = KIND.options(rest | selection)
        assert ProxmoxOptions.model_validate(stored).model_dump(exclude_unset=True).keys() >= (
            selection.keys()
        )


def test_the_secret_comes_from_one_place(base: dict[str, Any]) -> None:
    assert "exactly one of token_secret_file" in refused(base | {"token_secret_env": "X"})
    without = {k: v for k, v in base.items() if k != "token_secret_file"}
    assert "exactly one of token_secret_file" in refused(without)


def test_a_secret_file_others_may_read_is_refused(base: dict[str, Any]) -> None:
    path = base["token_secret_file"]
    Path(path).chmod(0o640)
    message = refused(base)
    assert (
        f"token_secret_file: {path} may be read by its group or others (mode 0640); "
        f"run: chmod 600 {path}"
    ) in message
    assert "s3cret" not in message


def test_a_missing_empty_or_long_secret_file_is_refused(
    base: dict[str, Any], tmp_path: Path
) -> None:
    none = tmp_path / "none"
    assert (
        f"token_secret_file: cannot read {none}: No such file or directory; "
        "give a file the broker's user can read"
    ) in refused(base | {"token_secret_file": str(none)})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    assert f"token_secret_file: {empty} is empty; write the secret on its one line" in refused(
        base | {"token_secret_file": str(empty)}
    )
    two = tmp_path / "two"
    two.write_text("s3cret-value\nmore\n")
    two.chmod(0o600)
    message = refused(base | {"token_secret_file": str(two)})
    assert (
        f"token_secret_file: {two} holds more than one line; leave the secret alone on one line"
    ) in message
    assert "s3cret" not in message


def test_the_secret_from_the_environment(
    base: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = {k: v for k, v in base.items() if k != "token_secret_file"}
    table["token_secret_env"] = "RUBICON_TEST_PVE_TOKEN"
    monkeypatch.delenv("RUBICON_TEST_PVE_TOKEN", raising=False)
    assert "has no RUBICON_TEST_PVE_TOKEN" in refused(table)
    monkeypatch.setenv("RUBICON_TEST_PVE_TOKEN", "from-env")
    stored = KIND.options(table)
    assert "from-env" not in str(stored)  # the name is stored, never the secret
    assert ProxmoxOptions.model_validate(stored).token_secret() == "from-env"


def test_a_secret_in_the_pools_file_is_not_an_option(base: dict[str, Any]) -> None:
    assert "token_secret" in refused(base | {"token_secret": "inline"})
    assert "password" in refused(base | {"password": "inline"})


def test_tls_is_checked_one_way(base: dict[str, Any], tmp_path: Path) -> None:
    assert "exactly one of ca_file" in refused(base | {"fingerprint": PIN})
    no_ca = {k: v for k, v in base.items() if k != "ca_file"}
    assert "exactly one of ca_file" in refused(no_ca)
    stored = KIND.options(no_ca | {"fingerprint": PIN.upper()})
    assert stored["fingerprint"] == "ab" * 32  # any case and colons, kept as 64 hex digits
    assert KIND.options(no_ca | {"fingerprint": "ab" * 32})["fingerprint"] == "ab" * 32
    assert "fingerprint: 'ab:cd' has 4 hex digits, not 64" in refused(
        no_ca | {"fingerprint": "ab:cd"}
    )
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    assert "holds no PEM certificate" in refused(base | {"ca_file": str(not_pem)})


@pytest.mark.parametrize(
    "url", ["http://pve1:8006", "pve1.example.com", "https://pve1:8006/api2/json"]
)
def test_the_url_is_https_without_a_path(base: dict[str, Any], url: str) -> None:
    assert "https://host:8006" in refused(base | {"url": url})


def test_the_url_holds_no_credentials(base: dict[str, Any]) -> None:
    message = refused(base | {"url": "https://root:pw@pve1:8006"})
    assert "holds no user or password" in message


@pytest.mark.parametrize("token_id", ["rubicon@pve", "broker", "rubicon!broker", "a@b!"])
def test_the_token_id_is_user_realm_and_name(base: dict[str, Any], token_id: str) -> None:
    assert "user@realm!name" in refused(base | {"token_id": token_id})


def test_tags_and_proxy_hosts_are_checked(base: dict[str, Any]) -> None:
    assert "is not a Proxmox tag" in refused(base | {"tag": "VDI desks"})
    assert "spice_proxy is a host name" in refused(base | {"spice_proxy": "http://x:3128"})
    assert "spice_proxy is a host name" in refused(base | {"spice_proxy": "{vmid}.example.com"})
    stored = KIND.options(base | {"spice_proxy": "{node}.example.com"})
    assert stored["spice_proxy"] == "{node}.example.com"


def test_clone_tag() -> None:
    assert pool_tag("lab-2") == "rubicon-pool-lab-2"


def test_the_clone_limit_is_the_clones_max(base: dict[str, Any]) -> None:
    rest = {k: v for k, v in base.items() if k != "tag"}
    assert KIND.clone_limit(KIND.options(rest | {"clones": {"template": "g", "max": 7}})) == 7
    assert KIND.clone_limit(KIND.options(base)) is None
