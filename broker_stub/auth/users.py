"""Local user accounts: sign-in and the admin's `users add`."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.auth.passwords import (
    burn_verification,
    hash_password,
    needs_rehash,
    verify_password,
)
from broker_stub.db.models import User, UserGroup
from broker_stub.domain.errors import InvalidCredentials


def authenticate(db: Session, username: str, password: str) -> User:
    """The user whose password this is; InvalidCredentials otherwise.

    Unknown usernames cost one verification too, so response times do not
    reveal which usernames exist.
    """
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        burn_verification(password)
        log.auth.info("sign-in refused: unknown user %r", username)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        log.auth.info("sign-in refused: wrong password for %r", username)
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.commit()
    log.auth.info("sign-in: %r", username)
    return user


def user_groups(db: Session, user: User) -> list[str]:
    return list(db.scalars(select(UserGroup.name).where(UserGroup.user_id == user.id)))


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
        db.execute(delete(UserGroup).where(UserGroup.user_id == user.id))
        db.add_all(UserGroup(user_id=user.id, name=g) for g in dict.fromkeys(groups))
    db.commit()
    log.auth.info("%s user %r", "added" if created else "updated", username)
    return created
