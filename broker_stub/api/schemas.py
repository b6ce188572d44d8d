"""Request and response bodies of API v1 (docs/api.md), as pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from broker_stub.values import names


class LoginRequest(BaseModel):
    # No pattern: text that cannot be a username or password (a NUL, say) is a
    # failed sign-in (401), not a malformed request; see auth.signin.
    username: str = Field(min_length=1, max_length=128)
    # The cap keeps a huge body from turning into a huge hashing job.
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(
        default=None,
        max_length=32,
        description="The 6-digit code of the user's authenticator app, for users "
        "enrolled in TOTP; send it again after an otp_required problem.",
    )


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Literal["user", "admin"] = Field(
        default="user", description='"admin" may use the /api/v1/admin routes.'
    )


class LoginResponse(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime
    user: UserOut


class SessionOut(BaseModel):
    id: str
    state: Literal["pending", "active", "disconnected"] = Field(
        description="pending until the launcher's first heartbeat after a launch."
    )
    machine: str
    started_at: datetime


class DesktopOut(BaseModel):
    id: str
    name: str
    protocols: list[str]
    default_protocol: str
    state: Literal[
        "available", "connected", "disconnected", "starting", "unavailable", "maintenance"
    ]
    session: SessionOut | None


class DesktopList(BaseModel):
    desktops: list[DesktopOut]


class LaunchRequest(BaseModel):
    protocol: str | None = Field(
        default=None,
        max_length=16,
        pattern=names.TEXT_PATTERN,
        description="Omit for the pool's default.",
    )


class ConnectionOut(BaseModel):
    protocol: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = Field(description="Console password, or null if none is needed.")
    expires_at: datetime | None
    sso: bool = Field(
        description="RDP only: pass the password the user signed in with to the RDP client."
    )
    tls_port: int | None = Field(
        default=None, description="SPICE: the TLS port, when the desktop has a plain one too."
    )
    ca: str | None = Field(
        default=None, description="SPICE: the CA (PEM) the TLS port's certificate chains to."
    )
    host_subject: str | None = Field(
        default=None, description="SPICE: the subject the TLS port's certificate carries."
    )
    proxy: str | None = Field(
        default=None,
        description=(
            "SPICE: an HTTP CONNECT proxy (http:// or https:// URL with host and port) the"
            " client reaches `host` through, e.g. Proxmox's spiceproxy; `host` is then a name"
            " only that proxy understands. Null: connect directly."
        ),
    )
    vmconnect: str | None = Field(
        default=None,
        description=(
            "RDP: the virtual machine's GUID, sent as the RDP preconnection blob to Hyper-V's"
            " VMConnect port (`host`:`port`, normally 2179) to reach the VM's own console."
            " Null: RDP to the desktop itself."
        ),
    )


class LaunchResponse(BaseModel):
    session_id: str
    connection: ConnectionOut


class LaunchStarting(BaseModel):
    """202: the machine is powering on; launch again (same Idempotency-Key) later."""

    status: Literal["starting"]
    session_id: str
    retry_after: int = Field(description="Seconds to wait before asking again.")
    detail: str


class Health(BaseModel):
    status: Literal["ok"]


class Problem(BaseModel):
    """RFC 9457 problem document; clients branch on `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class InvalidCursorProblem(Problem):
    """`invalid_cursor`: the `cursor` is not one this broker handed out for this
    list; start again from the first page."""

    code: Literal["invalid_cursor"] = Field(
        description="The one problem code a paged list answers 400 with."
    )


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where, e.g. ["body", "username"].')
    msg: str
    type: str


class ValidationProblem(Problem):
    errors: list[FieldError]
