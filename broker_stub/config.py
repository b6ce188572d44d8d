"""The pools file: which desktops exist, who may use them, where they live.

[[pools]]
id = "engineering"
name = "Engineering desktop"
protocol = "vnc"
users = ["demo"]
groups = ["staff"]
  [[pools.machines]]
  name = "eng-1"
  host = "127.0.0.1"
  port = 5901
  password = "secret12"
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from broker_stub import log

VNC_PASSWORD_MAX = 8  # VNC authentication uses the first 8 characters only
_POOL_ID = re.compile(r"[a-z0-9-]{1,64}")


class ConfigError(Exception):
    """The config file is missing or wrong; the message says where and how to fix it."""


NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    # strict: a TOML file has real types, so "5901" for a port is a mistake.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class MachineConfig(_Strict):
    name: NonEmpty
    host: NonEmpty
    port: int
    password: str | None = None

    @field_validator("port")
    @classmethod
    def _port_range(cls, port: int) -> int:
        if not 1 <= port <= 65535:
            raise ValueError("must be 1-65535")
        return port


class PoolConfig(_Strict):
    id: str
    name: NonEmpty
    protocol: Literal["vnc"]
    users: list[NonEmpty] = []
    groups: list[NonEmpty] = []
    machines: list[MachineConfig] = []

    @field_validator("id")
    @classmethod
    def _id_chars(cls, pool_id: str) -> str:
        if not _POOL_ID.fullmatch(pool_id):
            raise ValueError("use 1-64 lower-case letters, digits and '-' (like \"engineering\")")
        return pool_id

    @property
    def protocols(self) -> list[str]:
        return [self.protocol]


class BrokerConfig(_Strict):
    pools: list[PoolConfig] = []


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
    elif kind == "string_too_short":
        what = "must not be empty"
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
            if pool.protocol == "vnc" and machine.password is not None:
                if not machine.password:
                    problems.append(f"{where}.password: must not be empty; leave it out instead")
                elif len(machine.password) > VNC_PASSWORD_MAX:
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
