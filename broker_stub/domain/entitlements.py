"""Who may use which pool: by username or by group."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from broker_stub.db.models import Entitlement, EntitlementKind, Group, Membership, Pool, User


def _grants(user: User) -> ColumnElement[bool]:
    """SQL condition: an Entitlement row names this user or one of its groups."""
    return or_(
        and_(Entitlement.kind == EntitlementKind.USER, Entitlement.name == user.username),
        and_(
            Entitlement.kind == EntitlementKind.GROUP,
            Entitlement.name.in_(
                select(Group.name)
                .join(Membership, Membership.group_id == Group.id)
                .where(Membership.user_id == user.id)
            ),
        ),
    )


def entitled_pools(db: Session, user: User) -> list[Pool]:
    """The pools `user` may use, sorted by name."""
    granted = exists().where(Entitlement.pool_id == Pool.id, _grants(user))
    return list(db.scalars(select(Pool).where(granted).order_by(Pool.name, Pool.id)))


def is_entitled(db: Session, user: User, pool: Pool) -> bool:
    return bool(db.scalar(select(exists().where(Entitlement.pool_id == pool.id, _grants(user)))))
