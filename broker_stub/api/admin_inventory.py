"""Admin API: pools, their machines, and entitlements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from broker_stub.api import problems
from broker_stub.api.admin_deps import PREFIX, AdminActor, NodeUpkeep
from broker_stub.api.admin_schemas import (
    EntitlementKind,
    EntitlementList,
    EntitlementOut,
    GroupName,
    MachineList,
    MachineOut,
    NewEntitlement,
    NewMachine,
    PoolId,
    PoolList,
    PoolOut,
)
from broker_stub.api.deps import DbSession
from broker_stub.db import models
from broker_stub.domain import admin_machines, inventory
from broker_stub.values import names

router = APIRouter(prefix=PREFIX)

PoolPath = Annotated[str, Path(min_length=1, max_length=64, pattern=names.POOL_ID_PATTERN)]
NamePath = Annotated[str, Path(min_length=1, max_length=names.NAME_MAX, pattern=names.NAME_PATTERN)]


def _pool(info: inventory.PoolInfo) -> PoolOut:
    return PoolOut.model_validate(info, from_attributes=True)


def _machine(info: inventory.MachineInfo) -> MachineOut:
    return MachineOut.model_validate(info, from_attributes=True)


def _entitlement(info: inventory.EntitlementInfo) -> EntitlementOut:
    return EntitlementOut.model_validate(info, from_attributes=True)


@router.get("/pools", responses=problems.responses(401, 403))
def list_pools(db: DbSession) -> PoolList:
    """Every pool, with how many machines are in each state and who is entitled."""
    return PoolList(pools=[_pool(p) for p in inventory.list_pools(db)])


@router.get("/pools/{pool}", responses=problems.responses(401, 403, 404, 422))
def get_pool(pool: PoolPath, db: DbSession) -> PoolOut:
    return _pool(inventory.get_pool(db, pool))


@router.get("/pools/{pool}/machines", responses=problems.responses(401, 403, 404, 422))
def list_machines(pool: PoolPath, db: DbSession) -> MachineList:
    """The pool's machines by name, with who holds each and its live session."""
    return MachineList(machines=[_machine(m) for m in inventory.list_machines(db, pool)])


@router.post(
    "/pools/{pool}/machines",
    status_code=201,
    responses=problems.responses(400, 401, 403, 404, 409, 422),
)
def add_machine(pool: PoolPath, body: NewMachine, db: DbSession, admin: AdminActor) -> MachineOut:
    """Add a ready machine to the pool."""
    spec = inventory.MachineSpec(**body.model_dump())
    return _machine(inventory.add_machine(db, admin, pool, spec))


@router.get("/pools/{pool}/machines/{machine}", responses=problems.responses(401, 403, 404, 422))
def get_machine(pool: PoolPath, machine: NamePath, db: DbSession) -> MachineOut:
    return _machine(inventory.get_machine(db, pool, machine))


@router.delete(
    "/pools/{pool}/machines/{machine}",
    status_code=204,
    responses=problems.responses(401, 403, 404, 409, 422),
)
def remove_machine(pool: PoolPath, machine: NamePath, db: DbSession, admin: AdminActor) -> Response:
    """Remove the machine; refused (409 machine_in_use) while a session is live on it."""
    inventory.remove_machine(db, admin, pool, machine)
    return Response(status_code=204)


@router.put(
    "/pools/{pool}/machines/{machine}/maintenance",
    responses=problems.responses(401, 403, 404, 422),
)
def maintenance_on(
    pool: PoolPath, machine: NamePath, db: DbSession, admin: AdminActor
) -> MachineOut:
    """Put the machine in maintenance: no launch gets it; a live session on it goes on."""
    return _machine(inventory.set_maintenance(db, admin, pool, machine, on=True))


@router.delete(
    "/pools/{pool}/machines/{machine}/maintenance",
    responses=problems.responses(401, 403, 404, 422),
)
def maintenance_off(
    pool: PoolPath, machine: NamePath, db: DbSession, admin: AdminActor
) -> MachineOut:
    """Take the machine out of maintenance."""
    return _machine(inventory.set_maintenance(db, admin, pool, machine, on=False))


@router.post(
    "/pools/{pool}/machines/{machine}/unassign",
    responses=problems.responses(401, 403, 404, 409, 422),
)
def unassign_machine(
    pool: PoolPath, machine: NamePath, db: DbSession, admin: AdminActor
) -> MachineOut:
    """Take a dedicated machine from its owner; their next launch binds a free one.

    409 machine_in_use while a session is live on it (log it off first),
    machine_not_assigned if it has no owner, pool_not_dedicated in a floating pool.
    """
    return _machine(admin_machines.unassign(db, admin, pool, machine).machine)


@router.post(
    "/pools/{pool}/machines/{machine}/recycle",
    responses=problems.responses(401, 403, 404, 409, 422),
)
def recycle_machine(
    pool: PoolPath, machine: NamePath, db: DbSession, admin: AdminActor, upkeep: NodeUpkeep
) -> MachineOut:
    """Recycle the machine the pool's way (revert, rebuild, power off): it is
    `releasing` until done, then ready, or its dedicated owner's again.

    409 machine_in_use while a session is live on it.
    """
    return _machine(admin_machines.recycle(db, admin, pool, machine, upkeep))


@router.get("/entitlements", responses=problems.responses(401, 403, 422))
def list_entitlements(
    db: DbSession,
    pool: Annotated[PoolId | None, Query(description="Only this pool's.")] = None,
    kind: Annotated[EntitlementKind | None, Query(description="Only users' or groups'.")] = None,
    name: Annotated[GroupName | None, Query(description="Only this user's or group's.")] = None,
) -> EntitlementList:
    """Who may use which pool, by pool, kind and name."""
    found = inventory.list_entitlements(db, pool=pool, kind=kind, name=name)
    return EntitlementList(entitlements=[_entitlement(e) for e in found])


@router.post(
    "/entitlements", status_code=201, responses=problems.responses(401, 403, 404, 409, 422)
)
def add_entitlement(body: NewEntitlement, db: DbSession, admin: AdminActor) -> EntitlementOut:
    """Let a user or a group use a pool; the user or group need not exist yet."""
    kind = models.EntitlementKind(body.kind)
    return _entitlement(inventory.add_entitlement(db, admin, body.pool, kind, body.name))


@router.delete(
    "/entitlements/{pool}/{kind}/{name}",
    status_code=204,
    responses=problems.responses(401, 403, 404, 422),
)
def remove_entitlement(
    pool: PoolPath,
    kind: EntitlementKind,
    name: NamePath,
    db: DbSession,
    admin: AdminActor,
) -> Response:
    """Take the entitlement away; sessions already open go on."""
    inventory.remove_entitlement(db, admin, pool, models.EntitlementKind(kind), name)
    return Response(status_code=204)
