"""TOTP second factor (RFC 6238: 6 digits, 30-second steps, SHA-1), with pyotp.

An admin enrols a user with `rubicon-broker users totp NAME`, which stores a
new secret and prints it once, as an otpauth:// URI for authenticator apps.
From then on the user's sign-in needs a code as well as the password. The
audit log records who enrolled or removed whom, never the secret.

A code is accepted for the current step and one step either side (clocks
drift), and only once: the step of the last accepted code is stored, and a
code for that step or an earlier one is refused. The store is a conditional
UPDATE, so of two broker nodes handed the same code at once only one accepts.

Pools with `require_totp = true` may be launched only with a token issued
after a code (`tokens.mfa`); `enforce_pool_totp` is the launch route's check.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.db.models import Pool, Token, User
from broker_stub.domain import audit
from broker_stub.domain.admin import Admin
from broker_stub.domain.errors import OtpRequiredForPool

ISSUER = "Rubicon"
DIGITS = 6
STEP_S = 30
DRIFT_STEPS = 1
CODE_MAX = 32  # spaces and dashes allowed, as apps show "123 456"


class NotEnrolled(Exception):
    pass


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=username, issuer_name=issuer
    )


def enrol(db: Session, user: User, *, admin: Admin | None = None) -> str:
    """Give `user` a new TOTP secret, replacing any old one; return it.

    `admin` makes the change and goes to the audit log with it (never the
    secret); only tests and fixtures enrol without one.
    """
    replaced = user.totp_secret is not None
    secret = new_secret()
    user.totp_secret = secret
    user.totp_last_step = None
    if admin is not None:
        admin.record(db, audit.USER_TOTP_ENROL, f"user:{user.username}", {"replaced": replaced})
    db.commit()
    log.auth.info("TOTP enrolled for %r", user.username)
    return secret


def remove(db: Session, user: User, *, admin: Admin | None = None) -> bool:
    """Stop asking `user` for codes; True if they had TOTP.

    `admin` as for `enrol`; nothing is recorded when there was nothing to remove.
    """
    had = user.totp_secret is not None
    user.totp_secret = None
    user.totp_last_step = None
    if had and admin is not None:
        admin.record(db, audit.USER_TOTP_REMOVE, f"user:{user.username}")
    db.commit()
    if had:
        log.auth.info("TOTP removed for %r", user.username)
    return had


def normalize(code: str) -> str | None:
    """The digits of a code as typed ("123 456" → "123456"); None if it cannot be one."""
    digits = "".join(c for c in code if c not in " -")
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step within the drift window whose code this is, or None."""
    digits = normalize(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = totp.timecode(now)
    found = None
    # Every candidate is compared, in constant time, whatever matches.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits) and found is None:
            found = step
    return found


def verify(db: Session, user: User, code: str, now: datetime) -> bool:
    """True if `code` is the user's, fresh and not used before; records its step.

    The caller commits.
    """
    if user.totp_secret is None:
        raise NotEnrolled(user.username)
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return False
    # Accept only a step later than the last one used, atomically across nodes.
    claimed = db.connection().execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    if claimed.rowcount != 1:
        log.auth.info("TOTP code of %r refused: already used", user.username)
        return False
    db.expire(user, ["totp_last_step"])
    return True


def enforce_pool_totp(user: User, token: Token, pool: Pool | None, *, entitled: bool) -> None:
    """Refuse to launch a require_totp pool with a token issued without a code.

    Unknown pools and pools the user is not entitled to pass through: the
    launch itself answers pool_not_found or not_entitled for those.
    """
    if token.mfa or pool is None or not pool.require_totp or not entitled:
        return
    log.auth.info(
        "launch of %s by %r refused: the pool needs a TOTP sign-in", pool.id, user.username
    )
    raise OtpRequiredForPool(pool.name, enrolled=user.totp_secret is not None)
