"""Admin API: users and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from broker_stub.api import problems
from broker_stub.api.admin_deps import PREFIX, AdminActor, Cursor, Limit
from broker_stub.api.admin_schemas import (
    AccountOut,
    AccountPage,
    GroupList,
    GroupName,
    GroupOut,
    NewAccount,
    NewGroup,
    NewPassword,
    NewRole,
    Role,
    Unlocked,
)
from broker_stub.api.deps import DbSession, Settings
from broker_stub.auth import accounts
from broker_stub.auth.passwords import check_new_password
from broker_stub.db import models
from broker_stub.domain import paging
from broker_stub.values import names

router = APIRouter(prefix=PREFIX)

UsernamePath = Annotated[
    str, Path(min_length=1, max_length=names.USERNAME_MAX, pattern=names.USERNAME_PATTERN)
]
GroupPath = Annotated[
    str, Path(min_length=1, max_length=names.NAME_MAX, pattern=names.NAME_PATTERN)
]


def _out(info: accounts.UserInfo) -> AccountOut:
    return AccountOut.model_validate(info, from_attributes=True)


@router.get("/users", responses=problems.PAGED)
def list_users(
    db: DbSession,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
    role: Annotated[Role | None, Query(description="Only users with this role.")] = None,
    group: Annotated[GroupName | None, Query(description="Only members of this group.")] = None,
) -> AccountPage:
    """Users sorted by username, a page at a time."""
    page = accounts.list_users(
        db,
        limit=limit,
        cursor=cursor,
        role=models.Role(role) if role else None,
        group=group,
    )
    return AccountPage(users=[_out(u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/users", status_code=201, responses=problems.responses(401, 403, 409, 422))
def create_user(
    body: NewAccount, db: DbSession, admin: AdminActor, settings: Settings
) -> AccountOut:
    """Add a local user with a password; groups that do not exist yet are made.

    422 `password_too_short` below the broker's password_min_length.
    """
    check_new_password(body.password, minimum=settings.password_min_length)
    info = accounts.create_user(
        db,
        admin,
        body.username,
        body.password,
        display_name=body.display_name,
        role=models.Role(body.role),
        groups=body.groups,
    )
    return _out(info)


@router.get("/users/{username}", responses=problems.responses(401, 403, 404, 422))
def get_user(username: UsernamePath, db: DbSession) -> AccountOut:
    return _out(accounts.get_user(db, username))


@router.delete(
    "/users/{username}", status_code=204, responses=problems.responses(401, 403, 404, 409, 422)
)
def delete_user(username: UsernamePath, db: DbSession, admin: AdminActor) -> Response:
    """Remove the user; their sessions are logged off and their machines freed first."""
    accounts.delete_user(db, admin, username)
    return Response(status_code=204)


@router.put(
    "/users/{username}/password",
    status_code=204,
    responses=problems.responses(401, 403, 404, 422),
)
def set_password(
    username: UsernamePath, body: NewPassword, db: DbSession, admin: AdminActor, settings: Settings
) -> Response:
    """Set a new local password; the user's tokens stop working and their
    sign-in lock is lifted. 422 `password_too_short` below the broker's
    password_min_length."""
    check_new_password(body.password, minimum=settings.password_min_length)
    accounts.set_password(db, admin, username, body.password)
    return Response(status_code=204)


@router.post("/users/{username}/unlock", responses=problems.responses(401, 403, 404, 422))
def unlock_user(username: UsernamePath, db: DbSession, admin: AdminActor) -> Unlocked:
    """Lift the user's sign-in lock (account_locked) and forget their failed
    sign-ins. A blocked network address stays blocked."""
    return Unlocked(username=username, was_locked=accounts.unlock_user(db, admin, username))


@router.put("/users/{username}/role", responses=problems.responses(401, 403, 404, 409, 422))
def set_role(username: UsernamePath, body: NewRole, db: DbSession, admin: AdminActor) -> AccountOut:
    """Make the user an admin or a plain user. The last admin stays an admin."""
    return _out(accounts.set_role(db, admin, username, models.Role(body.role)))


@router.get("/groups", responses=problems.responses(401, 403))
def list_groups(db: DbSession) -> GroupList:
    """Every group with its members, sorted by name."""
    return GroupList(
        groups=[GroupOut(name=g.name, members=g.members) for g in accounts.list_groups(db)]
    )


@router.post("/groups", status_code=201, responses=problems.responses(401, 403, 409, 422))
def create_group(body: NewGroup, db: DbSession, admin: AdminActor) -> GroupOut:
    group = accounts.create_group(db, admin, body.name)
    return GroupOut(name=group.name, members=group.members)


@router.get("/groups/{name}", responses=problems.responses(401, 403, 404, 422))
def get_group(name: GroupPath, db: DbSession) -> GroupOut:
    group = accounts.get_group(db, name)
    return GroupOut(name=group.name, members=group.members)


@router.delete("/groups/{name}", status_code=204, responses=problems.responses(401, 403, 404, 422))
def delete_group(name: GroupPath, db: DbSession, admin: AdminActor) -> Response:
    """Remove the group and its memberships. Entitlements that name it stay."""
    accounts.delete_group(db, admin, name)
    return Response(status_code=204)


@router.put(
    "/groups/{name}/members/{username}",
    status_code=204,
    responses=problems.responses(401, 403, 404, 422),
)
def add_member(
    name: GroupPath, username: UsernamePath, db: DbSession, admin: AdminActor
) -> Response:
    """Put the user in the group (nothing happens if they are in it)."""
    accounts.add_member(db, admin, name, username)
    return Response(status_code=204)


@router.delete(
    "/groups/{name}/members/{username}",
    status_code=204,
    responses=problems.responses(401, 403, 404, 422),
)
def remove_member(
    name: GroupPath, username: UsernamePath, db: DbSession, admin: AdminActor
) -> Response:
    """Take the user out of the group (nothing happens if they are not in it)."""
    accounts.remove_member(db, admin, name, username)
    return Response(status_code=204)
