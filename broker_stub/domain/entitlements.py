"""Who may use which pool: by username or by group."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Exists, and_, exists, or_, select
from sqlalchemy.orm import Session

from broker_stub.db.models import Entitlement, EntitlementKind, Group, Membership, Pool, User


def grants(pool_id: Any, *, user_id: Any, username: Any) -> Exists:
    """SQL condition: an Entitlement row of the pool names this user or one of its
    groups. Each argument is a value or an SQL expression (a bound parameter)."""
    return exists().where(
        Entitlement.pool_id == pool_id,
        or_(
            and_(Entitlement.kind == EntitlementKind.USER, Entitlement.name == username),
            and_(
                Entitlement.kind == EntitlementKind.GROUP,
                Entitlement.name.in_(
                    select(Group.name)
                    .join(Membership, Membership.group_id == Group.id)
                    .where(Membership.user_id == user_id)
                ),
            ),
        ),
    )


def entitled_pools(db: Session, user: User) -> list[Pool]:
    """The pools `user` may use, sorted by name."""
    granted = grants(Pool.id, user_id=user.id, username=user.username)
    return list(db.scalars(select(Pool).where(granted).order_by(Pool.name, Pool.id)))
