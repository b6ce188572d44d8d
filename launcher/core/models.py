"""Plain data the launcher passes around: what the broker says, in our terms.

Frozen dataclasses, built from the broker's JSON by ``launcher.core.broker``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from launcher.core.kinds import Protocol

__all__ = [
    "ConnectionInfo",
    "Desktop",
    "DesktopState",
    "GatewayInfo",
    "Launch",
    "Protocol",
    "SessionRef",
    "SignIn",
    "User",
]


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
    role: str = "user"  # "user" or "admin"


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
    # Whether the pool lets its users reset (power-cycle) or restart (reboot)
    # the machine of their session; a broker that does not say means no.
    allow_reset: bool = False
    allow_restart: bool = False


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """A Remote Desktop Gateway the RDP client must go through."""

    host: str
    port: int = 443


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """Where to point the native client. ``password`` is a console secret.

    The fields after ``expires_at`` are optional extras a broker may send
    (docs/api.md, "Connection fields the launcher understands"):

    * ``domain``: the Windows domain of ``username`` (RDP).
    * ``tls_port``: SPICE's TLS port when the desktop has a plain one too.
    * ``ca``: PEM text of the CA that signed the desktop's certificate (SPICE).
    * ``host_subject``: the subject the desktop's certificate must carry (SPICE).
    * ``cert_fingerprint``: SHA-256 of the desktop's certificate (RDP).
    * ``gateway``: an RD Gateway in front of the desktop (RDP).
    * ``sso``: the pool signs the user in with their Rubicon password (RDP).
    * ``proxy``: an HTTP CONNECT proxy (``http://host:port``) to reach ``host``
      through; ``host`` is then a name only the proxy knows (SPICE, e.g.
      Proxmox's spiceproxy).
    * ``vmconnect``: the VM's GUID, sent as the RDP preconnection blob to
      Hyper-V's VMConnect port at ``host``:``port`` (RDP to the VM's console).
    """

    protocol: Protocol
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    domain: str | None = None
    tls_port: int | None = None
    ca: str | None = field(default=None, repr=False)
    host_subject: str | None = None
    cert_fingerprint: str | None = None
    gateway: GatewayInfo | None = None
    sso: bool = False
    proxy: str | None = None
    vmconnect: str | None = None


@dataclass(frozen=True, slots=True)
class Launch:
    session_id: str
    connection: ConnectionInfo
