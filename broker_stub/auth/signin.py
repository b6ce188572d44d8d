"""Sign-in as POST /api/v1/auth/login does it: lockout, password, TOTP, token.

1. A blocked address (too_many_attempts) or locked account (account_locked)
   is refused at once, before any password is checked (broker_stub.auth.lockout).
   So is a sign-in that would take the account or address past its limit
   counting the checks under way: the attempt is reserved before its check.
2. The password: a local user with a password is checked here and nowhere
   else; anyone else goes to LDAP when it is configured, and the user's row
   and LDAP groups are brought up to date from the directory.
3. A user enrolled in TOTP must send a code too: none is otp_required (not a
   failure: the launcher asks for the code and tries again), a wrong or used
   one is invalid_otp.

Before all this, a username, password or code with a control character (a
NUL, say) is invalid_credentials at once: no user has one, and it is never
stored (PostgreSQL could not store a NUL).

A wrong password, an unknown username and a wrong code count as failures
for lockout. A directory that cannot be reached is directory_unavailable and
counts as nothing: the user did nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.auth import lockout, tokens, totp, users
from broker_stub.auth.directory import Directory, DirectoryRefused
from broker_stub.db.models import User
from broker_stub.domain.errors import InvalidCredentials, InvalidOtp, OtpRequired
from broker_stub.settings import BrokerSettings
from broker_stub.values import names


@dataclass(frozen=True)
class SignedIn:
    user: User
    # True when a TOTP code was checked too: the token may launch require_totp pools.
    mfa: bool
    token: str = field(repr=False)
    expires_at: datetime


def sign_in(
    db: Session,
    settings: BrokerSettings,
    *,
    username: str,
    password: str,
    otp: str | None,
    address: str | None,
    now: datetime,
    directory: Directory | None = None,
) -> SignedIn:
    """The signed-in user with a new token, or a BrokerError saying why not (see
    the module docstring). The token, the audit event and the cleared failures
    commit together."""
    if not all(names.is_text(part) for part in (username, password, otp or "")):
        # No user has such a name or password, and the database could not
        # store it (PostgreSQL refuses NUL): refused before it gets there.
        log.auth.info("sign-in refused: control characters in the username, password or code")
        raise InvalidCredentials()
    lockout.check(db, username, address, now)
    policy = lockout.Policy.from_settings(settings)
    attempt = lockout.reserve(db, policy, username, address, now)
    try:
        user, source = _first_factor(db, directory, username, password, address, now)
        mfa = _second_factor(db, user, otp, address, now)
    except (InvalidCredentials, InvalidOtp) as exc:
        blocked = lockout.record_failure(db, policy, attempt, now)
        raise (blocked or exc) from None
    except BaseException:
        # No code yet, the directory down, a fault: the attempt counts for nothing.
        lockout.release(db, attempt)
        raise
    lockout.forget_failures(db, attempt)
    users.record_sign_in(db, user, address, detail={"source": source, "mfa": mfa}, at=now)
    # One commit for the cleared failures, the audit event and the new token.
    token, expires_at = tokens.issue(db, user, settings.token_ttl, now, mfa=mfa, commit=False)
    db.commit()
    return SignedIn(user=user, mfa=mfa, token=token, expires_at=expires_at)


def _first_factor(
    db: Session,
    directory: Directory | None,
    username: str,
    password: str,
    address: str | None,
    now: datetime,
) -> tuple[User, str]:
    """The user whose password this is, and where it was checked ("local" or "ldap")."""
    user = users.find_user(db, username)
    if users.has_local_password(user) or directory is None:
        if not users.check_local_password(user, password):
            reason = "wrong_password" if users.has_local_password(user) else "unknown_user"
            users.refuse(db, username, reason, address, at=now)
        assert user is not None
        return user, "local"
    try:
        found = directory.authenticate(username, password)
    except DirectoryRefused as refused:
        users.refuse(db, username, refused.reason, address, at=now)
    synced = users.upsert_directory_user(db, found)
    if synced is None:
        users.refuse(db, username, "local_account_exists", address, at=now)
    return synced, "ldap"


def _second_factor(
    db: Session, user: User, otp: str | None, address: str | None, now: datetime
) -> bool:
    """True if a TOTP code was checked; raise if one is needed and missing or wrong."""
    if user.totp_secret is None:
        return False
    if not otp:
        # Store what the first factor changed (a rehash, LDAP groups) all the same.
        db.commit()
        raise OtpRequired()
    if not totp.verify(db, user, otp, now):
        users.refuse(db, user.username, "invalid_otp", address, InvalidOtp(), at=now)
    return True
