"""Account lockout and per-address throttle for sign-in, kept in the database.

Every failed sign-in (wrong password, unknown username, wrong TOTP code)
leaves two rows in login_failures: one for the account, keyed by the
username as typed, folded (see user_key; unknown names count too, and no
user is made), and one for the client's address. When the failures of one
key within the window (5 minutes) reach the limit (5 per account, 20 per
address), a login_blocks row stops that account or address from signing in
until the block ends (5 minutes later), even with the right password; the
key's failures are then forgotten, so it starts afresh after the block. A
successful sign-in forgets the account's failures (not the address's, or one
good account would let an address try many others).

Concurrent guesses: a sign-in reserves its two rows (`pending`) before its
password is checked, and only while the failures and the checks under way
are below each limit; otherwise it is refused unchecked. So 40 guesses sent
at once to one or many nodes get 5 checks, not 40. When the check ends the
rows become failures (a wrong password), or go (a good one, or an outcome
that is nobody's fault, such as a directory that cannot be reached).

Several broker processes share the counts. Whatever reads a key's count and
then writes (reserve, record_failure) does so in one short transaction that
holds the key: SQLite's single write lock, taken by the first write, which
comes first; on PostgreSQL a transaction-scoped advisory lock per key, taken
in a fixed order. A block is an upsert that only the first process to set it
reports. No lock is held while a password is checked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import and_, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.db.models import LoginBlock, LoginFailure
from broker_stub.domain import audit
from broker_stub.domain.errors import AccountLocked, BrokerError, TooManyAttempts
from broker_stub.settings import BrokerSettings

USER: Final = "user"
ADDRESS: Final = "address"
KEY_MAX = 255
# The first key of the two-key advisory locks that hold a key's count on
# PostgreSQL ("rbcl"); migrate.py's single-key lock is a different lock.
_PG_LOCK_SPACE = 0x7262636C
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
    """Raise TooManyAttempts or AccountLocked while the address or account is blocked.

    Reads only: a locked account's owner, or a guesser, costs no write here.
    reserve() looks again under the keys' lock.
    """
    keys = [(USER, user_key(username))]
    if address:
        keys.append((ADDRESS, address[:KEY_MAX]))
    _refuse_if_blocked(db, keys, username, address, now)


@dataclass(frozen=True)
class Attempt:
    """A sign-in's reserved rows in login_failures, while its password is checked."""

    username: str
    address: str | None
    # (scope, key, limit) per counted key, in the order their locks are taken.
    keys: tuple[tuple[str, str, int], ...]
    ids: tuple[int, ...]


def reserve(
    db: Session, policy: Policy, username: str, address: str | None, now: datetime
) -> Attempt:
    """Count this sign-in before its password is checked, or refuse it unchecked.

    Refused with TooManyAttempts or AccountLocked while the address or
    account is blocked, or while its failures and the checks under way
    already reach the limit (those will most likely end in a block).
    Commits the reservation.
    """
    counted = [(USER, user_key(username), policy.failures)]
    if address:
        counted.append((ADDRESS, address[:KEY_MAX], policy.address_failures))
    counted.sort()
    _hold(db, [(scope, key) for scope, key, _limit in counted])
    rows = [LoginFailure(scope=scope, key=key, at=now, pending=True) for scope, key, _ in counted]
    # On SQLite this first write takes the write lock: the reads below are
    # then the latest, and nobody else counts until the commit.
    db.add_all(rows)
    db.flush()
    try:
        _refuse_if_blocked(db, [(scope, key) for scope, key, _ in counted], username, address, now)
        since = now - policy.window
        full = [
            scope
            for scope, key, limit in counted
            # This attempt's own row is counted too: at most `limit` in all.
            if _count(db, scope, key, since) > limit
        ]
    except BaseException:
        db.rollback()
        raise
    if full:
        db.rollback()
        log.auth.info(
            "sign-in refused for %r: the %s has as many failed sign-ins and sign-ins "
            "under way as it may have",
            username,
            " and the ".join("network address" if s == ADDRESS else "account" for s in full),
        )
        raise _refusal(ADDRESS if ADDRESS in full else USER, policy.duration)
    db.commit()
    return Attempt(
        username=username, address=address, keys=tuple(counted), ids=tuple(r.id for r in rows)
    )


def record_failure(
    db: Session, policy: Policy, attempt: Attempt, now: datetime
) -> BrokerError | None:
    """The attempt's password (or code) was wrong: its rows become failures.

    Returns the 429 error to answer with if this failure set off a block.
    """
    _hold(db, [(scope, key) for scope, key, _limit in attempt.keys])
    db.execute(update(LoginFailure).where(LoginFailure.id.in_(attempt.ids)).values(pending=False))
    since = now - policy.window
    _clean_up(db, since, now)

    result: BrokerError | None = None
    for scope, key, limit in attempt.keys:
        failures = _count(db, scope, key, since, pending=False)
        if failures < limit:
            continue
        until = now + policy.duration
        if _block(db, scope, key, until, now):
            _report(db, scope, key, attempt.username, attempt.address, failures, policy, until, now)
        # Checks still under way keep their rows: they end as failures or go.
        db.execute(
            delete(LoginFailure).where(
                LoginFailure.scope == scope,
                LoginFailure.key == key,
                LoginFailure.pending.is_(False),
            )
        )
        # As in check(): the address's block is the wider one, so it is told.
        if result is None or scope == ADDRESS:
            result = _refusal(scope, policy.duration)
    db.commit()
    return result


def forget_failures(db: Session, attempt: Attempt) -> None:
    """After a good sign-in: the attempt's rows go, and the account's earlier
    failures no longer count. The caller commits."""
    user_keys = [key for scope, key, _limit in attempt.keys if scope == USER]
    db.execute(
        delete(LoginFailure).where(
            or_(
                LoginFailure.id.in_(attempt.ids),
                and_(
                    LoginFailure.scope == USER,
                    LoginFailure.key.in_(user_keys),
                    LoginFailure.pending.is_(False),
                ),
            )
        )
    )


def release(db: Session, attempt: Attempt) -> None:
    """The check ended in neither success nor failure (no code yet, the
    directory down, a fault): the attempt counts for nothing."""
    try:
        db.rollback()
        db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.ids)))
        db.commit()
    except SQLAlchemyError as exc:
        # The rows count as failures until they leave the window.
        log.auth.warning("could not forget the sign-in attempt of %r: %s", attempt.username, exc)
        db.rollback()


def unlock(db: Session, username: str) -> bool:
    """Lift the account's lock and forget its failures; True if it was locked.

    For an administrator; the caller audits and commits.
    """
    key = user_key(username)
    blocked = db.execute(
        delete(LoginBlock)
        .where(LoginBlock.scope == USER, LoginBlock.key == key)
        .returning(LoginBlock.until)
    ).all()
    db.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == USER, LoginFailure.key == key, LoginFailure.pending.is_(False)
        )
    )
    return bool(blocked)


def locked_until(db: Session, username: str, now: datetime) -> datetime | None:
    """When the account's lock ends, or None if it is not locked."""
    until: datetime | None = db.scalar(
        select(LoginBlock.until).where(
            LoginBlock.scope == USER, LoginBlock.key == user_key(username), LoginBlock.until > now
        )
    )
    return until


def _refuse_if_blocked(
    db: Session, keys: list[tuple[str, str]], username: str, address: str | None, now: datetime
) -> None:
    rows = db.execute(
        select(LoginBlock.scope, LoginBlock.until).where(
            or_(*(and_(LoginBlock.scope == scope, LoginBlock.key == key) for scope, key in keys)),
            LoginBlock.until > now,
        )
    )
    blocks = {scope: until for scope, until in rows}
    # The address first: its block is the wider one, whatever the username.
    if ADDRESS in blocks:
        log.auth.info("sign-in refused for %r: address %s is blocked", username, address)
        raise TooManyAttempts(blocks[ADDRESS] - now)
    if USER in blocks:
        log.auth.info("sign-in refused for %r: account is locked", username)
        raise AccountLocked(blocks[USER] - now)


def _refusal(scope: str, wait: timedelta) -> BrokerError:
    return TooManyAttempts(wait) if scope == ADDRESS else AccountLocked(wait)


def _count(
    db: Session, scope: str, key: str, since: datetime, *, pending: bool | None = None
) -> int:
    """The key's rows within the window: all of them, or only those (not) pending."""
    query = (
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.scope == scope, LoginFailure.key == key, LoginFailure.at > since)
    )
    if pending is not None:
        query = query.where(LoginFailure.pending.is_(pending))
    return db.scalar(query) or 0


def _hold(db: Session, keys: list[tuple[str, str]]) -> None:
    """On PostgreSQL, hold these keys until the transaction ends (in sorted
    order, so two transactions never wait for each other). SQLite needs
    nothing: the transaction's first write takes its one write lock."""
    if db.get_bind().dialect.name != "postgresql":
        return
    for scope, key in sorted(keys):
        db.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": _PG_LOCK_SPACE, "key": f"{scope}:{key}"},
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
