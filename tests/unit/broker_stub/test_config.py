"""The pools file: what loads, and what a wrong file tells the admin."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from broker_stub.config import ConfigError, load_config

from .conftest import PoolSpec


def test_the_default_site_loads(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config())

    assert [p.id for p in config.pools] == ["engineering", "finance", "art"]
    engineering = config.pools[0]
    assert engineering.name == "Engineering desktop"
    assert engineering.protocols == ["vnc"]
    assert engineering.users == ["alice"]
    assert engineering.groups == ["staff"]
    assert [(m.name, m.host, m.port, m.password) for m in engineering.machines] == [
        ("eng-1", "127.0.0.1", 5901, "vncEng1!"),
        ("eng-2", "127.0.0.1", 5902, "vncEng2!"),
    ]
    assert config.pools[2].machines[0].password is None


def load_error(write_config: Callable[..., Path], pools: list[PoolSpec]) -> tuple[Path, str]:
    path = write_config(pools)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return path, str(caught.value)


def test_port_out_of_range_names_file_and_key(
    write_config: Callable[..., Path], pools: list[PoolSpec]
) -> None:
    pools[0]["machines"][1]["port"] = 70000

    path, message = load_error(write_config, pools)

    assert message == f"{path}: pools.0.machines.1.port: must be 1-65535"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p[0].pop("name"), "pools.0.name: required, add it"),
        (lambda p: p[1].update(protocol="rdp"), "pools.1.protocol: must be one of 'vnc'"),
        (lambda p: p[0].update(id="Eng Desk"), "pools.0.id: use 1-64 lower-case letters"),
        (lambda p: p[0].update(name=""), "pools.0.name: must not be empty"),
        (lambda p: p[2]["machines"][0].update(prot=1), "pools.2.machines.0.prot: unknown key"),
        (
            lambda p: p[0]["machines"][0].update(port="5901"),
            "pools.0.machines.0.port: input should be a valid integer",
        ),
        (lambda p: p[0]["machines"][1].pop("host"), "pools.0.machines.1.host: required"),
        (lambda p: p[0].update(users="alice"), "pools.0.users: "),
    ],
)
def test_schema_errors_name_the_key(
    write_config: Callable[..., Path],
    pools: list[PoolSpec],
    change: Callable[[list[PoolSpec]], object],
    expected: str,
) -> None:
    change(pools)

    path, message = load_error(write_config, pools)

    assert message.startswith(f"{path}: {expected}")


def test_every_problem_is_reported_at_once(
    write_config: Callable[..., Path], pools: list[PoolSpec]
) -> None:
    pools[0]["machines"][0]["port"] = 0
    pools[1]["machines"][0]["port"] = -1

    path, message = load_error(write_config, pools)

    assert message.splitlines() == [
        f"{path}: pools.0.machines.0.port: must be 1-65535",
        f"{path}: pools.1.machines.0.port: must be 1-65535",
    ]


def test_duplicate_pool_id(write_config: Callable[..., Path], pools: list[PoolSpec]) -> None:
    pools[2]["id"] = "engineering"

    path, message = load_error(write_config, pools)

    assert message.startswith(f"{path}: pools.2.id: 'engineering' is already the id of pools.0")


def test_duplicate_machine_name(write_config: Callable[..., Path], pools: list[PoolSpec]) -> None:
    pools[0]["machines"][1]["name"] = "eng-1"

    path, message = load_error(write_config, pools)

    assert message.startswith(f"{path}: pools.0.machines.1.name: 'eng-1' is already the name")


def test_vnc_password_longer_than_eight(
    write_config: Callable[..., Path], pools: list[PoolSpec]
) -> None:
    pools[1]["machines"][0]["password"] = "123456789"

    path, message = load_error(write_config, pools)

    assert message.startswith(
        f"{path}: pools.1.machines.0.password: VNC passwords are at most 8 characters"
    )
    assert "123456789" not in message


def test_bad_toml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "pools.toml"
    path.write_text('[[pools]]\nid = "x\n')

    with pytest.raises(ConfigError, match=r"not valid TOML.*line 2") as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == f"{path}: cannot read the config file: No such file or directory"


def test_empty_file_means_no_pools(tmp_path: Path) -> None:
    path = tmp_path / "pools.toml"
    path.write_text("")

    assert load_config(path).pools == []


def test_readable_file_with_passwords_warns_without_the_password(
    write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(mode=0o644)

    with caplog.at_level(logging.DEBUG):
        load_config(path)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "chmod 600" in warnings[0].getMessage()
    assert str(path) in warnings[0].getMessage()
    assert "vncEng1!" not in caplog.text


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_file_does_not_warn(
    write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    with caplog.at_level(logging.WARNING):
        load_config(write_config(mode=mode))

    assert caplog.records == []


def test_readable_file_without_passwords_does_not_warn(
    write_config: Callable[..., Path], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    for pool in pools:
        for machine in pool["machines"]:
            machine.pop("password", None)

    with caplog.at_level(logging.WARNING):
        load_config(write_config(pools, mode=0o644))

    assert caplog.records == []
