"""Account lockout and per-address throttle for sign-in, kept in the database.

Every failed sign-in (wrong password, unknown username, wrong TOTP code) adds
two rows to login_failures: one for the account, keyed by the username as
typed, folded (see user_key; unknown names count too, and no user is made),
and one for the client's address. When the failures of one key within the
window (5 minutes) reach the limit (5 per account, 20 per address), a
login_blocks row stops that account or address from signing in until the
block ends (5 minutes later), even with the right password; the key's
failures are then forgotten, so it starts afresh after the block. A
successful sign-in forgets the account's failures (not the address's, or one
good account would let an address try many others).

Several broker processes share the counts: a failure is committed before it
is counted, so of two concurrent failures the one counted last sees both,
and the block is an upsert that only the first process to set it reports.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, delete, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.db.models import LoginBlock, LoginFailure
from broker_stub.domain import audit
from broker_stub.domain.errors import AccountLocked, BrokerError, TooManyAttempts
from broker_stub.settings import BrokerSettings

USER: Final = "user"
ADDRESS: Final = "address"
KEY_MAX = 255
CLEAN_UP_BATCH = 1000


@dataclass(frozen=True)
class Policy:
    failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=5)
    duration: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: BrokerSettings) -> Policy:
        return cls(
            failures=settings.lockout_failures,
            address_failures=settings.throttle_failures,
            window=settings.lockout_window,
            duration=settings.lockout_duration,
        )


def user_key(username: str) -> str:
    """The account's key: "Alice", " alice " and "alice" in fullwidth letters are one account.

    A directory compares usernames that way (case, spaces and Unicode
    compatibility forms ignored), so variants must not each get 5 tries.
    """
    folded = unicodedata.normalize("NFKC", " ".join(username.split())).casefold()
    return folded[:KEY_MAX]


def check(db: Session, username: str, address: str | None, now: datetime) -> None:
    """Raise TooManyAttempts or AccountLocked while the address or account is blocked."""
    keys = [and_(LoginBlock.scope == USER, LoginBlock.key == user_key(username))]
    if address:
        keys.append(and_(LoginBlock.scope == ADDRESS, LoginBlock.key == address[:KEY_MAX]))
    rows = db.execute(
        select(LoginBlock.scope, LoginBlock.until).where(or_(*keys), LoginBlock.until > now)
    )
    blocks = {scope: until for scope, until in rows}
    # The address first: its block is the wider one, whatever the username.
    if ADDRESS in blocks:
        log.auth.info("sign-in refused for %r: address %s is blocked", username, address)
        raise TooManyAttempts(blocks[ADDRESS] - now)
    if USER in blocks:
        log.auth.info("sign-in refused for %r: account is locked", username)
        raise AccountLocked(blocks[USER] - now)


def record_failure(
    db: Session, policy: Policy, username: str, address: str | None, now: datetime
) -> BrokerError | None:
    """Count a failed sign-in; the 429 error to answer with if it set off a block."""
    counted = [(USER, user_key(username), policy.failures)]
    if address:
        counted.append((ADDRESS, address[:KEY_MAX], policy.address_failures))
    db.add_all(LoginFailure(scope=scope, key=key, at=now) for scope, key, _limit in counted)
    since = now - policy.window
    _clean_up(db, since, now)
    db.commit()

    result: BrokerError | None = None
    for scope, key, limit in counted:
        failures = db.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at > since)
        )
        if (failures or 0) < limit:
            continue
        until = now + policy.duration
        if _block(db, scope, key, until, now):
            _report(db, scope, key, username, address, failures or 0, policy, until, now)
        db.execute(delete(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.key == key))
        db.commit()
        blocked: BrokerError = (
            TooManyAttempts(policy.duration) if scope == ADDRESS else AccountLocked(policy.duration)
        )
        # As in check(): the address's block is the wider one, so it is told.
        if result is None or scope == ADDRESS:
            result = blocked
    return result


def forget_failures(db: Session, username: str) -> None:
    """After a good sign-in: the account's earlier failures no longer count."""
    db.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == USER, LoginFailure.key == user_key(username)
        )
    )


def _clean_up(db: Session, since: datetime, now: datetime) -> None:
    """Delete failures older than the window and blocks that have ended.

    Expired rows go as new ones come, so the tables hold about one window's
    worth. A batch at a time; on PostgreSQL rows another node is deleting
    are skipped rather than waited for, so two nodes never deadlock here.
    """
    old_failures = select(LoginFailure.id).where(LoginFailure.at <= since).limit(CLEAN_UP_BATCH)
    old_blocks = (
        select(LoginBlock.scope, LoginBlock.key)
        .where(LoginBlock.until <= now)
        .limit(CLEAN_UP_BATCH)
    )
    if db.get_bind().dialect.name == "postgresql":
        old_failures = old_failures.with_for_update(skip_locked=True)
        old_blocks = old_blocks.with_for_update(skip_locked=True)
    db.execute(delete(LoginFailure).where(LoginFailure.id.in_(old_failures)))
    db.execute(delete(LoginBlock).where(tuple_(LoginBlock.scope, LoginBlock.key).in_(old_blocks)))


def _block(db: Session, scope: str, key: str, until: datetime, now: datetime) -> bool:
    """Block `key` until `until`; False if another process already had it blocked."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(LoginBlock).values(scope=scope, key=key, until=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginBlock.scope, LoginBlock.key],
        set_={"until": stmt.excluded.until},
        # Only a block that has ended is replaced: a live one is left alone.
        where=LoginBlock.until <= now,
    )
    # RETURNING, not rowcount: drivers disagree on the count of an upsert.
    return db.execute(stmt.returning(LoginBlock.key)).first() is not None


def _report(
    db: Session,
    scope: str,
    key: str,
    username: str,
    address: str | None,
    failures: int,
    policy: Policy,
    until: datetime,
    now: datetime,
) -> None:
    minutes = policy.window.total_seconds() / 60
    detail = {"failures": failures, "window_minutes": minutes, "until": until.isoformat()}
    if scope == USER:
        log.auth.warning(
            "account %r locked until %s after %d failed sign-ins (last from %s)",
            username,
            until.isoformat(timespec="seconds"),
            failures,
            address,
        )
        audit.record(
            db,
            actor=None,
            action=audit.ACCOUNT_LOCKED,
            target=f"user:{username}",
            detail=detail,
            address=address,
            at=now,
        )
    else:
        log.auth.warning(
            "address %s blocked from signing in until %s after %d failed sign-ins",
            key,
            until.isoformat(timespec="seconds"),
            failures,
        )
        audit.record(
            db,
            actor=None,
            action=audit.ADDRESS_BLOCKED,
            target=f"address:{key}",
            detail=detail,
            address=address,
            at=now,
        )
