"""User accounts: local passwords, users from LDAP, and the admin's `users add`.

The API signs users in through broker_stub.auth.signin, which adds LDAP,
TOTP and lockout around the pieces here. `authenticate` is the local
password check alone, for tools and tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.auth.directory import DirectoryUser
from broker_stub.auth.passwords import (
    burn_verification,
    hash_password,
    needs_rehash,
    verify_password,
)
from broker_stub.db.models import Group, Membership, User
from broker_stub.domain import audit
from broker_stub.domain.errors import BrokerError, InvalidCredentials


def authenticate(db: Session, username: str, password: str, *, address: str | None = None) -> User:
    """The local user whose password this is; InvalidCredentials otherwise.

    Unknown usernames cost one verification too, so response times do not
    reveal which usernames exist. Both outcomes go to the audit log, with the
    client's `address`.
    """
    user = find_user(db, username)
    if not check_local_password(user, password):
        refuse(db, username, "unknown_user" if user is None else "wrong_password", address)
    assert user is not None
    record_sign_in(db, user, address)
    db.commit()
    return user


def find_user(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username == username))


def has_local_password(user: User | None) -> bool:
    return user is not None and bool(user.password_hash)


def check_local_password(user: User | None, password: str) -> bool:
    """True if `user` has a local password and this is it; rehash it if weak.

    Exactly one argon2 verification either way, so a missing user or one
    without a local password takes as long as a wrong password.
    """
    if user is None or not user.password_hash:
        burn_verification(password)
        return False
    if not verify_password(user.password_hash, password):
        return False
    if needs_rehash(user.password_hash):
        # The caller's commit stores it: parameters raised since this hash was made.
        user.password_hash = hash_password(password)
    return True


def record_sign_in(
    db: Session,
    user: User,
    address: str | None,
    detail: dict[str, object] | None = None,
    at: datetime | None = None,
) -> None:
    """Audit and log a successful sign-in (in the caller's transaction)."""
    audit.record(
        db,
        actor=user.username,
        action=audit.SIGN_IN,
        target=f"user:{user.username}",
        detail=detail,
        address=address,
        at=at,
    )
    log.auth.info("sign-in: %r", user.username)


def refuse(
    db: Session,
    username: str,
    reason: str,
    address: str | None,
    error: BrokerError | None = None,
    at: datetime | None = None,
) -> NoReturn:
    """Audit a failed sign-in, commit, and raise `error` (InvalidCredentials by default)."""
    log.auth.info("sign-in refused for %r: %s", username, reason.replace("_", " "))
    # Nobody is signed in, so no actor; the account that was tried is the target.
    audit.record(
        db,
        actor=None,
        action=audit.SIGN_IN_FAILED,
        target=f"user:{username}",
        detail={"reason": reason},
        address=address,
        at=at,
    )
    db.commit()
    raise error or InvalidCredentials()


def upsert_directory_user(db: Session, found: DirectoryUser) -> User | None:
    """The broker's row for a user the directory vouched for, made or updated.

    Its display name comes from the directory, and its LDAP group memberships
    are replaced by the directory's groups (memberships given locally stay).
    None if a local account with a password has that username: it signs in
    with its local password only, never through the directory.
    """
    user = find_user(db, found.username)
    if has_local_password(user):
        log.auth.warning(
            "LDAP user %r has the username of a local account; the local account signs "
            "in with its own password only. Rename or delete one of them",
            found.username,
        )
        return None
    if user is None:
        user = User(username=found.username, display_name=found.display_name, password_hash=None)
        db.add(user)
        log.auth.info("added user %r from LDAP", found.username)
    user.display_name = found.display_name
    db.flush()
    set_ldap_groups(db, user, list(found.groups))
    return user


def set_ldap_groups(db: Session, user: User, names: list[str]) -> None:
    """Make `names` the user's groups from LDAP; local memberships stay as they are."""
    db.execute(delete(Membership).where(Membership.user_id == user.id, Membership.from_ldap))
    local = set(
        db.scalars(
            select(Membership.group_id).where(
                Membership.user_id == user.id, Membership.from_ldap.is_(False)
            )
        )
    )
    wanted = _groups_named(db, list(dict.fromkeys(names)))
    db.add_all(
        Membership(user_id=user.id, group_id=g.id, from_ldap=True)
        for g in wanted
        if g.id not in local
    )
    db.flush()


def user_groups(db: Session, user: User) -> list[str]:
    """The names of the groups `user` belongs to, sorted."""
    return list(
        db.scalars(
            select(Group.name)
            .join(Membership, Membership.group_id == Group.id)
            .where(Membership.user_id == user.id)
            .order_by(Group.name)
        )
    )


def _groups_named(db: Session, names: list[str]) -> list[Group]:
    """The groups with these names, made if missing."""
    found = {g.name: g for g in db.scalars(select(Group).where(Group.name.in_(names)))}
    for name in names:
        if name not in found:
            found[name] = Group(name=name)
            db.add(found[name])
    db.flush()
    return [found[name] for name in names]


def set_user(
    db: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    groups: list[str] | None = None,
) -> bool:
    """Add a user or set a new password; return True if the user is new.

    `display_name` and `groups` replace the stored ones only when given.
    """
    user = db.scalar(select(User).where(User.username == username))
    created = user is None
    if user is None:
        user = User(username=username, display_name=display_name or username, password_hash="")
        db.add(user)
    elif display_name is not None:
        user.display_name = display_name
    user.password_hash = hash_password(password)
    db.flush()
    if groups is not None:
        db.execute(delete(Membership).where(Membership.user_id == user.id))
        wanted = _groups_named(db, list(dict.fromkeys(groups)))
        db.add_all(Membership(user_id=user.id, group_id=g.id) for g in wanted)
    db.commit()
    log.auth.info("%s user %r", "added" if created else "updated", username)
    return created
