"""The pools file: which desktops exist, who may use them, where they live.

[[pools]]
id = "engineering"
name = "Engineering desktop"
kind = "floating"                 # or "dedicated"
protocols = ["rdp", "vnc"]        # or protocol = "vnc"
disconnect_timeout = "30m"
users = ["demo"]
groups = ["staff"]
  [[pools.machines]]
  name = "eng-1"
  host = "127.0.0.1"
  vnc_port = 5901
  password = "secret12"

Durations are strings with units: "90s", "30m", "8h", "2d" or "1h30m".
docs/admin.md describes every key.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from broker_stub import backends, log
from broker_stub.values import names
from broker_stub.values.fields import (
    Duration,
    MacAddress,
    NonEmpty,
    Port,
    StrictModel,
    format_duration,
)

VNC_PASSWORD_MAX = 8  # VNC authentication uses the first 8 characters only
_POOL_ID = re.compile(names.POOL_ID_PATTERN)
# The launcher heartbeats every minute; an idle timeout must outlast two beats.
MIN_IDLE_TIMEOUT = timedelta(minutes=2)
DEFAULT_PRELAUNCH_TIMEOUT = timedelta(minutes=2)
DEFAULT_POWER_ON_TIMEOUT = timedelta(minutes=3)

Protocol = Literal["rdp", "spice", "vnc"]
# Where a machine listens when the pools file does not say.
DEFAULT_PORTS: dict[str, int] = {"rdp": 3389, "vnc": 5900}


class ConfigError(Exception):
    """The config file is missing or wrong; the message says where and how to fix it."""


class MachineConfig(StrictModel):
    name: NonEmpty
    host: NonEmpty
    # The port of a pool's only protocol; pools with several use the keys below.
    port: Port | None = None
    vnc_port: Port | None = None
    rdp_port: Port | None = None
    spice_port: Port | None = None
    spice_tls_port: Port | None = None
    mac: MacAddress | None = None
    password: str | None = None


def _backend_options(
    table: object, _handler: ValidatorFunctionWrapHandler, _info: ValidationInfo
) -> dict[str, Any]:
    """The table checked by its kind (pydantic's errors keep their place in the file)."""
    if not isinstance(table, dict):
        raise ValueError('must be a table, like [pools.backend] with type = "static"')
    kind_name = table.get("type", "static")
    if not isinstance(kind_name, str):
        raise ValueError('type must be a string, like type = "libvirt"')
    try:
        kind = backends.find_kind(kind_name)
    except backends.UnknownKind as exc:
        raise ValueError(str(exc)) from None
    rest = {key: value for key, value in table.items() if key != "type"}
    return {**kind.options(rest), "type": kind.name}


class PoolConfig(StrictModel):
    id: str
    name: NonEmpty
    kind: Literal["floating", "dedicated"] = "floating"
    # `protocol = "vnc"` is short for `protocols = ["vnc"]`; after loading,
    # `protocols` and `default_protocol` are always filled in.
    protocol: Protocol | None = None
    protocols: list[Protocol] = Field(default_factory=list)
    default_protocol: Protocol | None = None
    disconnect_timeout: Duration | None = None
    idle_timeout: Duration | None = None
    idle_action: Literal["disconnect", "logoff"] = "disconnect"
    max_session: Duration | None = None
    prelaunch_timeout: Duration = DEFAULT_PRELAUNCH_TIMEOUT
    allow_reset: bool = False
    allow_restart: bool = False
    sso: bool = False
    # Launch only with a token from a sign-in that included a TOTP code.
    require_totp: bool = False
    spares: int = Field(default=0, ge=0)
    # What happens to a floating machine between two users (backends.RecycleMode).
    recycle: Literal["none", "poweroff", "revert", "rebuild"] = "none"
    power_on_timeout: Duration = DEFAULT_POWER_ON_TIMEOUT
    idle_power_off: Duration | None = None
    health_check: bool = True
    # The [pools.backend] table as the backend kind checked it: what is stored.
    backend: Annotated[dict[str, Any], WrapValidator(_backend_options)] = Field(
        default={"type": "static"}, validate_default=True
    )
    users: list[NonEmpty] = Field(default_factory=list)
    groups: list[NonEmpty] = Field(default_factory=list)
    machines: list[MachineConfig] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_chars(cls, pool_id: str) -> str:
        if not _POOL_ID.fullmatch(pool_id):
            raise ValueError(names.POOL_ID_RULE)
        return pool_id

    @model_validator(mode="after")
    def _fill_protocols(self) -> PoolConfig:
        if self.protocol is not None and self.protocols:
            raise ValueError("give either protocol or protocols, not both")
        protocols = self.protocols or ([self.protocol] if self.protocol else [])
        if not protocols:
            raise ValueError(
                'add protocols = ["vnc"] (or rdp, spice) to say how users reach the machines'
            )
        return self.model_copy(
            update={
                "protocols": protocols,
                "default_protocol": self.default_protocol or protocols[0],
            }
        )

    @property
    def default(self) -> str:
        """The protocol a launch without one gets."""
        return self.default_protocol or self.protocols[0]


def _unique(kind: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{kind} {value!r} is listed twice; list it once")
        seen.add(value)


class GroupConfig(StrictModel):
    """A group and its members, for `rubicon-broker apply` (serve ignores it)."""

    name: str
    members: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        problem = names.name_problem("group", name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("members")
    @classmethod
    def _members(cls, members: list[str]) -> list[str]:
        _unique("member", members)
        return members


class UserConfig(StrictModel):
    """A user without a password, for `rubicon-broker apply` (serve ignores it)."""

    username: str
    display_name: NonEmpty | None = None
    role: Literal["user", "admin"] = "user"

    @field_validator("username")
    @classmethod
    def _username(cls, username: str) -> str:
        problem = names.username_problem(username)
        if problem:
            raise ValueError(problem)
        return username


class BrokerConfig(StrictModel):
    pools: list[PoolConfig] = Field(default_factory=list)
    # Only `rubicon-broker apply` reads these (broker_stub/domain/desired.py).
    groups: list[GroupConfig] = Field(default_factory=list)
    users: list[UserConfig] = Field(default_factory=list)

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: list[GroupConfig]) -> list[GroupConfig]:
        _unique("group", [g.name for g in groups])
        return groups

    @field_validator("users")
    @classmethod
    def _unique_users(cls, users: list[UserConfig]) -> list[UserConfig]:
        _unique("user", [u.username for u in users])
        return users


def machine_ports(pool: PoolConfig, machine: MachineConfig) -> dict[str, int]:
    """Port per protocol the pool offers ("spice_tls" too, when given).

    A protocol without a port is left out; _cross_checks reports that.
    """
    single = len(pool.protocols) == 1
    given = {
        "vnc": machine.vnc_port,
        "rdp": machine.rdp_port,
        "spice": machine.spice_port,
    }
    ports: dict[str, int] = {}
    for protocol in pool.protocols:
        port = given[protocol] or (machine.port if single else None)
        if port is None and protocol == "spice":
            port = machine.spice_tls_port
        port = port or DEFAULT_PORTS.get(protocol)
        if port is not None:
            ports[protocol] = port
    if "spice" in pool.protocols and machine.spice_tls_port is not None:
        ports["spice_tls"] = machine.spice_tls_port
    return ports


def load_config(path: Path) -> BrokerConfig:
    """Read and check the pools file; raise ConfigError naming the file and key."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    try:
        config = BrokerConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems)) from None

    problems = _cross_checks(config)
    if problems:
        raise ConfigError("\n".join(f"{path}: {p}" for p in problems))
    _warn_if_exposed(path, config)
    _warn_about_actions(path, config)
    return config


def _describe(err: ErrorDetails) -> str:
    where = ".".join(str(part) for part in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "value_error":
        what = str(err.get("ctx", {}).get("error", err["msg"]))
    elif kind == "missing":
        what = "required, add it"
    elif kind == "extra_forbidden":
        what = "unknown key, check its spelling or remove it"
    elif kind == "literal_error":
        what = f"must be one of {err.get('ctx', {}).get('expected', '')}"
    elif kind in ("string_too_short", "too_short"):
        what = "must not be empty"
    elif kind == "greater_than_equal":
        what = f"must be at least {err.get('ctx', {}).get('ge', 0)}"
    else:
        what = err["msg"][:1].lower() + err["msg"][1:]
    return f"{where}: {what}"


def _cross_checks(config: BrokerConfig) -> list[str]:
    problems: list[str] = []
    first_pool: dict[str, int] = {}
    for p, pool in enumerate(config.pools):
        if pool.id in first_pool:
            problems.append(
                f"pools.{p}.id: {pool.id!r} is already the id of pools.{first_pool[pool.id]}; "
                "pool ids must be unique"
            )
        first_pool.setdefault(pool.id, p)
        problems += _pool_checks(f"pools.{p}", pool)
        first_machine: dict[str, int] = {}
        for m, machine in enumerate(pool.machines):
            where = f"pools.{p}.machines.{m}"
            if machine.name in first_machine:
                problems.append(
                    f"{where}.name: {machine.name!r} is already the name of "
                    f"pools.{p}.machines.{first_machine[machine.name]}; "
                    "machine names must be unique within a pool"
                )
            first_machine.setdefault(machine.name, m)
            problems += _machine_checks(where, pool, machine)
    return problems


def _pool_checks(where: str, pool: PoolConfig) -> list[str]:
    problems: list[str] = []
    for i, protocol in enumerate(pool.protocols):
        if protocol in pool.protocols[:i]:
            problems.append(f"{where}.protocols: {protocol} is listed twice")
    if pool.default not in pool.protocols:
        problems.append(
            f"{where}.default_protocol: {pool.default} is not among the pool's protocols "
            f"({', '.join(pool.protocols)}); add it there or pick one of them"
        )
    if pool.sso and "rdp" not in pool.protocols:
        problems.append(
            f"{where}.sso: single sign-on passes the password to RDP clients only; "
            'add "rdp" to protocols or remove sso'
        )
    if pool.idle_timeout is not None and pool.idle_timeout < MIN_IDLE_TIMEOUT:
        problems.append(
            f"{where}.idle_timeout: must be at least {format_duration(MIN_IDLE_TIMEOUT)}; "
            "launchers send a heartbeat every minute"
        )
    for key in ("max_session", "prelaunch_timeout"):
        value: timedelta | None = getattr(pool, key)
        if value is not None and value <= timedelta(0):
            problems.append(f"{where}.{key}: must be longer than 0s")
    kind = backends.find_kind(pool.backend["type"])
    if kind.discovers:
        if pool.machines:
            problems.append(
                f"{where}.machines: {kind.name} pools find their machines on the hypervisor; "
                "remove [[pools.machines]] and say which machines in [pools.backend]"
            )
    elif pool.spares > len(pool.machines):
        problems.append(
            f"{where}.spares: {pool.spares} is more than the pool's {len(pool.machines)} "
            "machines; lower it or add machines"
        )
    mode = backends.RecycleMode(pool.recycle)
    if mode not in kind.recycle_modes:
        can = ", ".join(sorted(kind.recycle_modes))
        problems.append(
            f"{where}.recycle: the {kind.name} backend cannot {mode} machines; it can: {can}"
        )
    elif mode == backends.RecycleMode.REBUILD and kind.clone_limit(pool.backend) is None:
        problems.append(
            f'{where}.recycle: "rebuild" remakes machines the broker made; give the pool '
            "clones in [pools.backend] or pick another recycle"
        )
    if pool.idle_power_off is not None and pool.idle_power_off <= timedelta(0):
        problems.append(f"{where}.idle_power_off: must be longer than 0s")
    if pool.power_on_timeout <= timedelta(0):
        problems.append(f"{where}.power_on_timeout: must be longer than 0s")
    return problems


def _machine_checks(where: str, pool: PoolConfig, machine: MachineConfig) -> list[str]:
    problems: list[str] = []
    offered = set(pool.protocols)
    if machine.port is not None and len(offered) > 1:
        keys = ", ".join(f"{p}_port" for p in pool.protocols)
        problems.append(
            f"{where}.port: this pool offers {' and '.join(pool.protocols)}; "
            f"give each its own port with {keys} instead"
        )
    for protocol in ("vnc", "rdp", "spice"):
        key = f"{protocol}_port"
        if getattr(machine, key) is not None and protocol not in offered:
            problems.append(
                f"{where}.{key}: the pool does not offer {protocol}; "
                "remove the key or add the protocol to protocols"
            )
        single = len(offered) == 1 and protocol in offered
        if single and machine.port is not None and getattr(machine, key) is not None:
            problems.append(f"{where}.{key}: give port or {key}, not both")
    if machine.spice_tls_port is not None and "spice" not in offered:
        problems.append(
            f"{where}.spice_tls_port: the pool does not offer spice; "
            "remove the key or add spice to protocols"
        )
    if "spice" in offered and "spice" not in machine_ports(pool, machine):
        problems.append(
            f"{where}: SPICE has no usual port; add spice_port or spice_tls_port "
            "(the port in the machine's libvirt or QEMU configuration)"
        )
    if machine.password is not None and not machine.password:
        problems.append(f"{where}.password: must not be empty; leave it out instead")
    elif (
        "vnc" in offered
        and machine.password is not None
        and len(machine.password) > VNC_PASSWORD_MAX
    ):
        problems.append(
            f"{where}.password: VNC passwords are at most {VNC_PASSWORD_MAX} "
            "characters; shorten it here and on the VNC server"
        )
    return problems


def _warn_if_exposed(path: Path, config: BrokerConfig) -> None:
    if os.name != "posix":
        return
    has_passwords = any(m.password for pool in config.pools for m in pool.machines)
    if has_passwords and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.config.warning(
            "%s holds console passwords and other users may read it; run: chmod 600 %s",
            path,
            path,
        )


def _warn_about_actions(path: Path, config: BrokerConfig) -> None:
    for pool in config.pools:
        if pool.backend["type"] != "static":
            continue
        for action in ("reset", "restart"):
            if getattr(pool, f"allow_{action}") and pool.backend.get(f"{action}_command") is None:
                log.config.warning(
                    "%s: pool %s allows %s but its static backend has no %s_command; "
                    "users who try are told it is not supported. Add the command or "
                    "set allow_%s = false",
                    path,
                    pool.id,
                    action,
                    action,
                    action,
                )
