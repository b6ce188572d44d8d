"""Machines as administrators change them: unassign a dedicated one, recycle one.

A dedicated pool binds a machine to a user at their first launch, and it
stays theirs until an admin unassigns it here (or removes the user or the
machine). The change itself is lifecycle.unassign, one conditional UPDATE
that refuses while a session is live on the machine; this module finds the
machine, says why a refusal happened, and writes the audit event.

Recycling is what a floating pool does between users (its `recycle`: revert
to a snapshot, rebuild, power off). A dedicated machine is recycled only
when an admin asks for it here, and keeps its owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.db.models import Machine, MachineState, User
from broker_stub.domain import audit, inventory, lifecycle
from broker_stub.domain.admin import Admin
from broker_stub.domain.errors import (
    MachineBusy,
    MachineInUse,
    MachineNotAssigned,
    PoolNotDedicated,
    UnknownMachine,
)
from broker_stub.domain.upkeep import Upkeep


@dataclass(frozen=True)
class Unassigned:
    """The machine after the change, and the user it belonged to."""

    machine: inventory.MachineInfo
    user: str


def unassign(db: Session, admin: Admin, pool_id: str, name: str) -> Unassigned:
    """Take a dedicated pool's machine from its owner; their next launch binds a new one.

    UnknownPool or UnknownMachine if either is not there, PoolNotDedicated
    for a floating pool, MachineInUse while a session is live on it (log
    that off first), MachineNotAssigned if nobody owns it.
    """
    pool = inventory.find_pool(db, pool_id)
    # Locked (PostgreSQL) so the owner read here is the one taken away.
    found = db.execute(
        select(Machine.id, Machine.assigned_user_id)
        .where(Machine.pool_id == pool_id, Machine.name == name)
        .with_for_update()
    ).first()
    if found is None:
        db.rollback()
        raise UnknownMachine(pool_id, name)
    machine_id, owner_id = found
    owner = (
        None if owner_id is None else db.scalar(select(User.username).where(User.id == owner_id))
    )
    if not pool.dedicated:
        db.rollback()
        raise PoolNotDedicated(pool_id)
    if owner is None or not lifecycle.unassign(db, machine_id):
        live = inventory.live_holder(db, machine_id)
        db.rollback()
        if live is not None:
            session_id, user = live
            raise MachineInUse(name, user, "unassigned", session=session_id)
        raise MachineNotAssigned(pool_id, name)
    admin.record(db, audit.MACHINE_UNASSIGN, f"machine:{pool_id}/{name}", {"user": owner})
    db.commit()
    log.domain.info("%s unassigned machine %s in pool %s from %r", admin.name, name, pool_id, owner)
    return Unassigned(machine=inventory.get_machine(db, pool_id, name), user=owner)


# States a machine may be recycled from: free, its owner's, or out of order.
_RECYCLABLE = (MachineState.READY, MachineState.ASSIGNED, MachineState.ERROR)


def recycle(
    db: Session, admin: Admin, pool_id: str, name: str, upkeep: Upkeep | None = None
) -> inventory.MachineInfo:
    """Start recycling the machine the pool's way; it is `releasing` until that is done.

    MachineInUse while a session is live on it. With the node's `upkeep` (the
    API) the recycle starts at once; without (the command line) the machine's
    lease is already due, and a serving broker's scheduler takes it over.
    """
    inventory.find_pool(db, pool_id)
    machine = db.scalar(select(Machine).where(Machine.pool_id == pool_id, Machine.name == name))
    if machine is None:
        raise UnknownMachine(pool_id, name)
    now = admin.clock()
    started = lifecycle.rows_changed(
        db,
        update(Machine)
        .where(
            Machine.id == machine.id,
            Machine.state.in_(_RECYCLABLE),
            ~inventory.live_session_on(Machine.id),
        )
        .values(state=MachineState.RELEASING, recycle_after=now, woken_at=None),
    )
    if not started:
        live = inventory.live_holder(db, machine.id)
        db.rollback()
        if live is not None:
            raise MachineInUse(name, live[1], "recycled", session=live[0])
        raise MachineBusy(name, machine.state)
    admin.record(db, audit.MACHINE_RECYCLE, f"machine:{pool_id}/{name}")
    db.commit()
    log.domain.info("%s recycles machine %s in pool %s", admin.name, name, pool_id)
    if upkeep is not None:
        upkeep.recycle(db, machine.id)
    return inventory.get_machine(db, pool_id, name)
