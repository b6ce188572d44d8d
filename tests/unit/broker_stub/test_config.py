"""The pools file: what loads, and what a wrong file tells the admin."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from broker_stub.config import ConfigError, PoolConfig, load_config, machine_ports

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
        (
            lambda p: p[1].update(protocol="telnet"),
            "pools.1.protocol: must be one of 'rdp', 'spice' or 'vnc'",
        ),
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


# Pool options: kinds, protocols, durations, ports, backends


def test_pool_options_load(write_config: Callable[..., Path], pools: list[PoolSpec]) -> None:
    del pools[0]["protocol"]
    pools[0].update(
        kind="dedicated",
        protocols=["rdp", "vnc"],
        default_protocol="vnc",
        disconnect_timeout="15m",
        idle_timeout="2h",
        idle_action="logoff",
        max_session="1d",
        prelaunch_timeout="3m",
        allow_reset=True,
        allow_restart=True,
        sso=True,
        spares=1,
        backend={"reset_command": ["reset-pc", "{name}", "{mac}"], "command_timeout": "1m"},
    )
    pools[0]["machines"] = [
        {
            "name": "eng-1",
            "host": "h1",
            "vnc_port": 5901,
            "rdp_port": 3390,
            "mac": "AA:BB:CC:00:11:22",
        },
        {"name": "eng-2", "host": "h2"},
    ]

    pool = load_config(write_config(pools)).pools[0]

    assert pool.kind == "dedicated"
    assert (pool.protocols, pool.default) == (["rdp", "vnc"], "vnc")
    assert pool.disconnect_timeout == timedelta(minutes=15)
    assert pool.idle_timeout == timedelta(hours=2)
    assert pool.max_session == timedelta(days=1)
    assert pool.prelaunch_timeout == timedelta(minutes=3)
    assert (pool.allow_reset, pool.allow_restart, pool.sso, pool.spares) == (True, True, True, 1)
    # Stored as the static backend keeps it: the timeout in whole seconds.
    assert pool.backend["reset_command"] == ["reset-pc", "{name}", "{mac}"]
    assert pool.backend["command_timeout_s"] == 60
    assert (pool.recycle, pool.power_on_timeout, pool.idle_power_off) == (
        "none",
        timedelta(minutes=3),
        None,
    )
    assert pool.health_check is False  # as the test pools say; the default probes
    assert PoolConfig.model_validate({"id": "p", "name": "P", "protocol": "vnc"}).health_check
    assert pool.machines[0].mac == "aa:bb:cc:00:11:22"
    assert machine_ports(pool, pool.machines[0]) == {"rdp": 3390, "vnc": 5901}
    # Without ports: the protocols' usual ones.
    assert machine_ports(pool, pool.machines[1]) == {"rdp": 3389, "vnc": 5900}


def test_protocol_shorthand_and_defaults(write_config: Callable[..., Path]) -> None:
    pool = load_config(write_config()).pools[0]

    assert (pool.protocols, pool.default_protocol, pool.default) == (["vnc"], "vnc", "vnc")
    assert pool.kind == "floating"
    assert pool.prelaunch_timeout == timedelta(minutes=2)
    assert (pool.disconnect_timeout, pool.idle_timeout, pool.max_session) == (None, None, None)
    assert machine_ports(pool, pool.machines[0]) == {"vnc": 5901}


def spice_pool(pools: list[PoolSpec]) -> list[PoolSpec]:
    pools[0]["protocol"] = "spice"
    for machine in pools[0]["machines"]:
        machine.pop("password")
    return pools


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda p: p[0].update(kind="shared"), "pools.0.kind: must be one of 'floating' or"),
        (
            lambda p: p[0].update(protocols=["vnc"]),
            "pools.0: give either protocol or protocols, not both",
        ),
        (lambda p: p[0].pop("protocol"), 'pools.0: add protocols = ["vnc"]'),
        (
            lambda p: p[0].update(default_protocol="rdp"),
            "pools.0.default_protocol: rdp is not among the pool's protocols (vnc)",
        ),
        (
            lambda p: (p[0].pop("protocol"), p[0].update(protocols=["vnc", "vnc"])),
            "pools.0.protocols: vnc is listed twice",
        ),
        (
            lambda p: (p[0].pop("protocol"), p[0].update(protocols=[])),
            'pools.0: add protocols = ["vnc"]',
        ),
        (lambda p: p[0].update(sso=True), "pools.0.sso: single sign-on passes the password to RDP"),
        (lambda p: p[0].update(idle_timeout="1m"), "pools.0.idle_timeout: must be at least 2m"),
        (lambda p: p[0].update(max_session="0s"), "pools.0.max_session: must be longer than 0s"),
        (
            lambda p: p[0].update(disconnect_timeout=600),
            'pools.0.disconnect_timeout: must be a duration like "90s", "30m", "8h" or "1h30m": '
            "a string with a unit",
        ),
        (
            lambda p: p[0].update(prelaunch_timeout="2 minutes"),
            'pools.0.prelaunch_timeout: must be a duration like "90s"',
        ),
        (lambda p: p[0].update(spares=-1), "pools.0.spares: must be at least 0"),
        (
            lambda p: p[0].update(spares=3),
            "pools.0.spares: 3 is more than the pool's 2 machines; lower it or add machines",
        ),
        (
            lambda p: p[0].update(idle_action="suspend"),
            "pools.0.idle_action: must be one of 'disconnect' or 'logoff'",
        ),
        (
            lambda p: (p[0].pop("protocol"), p[0].update(protocols=["vnc", "rdp"])),
            "pools.0.machines.0.port: this pool offers vnc and rdp; give each its own port "
            "with vnc_port, rdp_port instead",
        ),
        (
            lambda p: p[0]["machines"][0].update(rdp_port=3389),
            "pools.0.machines.0.rdp_port: the pool does not offer rdp",
        ),
        (
            lambda p: p[0]["machines"][0].update(vnc_port=5909),
            "pools.0.machines.0.vnc_port: give port or vnc_port, not both",
        ),
        (
            lambda p: (spice_pool(p), p[0]["machines"][0].pop("port")),
            "pools.0.machines.0: SPICE has no usual port; add spice_port or spice_tls_port",
        ),
        (
            lambda p: p[0]["machines"][0].update(mac="00:11:22:33:44"),
            'pools.0.machines.0.mac: must be a MAC address like "52:54:00:12:34:56"',
        ),
        (
            lambda p: p[0].update(backend={"reset_command": ["ipmitool", "{bmc}"]}),
            "pools.0.backend.reset_command: {bmc} is not a placeholder; use {name}, {host}, {mac}",
        ),
        (
            lambda p: p[0].update(backend={"restart_command": []}),
            "pools.0.backend.restart_command: must not be empty",
        ),
        (
            lambda p: p[0].update(backend={"type": "vmware"}),
            "pools.0.backend: there is no backend type 'vmware'; this broker knows static, "
            "libvirt, vsphere, proxmox, hyperv. A plug-in adds one through the entry-point "
            "group 'rubicon.backends'",
        ),
        (
            lambda p: p[0].update(backend={"type": "libvirt"}),
            "pools.0.backend.uri: required, add it",
        ),
        (
            lambda p: p[0].update(recycle="revert"),
            "pools.0.recycle: the static backend cannot revert machines; it can: none",
        ),
        (
            lambda p: p[0].update(power_on_timeout="0s"),
            "pools.0.power_on_timeout: must be longer than 0s",
        ),
        (
            lambda p: p[0].update(backend={"wake_port": 0}),
            "pools.0.backend.wake_port: must be 1-65535",
        ),
    ],
)
def test_pool_option_errors(
    write_config: Callable[..., Path],
    pools: list[PoolSpec],
    change: Callable[[list[PoolSpec]], object],
    expected: str,
) -> None:
    change(pools)

    path, message = load_error(write_config, pools)

    assert message.startswith(f"{path}: {expected}"), message


def test_spice_ports(write_config: Callable[..., Path], pools: list[PoolSpec]) -> None:
    spice_pool(pools)
    pools[0]["machines"] = [
        {"name": "a", "host": "h", "port": 5930},
        {"name": "b", "host": "h", "spice_port": 5931, "spice_tls_port": 5932},
        {"name": "c", "host": "h", "spice_tls_port": 5933},
    ]

    pool = load_config(write_config(pools)).pools[0]

    assert [machine_ports(pool, m) for m in pool.machines] == [
        {"spice": 5930},
        {"spice": 5931, "spice_tls": 5932},
        {"spice": 5933, "spice_tls": 5933},
    ]


def test_allowing_an_action_without_a_command_warns(
    write_config: Callable[..., Path], pools: list[PoolSpec], caplog: pytest.LogCaptureFixture
) -> None:
    pools[0].update(allow_reset=True, allow_restart=True)
    pools[0]["backend"] = {"restart_command": ["ssh", "root@{host}", "reboot"]}

    with caplog.at_level(logging.WARNING):
        load_config(write_config(pools))

    (warning,) = [r.getMessage() for r in caplog.records]
    assert "pool engineering allows reset but its static backend has no reset_command" in warning


ROOT = Path(__file__).resolve().parents[3]


def example_from_admin_guide() -> str:
    guide = (ROOT / "docs" / "admin.md").read_text()
    section = guide.split("### An example: one floating and one dedicated pool", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda: (ROOT / "resources" / "pools.example.toml").read_text(), id="sample"),
        pytest.param(example_from_admin_guide, id="admin-guide"),
    ],
)
def test_documented_examples_load(tmp_path: Path, text: Callable[[], str]) -> None:
    path = tmp_path / "pools.toml"
    path.write_text(text())
    path.chmod(0o600)

    pools = load_config(path).pools

    assert [(p.kind, p.protocols) for p in pools] == [
        ("floating", ["rdp", "vnc"]),
        ("dedicated", ["vnc"]),
    ]
    assert pools[0].sso
    assert pools[1].backend["reset_command"] is not None
