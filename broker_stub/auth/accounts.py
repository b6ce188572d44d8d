"""Users and groups, as administrators manage them.

Every change takes an `Admin` (who, from where) and writes its audit event in
the transaction that makes the change, then commits. Reads never commit.
Sign-in itself is signin.py. The domain's admin changes (inventory, machines,
sessions) sit below auth, so this module may use both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.auth import lockout
from broker_stub.auth.passwords import hash_password
from broker_stub.db.models import Group, Membership, Role, Token, User
from broker_stub.domain import admin_sessions, audit, paging
from broker_stub.domain.admin import Admin
from broker_stub.domain.errors import (
    GroupExists,
    LastAdmin,
    UnknownGroup,
    UnknownUser,
    UserExists,
)
from broker_stub.domain.lifecycle import rows_changed

USERS_CURSOR = "users"


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    role: str
    groups: list[str]
    # False for a user who signs in through LDAP only.
    local_password: bool


@dataclass(frozen=True)
class GroupInfo:
    name: str
    members: list[str]


# Users


def find(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise UnknownUser(username)
    return user


def _groups_of(db: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    rows = db.execute(
        select(Membership.user_id, Group.name)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id.in_(list(user_ids)))
        .order_by(Group.name)
    )
    for user_id, name in rows:
        groups.setdefault(user_id, []).append(name)
    return groups


def _info(user: User, groups: list[str]) -> UserInfo:
    return UserInfo(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        groups=groups,
        local_password=bool(user.password_hash),
    )


def list_users(
    db: Session,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
    role: Role | None = None,
    group: str | None = None,
) -> paging.Page[UserInfo]:
    """Users sorted by username, `limit` at a time, optionally by role or group."""
    query = select(User).order_by(User.username).limit(limit + 1)
    if cursor is not None:
        (after,) = paging.decode(USERS_CURSOR, cursor, (str,))
        query = query.where(User.username > after)
    if role is not None:
        query = query.where(User.role == role)
    if group is not None:
        query = query.where(
            User.id.in_(
                select(Membership.user_id)
                .join(Group, Group.id == Membership.group_id)
                .where(Group.name == group)
            )
        )
    users = list(db.scalars(query))
    groups = _groups_of(db, (u.id for u in users))
    infos = [_info(u, groups.get(u.id, [])) for u in users]
    return paging.cut(infos, limit, USERS_CURSOR, lambda u: (u.username,))


def get_user(db: Session, username: str) -> UserInfo:
    user = find(db, username)
    return _info(user, _groups_of(db, [user.id]).get(user.id, []))


def create_user(
    db: Session,
    admin: Admin,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    role: Role = Role.USER,
    groups: Sequence[str] = (),
) -> UserInfo:
    """Add a local user; UserExists if the username is taken."""
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserExists(username)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # added by someone else since the check above
        db.rollback()
        raise UserExists(username) from None
    names = _set_groups(db, user, groups)
    admin.record(
        db,
        audit.USER_CREATE,
        f"user:{username}",
        {"display_name": user.display_name, "role": user.role, "groups": names},
    )
    db.commit()
    log.domain.info("%s added user %r", admin.name, username)
    return _info(user, sorted(names))


def save_user(
    db: Session,
    admin: Admin,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    groups: Sequence[str] | None = None,
    role: Role | None = None,
) -> bool:
    """Add a user, or give an existing one a new password; True if the user is new.

    For an existing user, display name, groups and role change only when given.
    This is `rubicon-broker users add`.
    """
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        create_user(
            db,
            admin,
            username,
            password,
            display_name=display_name,
            role=role or Role.USER,
            groups=groups or (),
        )
        return True
    set_password(db, admin, username, password)
    changes: dict[str, object] = {}
    if display_name is not None and display_name != user.display_name:
        user.display_name = changes["display_name"] = display_name
    if groups is not None:
        changes["groups"] = _set_groups(db, user, groups)
    if changes:
        admin.record(db, audit.USER_UPDATE, f"user:{username}", changes)
        db.commit()
    if role is not None:
        set_role(db, admin, username, role)
    return False


def set_password(db: Session, admin: Admin, username: str, password: str) -> None:
    """Give the user a new local password, sign them out everywhere, and lift
    their sign-in lock (a reset is how a locked-out user gets back in)."""
    user = find(db, username)
    user.password_hash = hash_password(password)
    # Whoever knew the old password may hold a token from it.
    revoked = rows_changed(
        db,
        update(Token)
        .where(Token.user_id == user.id, Token.revoked_at.is_(None))
        .values(revoked_at=admin.clock()),
    )
    unlocked = lockout.unlock(db, username)
    admin.record(
        db,
        audit.USER_PASSWORD,
        f"user:{username}",
        {"tokens_revoked": revoked, "unlocked": unlocked},
    )
    db.commit()
    log.domain.info("%s set a new password for %r", admin.name, username)


def unlock_user(db: Session, admin: Admin, username: str) -> bool:
    """Lift the user's sign-in lock and forget their failed sign-ins; True if
    they were locked. Audited either way: someone asked."""
    find(db, username)
    # An expired lock no longer counts as one, though unlock() clears it too.
    unlocked = lockout.locked_until(db, username, admin.clock()) is not None
    lockout.unlock(db, username)
    admin.record(db, audit.USER_UNLOCK, f"user:{username}", {"was_locked": unlocked})
    db.commit()
    log.domain.info(
        "%s unlocked %r%s", admin.name, username, "" if unlocked else " (was not locked)"
    )
    return unlocked


def _other_admins(db: Session, user: User) -> int:
    # FOR UPDATE (PostgreSQL): two admins demoting each other at once wait for
    # one another, so the second sees that it would remove the last admin.
    ids = db.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.id != user.id).with_for_update()
    ).all()
    return len(ids)


def set_role(db: Session, admin: Admin, username: str, role: Role) -> UserInfo:
    """Make the user an admin or a plain user; LastAdmin if none would be left."""
    user = find(db, username)
    if user.role != role:
        if user.role == Role.ADMIN and _other_admins(db, user) == 0:
            raise LastAdmin(username)
        before = user.role
        user.role = role
        admin.record(db, audit.USER_ROLE, f"user:{username}", {"from": before, "to": role.value})
        db.commit()
        log.domain.info("%s made %r %s", admin.name, username, role.value)
    return get_user(db, username)


def delete_user(db: Session, admin: Admin, username: str) -> int:
    """Remove the user, ending their sessions first; return how many were ended.

    Their tokens and group memberships go with them. Entitlements that name
    the user stay: entitlements are by name, and a user of that name made
    later gets them.
    """
    user = find(db, username)
    if user.role == Role.ADMIN and _other_admins(db, user) == 0:
        raise LastAdmin(username)
    ended = admin_sessions.end_all_of(db, admin, user)
    admin_sessions.release_machines_of(db, user)
    db.delete(user)
    admin.record(db, audit.USER_DELETE, f"user:{username}", {"sessions_ended": ended})
    db.commit()
    log.domain.info("%s removed user %r", admin.name, username)
    return ended


# Groups


def _group(db: Session, name: str) -> Group:
    group = db.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise UnknownGroup(name)
    return group


def _set_groups(db: Session, user: User, names: Iterable[str]) -> list[str]:
    """Make `names` the user's groups, creating missing groups; return the names, sorted."""
    wanted = sorted(set(names))
    db.execute(delete(Membership).where(Membership.user_id == user.id))
    found = {g.name: g for g in db.scalars(select(Group).where(Group.name.in_(wanted)))}
    for name in wanted:
        if name not in found:
            found[name] = Group(name=name)
            db.add(found[name])
    db.flush()
    db.add_all(Membership(user_id=user.id, group_id=found[n].id) for n in wanted)
    db.flush()
    return wanted


def list_groups(db: Session) -> list[GroupInfo]:
    """Every group with its members' usernames, sorted by name."""
    members: dict[int, list[str]] = {}
    rows = db.execute(
        select(Membership.group_id, User.username)
        .join(User, User.id == Membership.user_id)
        .order_by(User.username)
    )
    for group_id, username in rows:
        members.setdefault(group_id, []).append(username)
    groups = db.scalars(select(Group).order_by(Group.name))
    return [GroupInfo(name=g.name, members=members.get(g.id, [])) for g in groups]


def get_group(db: Session, name: str) -> GroupInfo:
    group = _group(db, name)
    members = db.scalars(
        select(User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id)
        .order_by(User.username)
    )
    return GroupInfo(name=group.name, members=list(members))


def create_group(db: Session, admin: Admin, name: str) -> GroupInfo:
    if db.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise GroupExists(name)
    db.add(Group(name=name))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise GroupExists(name) from None
    admin.record(db, audit.GROUP_CREATE, f"group:{name}")
    db.commit()
    log.domain.info("%s added group %r", admin.name, name)
    return GroupInfo(name=name, members=[])


def delete_group(db: Session, admin: Admin, name: str) -> None:
    """Remove the group and its memberships; entitlements naming it stay."""
    group = _group(db, name)
    members = db.scalar(
        select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
    )
    db.delete(group)
    admin.record(db, audit.GROUP_DELETE, f"group:{name}", {"members": members})
    db.commit()
    log.domain.info("%s removed group %r", admin.name, name)


def add_member(db: Session, admin: Admin, name: str, username: str) -> bool:
    """Put the user in the group; False if they were in it already."""
    group = _group(db, name)
    user = find(db, username)
    membership = db.get(Membership, (user.id, group.id))
    if membership is not None:
        if not membership.from_ldap:
            return False
        # Given here, it stays when the directory stops listing it.
        membership.from_ldap = False
    else:
        db.add(Membership(user_id=user.id, group_id=group.id))
    admin.record(db, audit.GROUP_ADD_MEMBER, f"group:{name}", {"user": username})
    try:
        db.commit()
    except IntegrityError:  # the same membership added at the same moment
        db.rollback()
        return False
    return True


def remove_member(db: Session, admin: Admin, name: str, username: str) -> bool:
    """Take the user out of the group; False if they were not in it."""
    group = _group(db, name)
    user = find(db, username)
    removed = rows_changed(
        db, delete(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )
    if not removed:
        db.rollback()
        return False
    admin.record(db, audit.GROUP_REMOVE_MEMBER, f"group:{name}", {"user": username})
    db.commit()
    return True
