"""Request and response bodies of API v1 (docs/api.md), as pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    # The cap keeps a huge body from turning into a huge hashing job.
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    username: str
    display_name: str


class LoginResponse(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime
    user: UserOut


class SessionOut(BaseModel):
    id: str
    state: Literal["active"]
    machine: str
    started_at: datetime


class DesktopOut(BaseModel):
    id: str
    name: str
    protocols: list[str]
    default_protocol: str
    state: Literal["available", "connected", "unavailable"]
    session: SessionOut | None


class DesktopList(BaseModel):
    desktops: list[DesktopOut]


class LaunchRequest(BaseModel):
    protocol: str | None = Field(default=None, description="Omit for the pool's default.")


class ConnectionOut(BaseModel):
    protocol: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = Field(description="Console password, or null if none is needed.")
    expires_at: datetime | None


class LaunchResponse(BaseModel):
    session_id: str
    connection: ConnectionOut


class Health(BaseModel):
    status: Literal["ok"]


class Problem(BaseModel):
    """RFC 9457 problem document; clients branch on `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where, e.g. ["body", "username"].')
    msg: str
    type: str


class ValidationProblem(Problem):
    errors: list[FieldError]
