"""The broker's tables.

All state lives here so any broker node can serve any request. The schema in
the database is made by the Alembic migrations in broker_stub/db/migrations;
a test checks they build exactly these tables. Constraint names follow a fixed
convention so later migrations can refer to them.

Entitlements name users and groups by name, not by row id: the pools file may
entitle a group before anyone in it exists here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from broker_stub.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class MachineState(StrEnum):
    """provisioning → ready → assigned → in_use ⇄ disconnected → releasing →
    ready (floating, after the backend recycled it) or assigned (dedicated);
    error, unreachable and maintenance from anywhere."""

    PROVISIONING = "provisioning"  # the broker is making it (a clone)
    READY = "ready"
    ASSIGNED = "assigned"  # someone's: a session is starting, or a dedicated owner's
    IN_USE = "in_use"
    DISCONNECTED = "disconnected"
    RELEASING = "releasing"  # the session ended; the backend is recycling it
    ERROR = "error"
    # Its console did not answer a probe; probed again in the background.
    UNREACHABLE = "unreachable"
    MAINTENANCE = "maintenance"


class SessionState(StrEnum):
    """pending (ticket issued) → active ⇄ disconnected → ended."""

    PENDING = "pending"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    ENDED = "ended"


# States of a session that holds its machine.
LIVE_SESSION_STATES = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)


class EndReason(StrEnum):
    LOGOFF = "logoff"
    IDLE = "idle"
    DISCONNECT_TIMEOUT = "disconnect_timeout"
    MAX_SESSION = "max_session"
    PRELAUNCH_TIMEOUT = "prelaunch_timeout"  # the launcher never confirmed the client started
    ADMIN = "admin"
    # The launch found the machine dead (console silent, or gone from its hypervisor).
    MACHINE_FAILED = "machine_failed"
    POWER_ON_TIMEOUT = "power_on_timeout"  # the machine did not start in time


class MachineOrigin(StrEnum):
    """Who put a machine in the pool, and so who may take it out."""

    CONFIG = "config"  # the pools file or an admin; only they remove it
    DISCOVERED = "discovered"  # found on the hypervisor; goes when it goes there
    PROVISIONED = "provisioned"  # made by the broker (a clone); the broker deletes it


class PoolKind(StrEnum):
    FLOATING = "floating"  # the machine goes back to the pool when the session ends
    DEDICATED = "dedicated"  # the first launch binds the machine to the user


class IdleAction(StrEnum):
    DISCONNECT = "disconnect"
    LOGOFF = "logoff"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class EntitlementKind(StrEnum):
    USER = "user"
    GROUP = "group"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # "admin" may use /api/v1/admin; set with `rubicon-broker users role`.
    role: Mapped[str] = mapped_column(String(16), default=Role.USER, server_default=Role.USER.value)
    # argon2id; None for a user who signs in through LDAP (broker_stub.auth.ldap).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Base32 TOTP secret once `users totp` enrolled the user; never logged.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    # The 30-second step of the last code accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Membership(Base):
    """A user belongs to a group."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own: the primary key serves lookups by user only.
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Read from the directory at the user's last LDAP sign-in, and replaced at the next.
    from_ldap: Mapped[bool] = mapped_column(default=False, server_default=false())


class Pool(Base):
    __tablename__ = "pools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(16), default=PoolKind.FLOATING, server_default=PoolKind.FLOATING.value
    )
    # Offered protocols, in the pools file's order; default_protocol is one of them.
    protocols: Mapped[list[str]] = mapped_column(JSON)
    default_protocol: Mapped[str] = mapped_column(String(16))
    # Timeouts in whole seconds; None means no limit.
    disconnect_timeout_s: Mapped[int | None]
    idle_timeout_s: Mapped[int | None]
    idle_action: Mapped[str] = mapped_column(
        String(16), default=IdleAction.DISCONNECT, server_default=IdleAction.DISCONNECT.value
    )
    max_session_s: Mapped[int | None]
    prelaunch_timeout_s: Mapped[int] = mapped_column(server_default=text("120"))
    allow_reset: Mapped[bool] = mapped_column(default=False, server_default=false())
    allow_restart: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Single sign-on: the launcher passes the sign-in password to the RDP client.
    sso: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Unassigned machines to keep ready for the next launches.
    spares: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Backend options from the pools file, e.g. {"type": "static", "wake_port": 9}.
    backend: Mapped[dict[str, Any]] = mapped_column(JSON)
    sort: Mapped[int] = mapped_column(default=0)
    # Only tokens issued with a TOTP code may launch it (broker_stub.auth.mfa).
    require_totp: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What the backend does to a floating machine between users (backends.RecycleMode).
    recycle: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    # A launch waits this long for a machine to power on before it gives up.
    power_on_timeout_s: Mapped[int] = mapped_column(default=180, server_default=text("180"))
    # Powered-on free machines beyond `spares` are shut down after this long; None: never.
    idle_power_off_s: Mapped[int | None]
    # Probe a machine's console port before handing it out.
    health_check: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Since when, and why, the pool's backend keeps failing; None while it works.
    degraded_since: Mapped[datetime | None]
    degraded_reason: Mapped[str | None] = mapped_column(String(500))
    # When a node next looks after the pool on its hypervisor (find, fill, power);
    # the node that moves it forward does the work.
    upkeep_at: Mapped[datetime | None]

    @property
    def dedicated(self) -> bool:
        return self.kind == PoolKind.DEDICATED


class Entitlement(Base):
    __tablename__ = "entitlements"
    __table_args__ = (CheckConstraint("kind IN ('user', 'group')", name="kind"),)

    pool_id: Mapped[str] = mapped_column(
        ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


FREE_MACHINE = "state = 'ready' AND assigned_user_id IS NULL"
UNREACHABLE_MACHINE = "state = 'unreachable'"


class Machine(Base):
    __tablename__ = "machines"
    __table_args__ = (
        UniqueConstraint("pool_id", "name"),
        # One machine per user and pool, whatever the race (NULLs do not collide).
        UniqueConstraint("pool_id", "assigned_user_id"),
        CheckConstraint(
            "state IN ('provisioning', 'ready', 'assigned', 'in_use', 'disconnected', "
            "'releasing', 'error', 'unreachable', 'maintenance')",
            name="state",
        ),
        # The free machines of a pool in claim order: a launch reads the first
        # one straight away, however many machines of the pool are taken.
        Index(
            "ix_machines_free",
            "pool_id",
            "name",
            "id",
            sqlite_where=text(FREE_MACHINE),
            postgresql_where=text(FREE_MACHINE),
        ),
        # The machines the scheduler probes again, by when.
        Index(
            "ix_machines_unreachable",
            "probe_after",
            sqlite_where=text(UNREACHABLE_MACHINE),
            postgresql_where=text(UNREACHABLE_MACHINE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    # Port of the pool's default protocol; the per-protocol ports below are set
    # for every protocol the pool offers.
    port: Mapped[int]
    vnc_port: Mapped[int | None]
    rdp_port: Mapped[int | None]
    spice_port: Mapped[int | None]
    spice_tls_port: Mapped[int | None]
    # For Wake-on-LAN, "aa:bb:cc:dd:ee:ff"; None: the machine is always on.
    mac: Mapped[str | None] = mapped_column(String(17))
    # Console password the remote-display client needs; not a user's password.
    password: Mapped[str | None] = mapped_column(String(255))
    # The user who holds it; a dedicated machine keeps its owner between sessions.
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default=MachineState.READY)
    # When a wake-up was sent that the machine has not answered yet ("starting").
    woken_at: Mapped[datetime | None]
    # While releasing or provisioning: when another node may take that work over (a lease).
    recycle_after: Mapped[datetime | None]
    origin: Mapped[str] = mapped_column(
        String(16), default=MachineOrigin.CONFIG, server_default=MachineOrigin.CONFIG.value
    )
    # While unreachable: when to probe it again, and how many probes failed so far.
    probe_after: Mapped[datetime | None]
    probe_failures: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Since when a free machine has been powered on without a user (idle power-off).
    idle_since: Mapped[datetime | None]
    # The last thing that went wrong with it, for admins; None once it works again.
    problem: Mapped[str | None] = mapped_column(String(500))


class DesktopSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'active', 'disconnected', 'ended')", name="state"),
        # The database itself refuses a second live session per user and pool,
        # and a second live session on one machine.
        Index(
            "uq_sessions_live_user_pool",
            "user_id",
            "pool_id",
            unique=True,
            sqlite_where=text("state != 'ended'"),
            postgresql_where=text("state != 'ended'"),
        ),
        Index(
            "uq_sessions_live_machine",
            "machine_id",
            unique=True,
            sqlite_where=text("state != 'ended'"),
            postgresql_where=text("state != 'ended'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=SessionState.PENDING)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    last_heartbeat_at: Mapped[datetime | None]
    # Deadlines the scheduler fires (broker_stub.domain.scheduler); each is set
    # only in the states it applies to and cleared when the session ends.
    pending_until: Mapped[datetime | None] = mapped_column(index=True)
    disconnect_deadline: Mapped[datetime | None] = mapped_column(index=True)
    idle_deadline: Mapped[datetime | None] = mapped_column(index=True)
    max_deadline: Mapped[datetime | None] = mapped_column(index=True)


class IdempotencyKey(Base):
    """A launch's Idempotency-Key: who sent it for which pool and request, and
    the session the launch gave.

    `session_id` stays empty until the launch succeeds; a retry then gets the
    connection to that session, rebuilt from the session and machine rows, so
    no console password is copied here. Rows older than a day are deleted by
    the scheduler.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign key: the row outlives a pool removed from the pools file.
    pool_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 hex of the request body as the broker read it: the key sent
    # again with another body is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    # No foreign key either: a replay of a session that is gone answers session_ended.
    session_id: Mapped[str | None] = mapped_column(String(64))


class Token(Base):
    __tablename__ = "tokens"

    # SHA-256 hex of the token; the token itself is never stored.
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # For idle expiry: a token unused for too long stops working.
    last_used_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Issued after a TOTP code as well as the password.
    mfa: Mapped[bool] = mapped_column(default=False, server_default=false())


class LoginFailure(Base):
    """One failed sign-in, counted against an account and against an address.

    scope "user": key is the casefolded username as typed (known or not);
    scope "address": key is the client's address. broker_stub.auth.lockout
    counts the rows in a sliding window and deletes them when they expire.
    A sign-in reserves its rows (`pending`) before its password is checked:
    they count towards the limit while the check runs, and become failures
    (or go, after a good sign-in) when it ends.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(index=True)
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())


class LoginBlock(Base):
    """An account or address that may not sign in until `until`."""

    __tablename__ = "login_blocks"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    until: Mapped[datetime]


class AuditEvent(Base):
    """Who did what to what, from where. Never holds a secret."""

    __tablename__ = "audit_events"

    # SQLite counts rows with INTEGER PRIMARY KEY only; elsewhere 64 bits.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # The signed-in user; None when nobody is (a failed sign-in).
    actor: Mapped[str | None] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    address: Mapped[str | None] = mapped_column(String(64))
