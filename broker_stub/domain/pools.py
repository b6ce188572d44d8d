"""Bring pools, machines and entitlements in the database in line with the config."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.config import BrokerConfig, PoolConfig
from broker_stub.db.models import Entitlement, EntitlementKind, Machine, MachineState, Pool


def sync_pools(db: Session, config: BrokerConfig) -> None:
    """Add, update and remove pools and machines so the database matches `config`.

    A machine someone is using is never removed: it stays (and is logged) until
    its session ends and the broker starts again with the new config.
    """
    wanted = {p.id: p for p in config.pools}
    for sort, pool_config in enumerate(config.pools):
        pool = db.get(Pool, pool_config.id)
        if pool is None:
            pool = Pool(id=pool_config.id)
            db.add(pool)
            log.config.info("pool %s: added", pool_config.id)
        elif (pool.name, pool.protocol) != (pool_config.name, pool_config.protocol):
            log.config.info("pool %s: updated", pool_config.id)
        pool.name = pool_config.name
        pool.protocol = pool_config.protocol
        pool.sort = sort
        db.flush()
        _sync_entitlements(db, pool_config)
        _sync_machines(db, pool_config)

    for pool in db.scalars(select(Pool).where(Pool.id.not_in(wanted))).all():
        _remove_pool(db, pool)
    db.commit()


def _sync_entitlements(db: Session, pool_config: PoolConfig) -> None:
    db.execute(delete(Entitlement).where(Entitlement.pool_id == pool_config.id))
    wanted = {(EntitlementKind.USER, n) for n in pool_config.users}
    wanted |= {(EntitlementKind.GROUP, n) for n in pool_config.groups}
    db.add_all(Entitlement(pool_id=pool_config.id, kind=k, name=n) for k, n in sorted(wanted))


def _sync_machines(db: Session, pool_config: PoolConfig) -> None:
    existing = {
        m.name: m for m in db.scalars(select(Machine).where(Machine.pool_id == pool_config.id))
    }
    for machine_config in pool_config.machines:
        machine = existing.pop(machine_config.name, None)
        if machine is None:
            machine = Machine(
                pool_id=pool_config.id, name=machine_config.name, state=MachineState.READY
            )
            db.add(machine)
            log.config.info("pool %s: machine %s added", pool_config.id, machine_config.name)
        elif (machine.host, machine.port, machine.password) != (
            machine_config.host,
            machine_config.port,
            machine_config.password,
        ):
            log.config.info("pool %s: machine %s updated", pool_config.id, machine_config.name)
        machine.host = machine_config.host
        machine.port = machine_config.port
        machine.password = machine_config.password
    for machine in existing.values():
        _remove_machine(db, machine)


def _remove_machine(db: Session, machine: Machine) -> bool:
    """Delete a machine unless it is in use; True if deleted."""
    if machine.assigned_user_id is not None:
        log.config.warning(
            "pool %s: machine %s is no longer in the config but is in use; "
            "it stays until its session ends and the broker restarts",
            machine.pool_id,
            machine.name,
        )
        return False
    db.delete(machine)
    log.config.info("pool %s: machine %s removed", machine.pool_id, machine.name)
    return True


def _remove_pool(db: Session, pool: Pool) -> None:
    machines = list(db.scalars(select(Machine).where(Machine.pool_id == pool.id)))
    kept = [m for m in machines if not _remove_machine(db, m)]
    if kept:
        log.config.warning(
            "pool %s is no longer in the config but has machines in use; "
            "it stays until they are free and the broker restarts",
            pool.id,
        )
        return
    db.delete(pool)
    log.config.info("pool %s: removed", pool.id)
