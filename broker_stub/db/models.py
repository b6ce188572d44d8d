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
    text,
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
    READY = "ready"
    IN_USE = "in_use"


class SessionState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EntitlementKind(StrEnum):
    USER = "user"
    GROUP = "group"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))


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


class Pool(Base):
    __tablename__ = "pools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(16))
    sort: Mapped[int] = mapped_column(default=0)

    @property
    def protocols(self) -> list[str]:
        # One protocol per pool for now; the API already speaks in lists.
        return [self.protocol]


class Entitlement(Base):
    __tablename__ = "entitlements"
    __table_args__ = (CheckConstraint("kind IN ('user', 'group')", name="kind"),)

    pool_id: Mapped[str] = mapped_column(
        ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)


class Machine(Base):
    __tablename__ = "machines"
    __table_args__ = (
        UniqueConstraint("pool_id", "name"),
        CheckConstraint("state IN ('ready', 'in_use')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    # Console password the remote-display client needs; not a user's password.
    password: Mapped[str | None] = mapped_column(String(255))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default=MachineState.READY)


class DesktopSession(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'ended')", name="state"),
        # The database itself refuses a second active session per user and pool,
        # and a second active session on one machine.
        Index(
            "uq_sessions_active_user_pool",
            "user_id",
            "pool_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "uq_sessions_active_machine",
            "machine_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id", ondelete="CASCADE"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=SessionState.ACTIVE)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


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
