"""Local user accounts: sign-in and the admin's `users add`."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.auth.passwords import (
    burn_verification,
    hash_password,
    needs_rehash,
    verify_password,
)
from broker_stub.db.models import Group, Membership, User
from broker_stub.domain import audit
from broker_stub.domain.errors import InvalidCredentials


def authenticate(db: Session, username: str, password: str, *, address: str | None = None) -> User:
    """The user whose password this is; InvalidCredentials otherwise.

    Unknown usernames cost one verification too, so response times do not
    reveal which usernames exist. Both outcomes go to the audit log, with the
    client's `address`.
    """
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        burn_verification(password)
        _refuse(db, username, "unknown_user", address)
    elif not verify_password(user.password_hash, password):
        _refuse(db, username, "wrong_password", address)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        db, actor=username, action=audit.SIGN_IN, target=f"user:{username}", address=address
    )
    db.commit()
    log.auth.info("sign-in: %r", username)
    return user


def _refuse(db: Session, username: str, reason: str, address: str | None) -> NoReturn:
    log.auth.info("sign-in refused for %r: %s", username, reason.replace("_", " "))
    # Nobody is signed in, so no actor; the account that was tried is the target.
    audit.record(
        db,
        actor=None,
        action=audit.SIGN_IN_FAILED,
        target=f"user:{username}",
        detail={"reason": reason},
        address=address,
    )
    db.commit()
    raise InvalidCredentials()


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
