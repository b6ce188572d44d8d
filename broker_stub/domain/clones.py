"""Machines the broker makes for clone pools: names, reservations, make and delete.

A clone pool's machines are called `{pool}-{n:03}`, the lowest free number
first. Making one starts with a row in `provisioning`, which reserves the
name (the unique index on pool and name lets one node win) and carries a
lease (`recycle_after`) in case the node dies half-way; then the backend
makes the machine; then the row becomes ready, or the launching user's.
A pool never has more rows than its backend's clone limit: on PostgreSQL
the pool's row is locked while counting, and on both databases the count is
part of the INSERT itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from broker_stub import backends as be
from broker_stub import log
from broker_stub.db.models import Machine, MachineOrigin, MachineState, Pool
from broker_stub.db.rows import table_of
from broker_stub.domain import lifecycle

# How long a node may take to make a machine before another may take the work over.
PROVISION_LEASE = timedelta(minutes=10)


def clone_name(pool_id: str, number: int) -> str:
    return f"{pool_id}-{number:03}"


def clone_limit(pool: Pool) -> int | None:
    """How many machines the pool's backend may make, or None if it makes none."""
    return be.find_kind(str(pool.backend.get("type", "static"))).clone_limit(pool.backend)


def reserve(
    db: Session,
    pool: Pool,
    limit: int,
    now: datetime,
    *,
    user_id: int | None = None,
    spares: int | None = None,
) -> Machine | None:
    """Add a `provisioning` row under the next free name, in the caller's transaction.

    With `user_id` it is that user's from the start (a launch that found no
    machine free). None when the pool already has `limit` machines, or (with
    `spares`, the upkeep's fill) `spares` free ones, made or being made. Another
    node taking the same name at the same moment makes the INSERT fail with
    IntegrityError: the caller rolls back and tries again.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(Pool.id).where(Pool.id == pool.id).with_for_update())
    taken = set(db.scalars(select(Machine.name).where(Machine.pool_id == pool.id)))
    if len(taken) >= limit:
        return None
    number = next(n for n in range(1, limit + 2) if clone_name(pool.id, n) not in taken)
    name = clone_name(pool.id, number)
    values: dict[str, Any] = {
        "pool_id": pool.id,
        "name": name,
        "host": "",
        "port": 0,
        "state": MachineState.PROVISIONING,
        "origin": MachineOrigin.PROVISIONED,
        "assigned_user_id": user_id,
        "recycle_after": now + PROVISION_LEASE,
        "probe_failures": 0,
    }
    # The count is part of the INSERT: on SQLite nothing may come between them.
    count = select(func.count()).where(Machine.pool_id == pool.id).scalar_subquery()
    columns = table_of(Machine).c
    rows = select(
        *(literal(value, type_=columns[key].type).label(key) for key, value in values.items())
    ).where(count < limit)
    if spares is not None:
        # Counted here too, under the same lock: two nodes filling at once make them once.
        free = (
            select(func.count())
            .where(
                Machine.pool_id == pool.id,
                Machine.state.in_((MachineState.READY, MachineState.PROVISIONING)),
                Machine.assigned_user_id.is_(None),
            )
            .scalar_subquery()
        )
        rows = rows.where(free < spares)
    if lifecycle.rows_changed(db, insert(Machine).from_select(list(values), rows)) == 0:
        return None
    return db.scalars(select(Machine).where(Machine.pool_id == pool.id, Machine.name == name)).one()


def make(db: Session, backends: be.Backends, pool: Pool, machine_id: int, name: str) -> None:
    """Have the backend make the reserved machine; commits. The row stays
    `provisioning` (the caller moves it on); on failure it is deleted and the
    backend's error raised (on Busy, nothing was tried and it stays)."""
    backend = backends.for_pool(pool.id, pool.backend)
    db.commit()  # nothing open while the backend works
    try:
        backend.provision(name)
    except be.Busy:
        raise  # not tried: the reservation stays for the next try
    except be.BackendError:
        db.execute(delete(Machine).where(Machine.id == machine_id))
        db.commit()
        raise
    log.backend.info("pool %s: made machine %s", pool.id, name)


def finish(db: Session, machine_id: int, *, to: MachineState) -> bool:
    """A made machine is ready (or its launching user's); the caller commits."""
    return (
        lifecycle.rows_changed(
            db,
            update(Machine)
            .where(Machine.id == machine_id, Machine.state == MachineState.PROVISIONING)
            .values(state=to, recycle_after=None),
        )
        == 1
    )
