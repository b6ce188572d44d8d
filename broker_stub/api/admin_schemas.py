"""Request and response bodies of the admin API (/api/v1/admin, docs/api.md).

Request bodies are strict (no type coercion, no unknown keys), so what the
schema says is exactly what the broker accepts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from broker_stub.values import names

Username = Annotated[
    str, Field(min_length=1, max_length=names.USERNAME_MAX, pattern=names.USERNAME_PATTERN)
]
GroupName = Annotated[
    str, Field(min_length=1, max_length=names.NAME_MAX, pattern=names.NAME_PATTERN)
]
MachineName = GroupName
PoolId = Annotated[str, Field(min_length=1, max_length=64, pattern=names.POOL_ID_PATTERN)]
# Printable text: control characters have no business in a name shown to people.
DisplayName = Annotated[str, Field(min_length=1, max_length=200, pattern=rf"^[^{names.CONTROL}]+$")]
# Same cap as sign-in: a huge password would be a huge hashing job.
Password = Annotated[str, Field(min_length=1, max_length=1024, pattern=names.TEXT_PATTERN)]
Role = Literal["user", "admin"]
EntitlementKind = Literal["user", "group"]
SessionState = Literal["pending", "active", "disconnected", "ended"]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# Users and groups


class AccountOut(BaseModel):
    username: str
    display_name: str
    role: Role
    groups: list[str]
    local_password: bool = Field(
        description="False for a user who signs in through LDAP and has no local password."
    )


class AccountPage(BaseModel):
    users: list[AccountOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done.")


class NewAccount(_Request):
    username: Username
    password: Password
    display_name: DisplayName | None = Field(default=None, description="Default: the username.")
    role: Role = "user"
    groups: list[GroupName] = Field(default=[], max_length=100)


class NewPassword(_Request):
    password: Password


class NewRole(_Request):
    role: Role


class Unlocked(BaseModel):
    username: str
    was_locked: bool = Field(description="False if the account was not locked.")


class GroupOut(BaseModel):
    name: str
    members: list[str]


class GroupList(BaseModel):
    groups: list[GroupOut]


class NewGroup(_Request):
    name: GroupName


# Pools, machines and entitlements


class EntitlementOut(BaseModel):
    pool: str
    kind: EntitlementKind
    name: str


class EntitlementList(BaseModel):
    entitlements: list[EntitlementOut]


class NewEntitlement(_Request):
    pool: PoolId
    kind: EntitlementKind
    name: GroupName


class MachineOut(BaseModel):
    pool: str
    name: str
    host: str
    ports: dict[str, int] = Field(description='Port per protocol, e.g. {"vnc": 5901}.')
    state: str
    user: str | None = Field(description="Who holds the machine, if anybody.")
    session: str | None = Field(description="The id of the live session on it, if any.")
    origin: str = Field(
        description="config (the pools file or an admin), discovered (found on its "
        "hypervisor) or provisioned (made by the broker)."
    )
    problem: str | None = Field(
        description="The last thing that went wrong with it (unreachable, error)."
    )


class MachineList(BaseModel):
    machines: list[MachineOut]


class NewMachine(_Request):
    name: MachineName
    host: Annotated[str, Field(min_length=1, max_length=255, pattern=names.USERNAME_PATTERN)]
    port: Port | None = Field(
        default=None, description="Port of the pool's protocol, for a pool with one protocol."
    )
    vnc_port: Port | None = None
    rdp_port: Port | None = None
    spice_port: Port | None = None
    spice_tls_port: Port | None = None
    mac: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")] | None = Field(
        default=None, description="For Wake-on-LAN."
    )
    password: (
        Annotated[str, Field(min_length=1, max_length=255, pattern=names.TEXT_PATTERN)] | None
    ) = Field(default=None, description="The console password; VNC uses at most 8 characters.")


class PoolOut(BaseModel):
    id: str
    name: str
    kind: str
    protocols: list[str]
    default_protocol: str
    machines: dict[str, int] = Field(description="How many machines are in each state.")
    entitlements: list[EntitlementOut]
    backend: str = Field(description="The backend's type: static, libvirt or a plug-in's.")
    recycle: str = Field(description="What happens to a machine between two users.")
    degraded_since: datetime | None = Field(
        description="Since when the pool's backend keeps failing; null while it works."
    )
    degraded_reason: str | None = Field(description="Why it is degraded.")


class PoolList(BaseModel):
    pools: list[PoolOut]


# Sessions


class AdminSessionOut(BaseModel):
    id: str
    user: str
    pool: str
    machine: str
    protocol: str
    state: SessionState
    started_at: datetime
    ended_at: datetime | None


class AdminSessionPage(BaseModel):
    sessions: list[AdminSessionOut]
    next_cursor: str | None


# Audit


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str | None = Field(description="Who did it; null for a failed sign-in.")
    action: str
    target: str
    detail: dict[str, Any]
    address: str | None


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None
