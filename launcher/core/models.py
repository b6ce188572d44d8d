"""Plain data the launcher passes around: what the broker says, in our terms.

Frozen dataclasses, built from the broker's JSON by ``launcher.core.broker``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Protocol(enum.StrEnum):
    RDP = "rdp"
    SPICE = "spice"
    VNC = "vnc"


class DesktopState(enum.StrEnum):
    AVAILABLE = "available"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STARTING = "starting"
    UNAVAILABLE = "unavailable"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str


@dataclass(frozen=True, slots=True)
class SignIn:
    """A signed-in user and the broker's token for them."""

    user: User
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRef:
    id: str
    state: str
    machine: str


@dataclass(frozen=True, slots=True)
class Desktop:
    id: str
    name: str
    protocols: tuple[Protocol, ...]
    default_protocol: Protocol
    state: DesktopState
    session: SessionRef | None = None


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """Where to point the native client. ``password`` is a console secret."""

    protocol: Protocol
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Launch:
    session_id: str
    connection: ConnectionInfo
