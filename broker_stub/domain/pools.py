"""Bring pools, machines and entitlements in the database in line with the config.

The callers report what changed (domain.desired compares the database before
and after), so nothing here logs a change that a rollback may yet undo.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Exists, delete, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from broker_stub import log
from broker_stub.config import BrokerConfig, MachineConfig, PoolConfig, machine_ports
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Entitlement,
    EntitlementKind,
    Machine,
    MachineOrigin,
    MachineState,
    Pool,
    PoolKind,
)


def sync_pools(db: Session, config: BrokerConfig) -> None:
    """Add, update and remove pools and machines so the database matches `config`;
    the caller commits.

    The caller holds db.migrate.lock, so that two brokers never add the same
    pool. A machine with a live session is never removed: it stays until its
    session ends and the file is applied again.
    """
    wanted = {p.id: p for p in config.pools}
    for sort, pool_config in enumerate(config.pools):
        pool = db.get(Pool, pool_config.id)
        if pool is None:
            pool = Pool(id=pool_config.id)
            db.add(pool)
        for key, value in pool_values(pool_config, sort).items():
            setattr(pool, key, value)
        db.flush()
        _sync_entitlements(db, pool_config)
        _sync_machines(db, pool_config)
        _repair_machines(db, pool)

    for pool in db.scalars(select(Pool).where(Pool.id.not_in(wanted))).all():
        _remove_pool(db, pool)
    db.flush()


def repair_machines(db: Session) -> None:
    """What every start does for every pool (see _repair_machines); the caller commits."""
    for pool in db.scalars(select(Pool).order_by(Pool.sort, Pool.id)).all():
        _repair_machines(db, pool)


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def pool_values(config: PoolConfig, sort: int) -> dict[str, object]:
    """The pool's columns as the config sets them (all but its id)."""
    return {
        "name": config.name,
        "kind": config.kind,
        "protocols": list(config.protocols),
        "default_protocol": config.default,
        "disconnect_timeout_s": _seconds(config.disconnect_timeout),
        "idle_timeout_s": _seconds(config.idle_timeout),
        "idle_action": config.idle_action,
        "max_session_s": _seconds(config.max_session),
        "prelaunch_timeout_s": int(config.prelaunch_timeout.total_seconds()),
        "allow_reset": config.allow_reset,
        "allow_restart": config.allow_restart,
        "sso": config.sso,
        "require_totp": config.require_totp,
        "spares": config.spares,
        "backend": dict(config.backend),
        "recycle": config.recycle,
        "power_on_timeout_s": int(config.power_on_timeout.total_seconds()),
        "idle_power_off_s": _seconds(config.idle_power_off),
        "health_check": config.health_check,
        "sort": sort,
    }


def _sync_entitlements(db: Session, pool_config: PoolConfig) -> None:
    db.execute(delete(Entitlement).where(Entitlement.pool_id == pool_config.id))
    wanted = {(EntitlementKind.USER, n) for n in pool_config.users}
    wanted |= {(EntitlementKind.GROUP, n) for n in pool_config.groups}
    db.add_all(Entitlement(pool_id=pool_config.id, kind=k, name=n) for k, n in sorted(wanted))


def machine_values(pool_config: PoolConfig, machine: MachineConfig) -> dict[str, object]:
    """The machine's columns as the config sets them (not its pool, name or state)."""
    ports = machine_ports(pool_config, machine)
    default = pool_config.default
    return {
        "host": machine.host,
        "port": ports.get(default) or ports["spice_tls"],
        "vnc_port": ports.get("vnc"),
        "rdp_port": ports.get("rdp"),
        "spice_port": ports.get("spice") if machine.spice_port or machine.port else None,
        "spice_tls_port": ports.get("spice_tls"),
        "mac": machine.mac,
        "password": machine.password,
    }


def _sync_machines(db: Session, pool_config: PoolConfig) -> None:
    """The pool's listed machines (those its backend finds or makes are its upkeep's)."""
    existing = {
        m.name: m
        for m in db.scalars(
            select(Machine).where(
                Machine.pool_id == pool_config.id, Machine.origin == MachineOrigin.CONFIG
            )
        )
    }
    for machine_config in pool_config.machines:
        values = machine_values(pool_config, machine_config)
        machine = existing.pop(machine_config.name, None)
        if machine is None:
            machine = Machine(
                pool_id=pool_config.id, name=machine_config.name, state=MachineState.READY
            )
            db.add(machine)
        for key, value in values.items():
            setattr(machine, key, value)
    for machine in existing.values():
        _remove_machine(db, machine)


def _has_live_session(machine_id: int | InstrumentedAttribute[int]) -> Exists:
    return exists().where(
        DesktopSession.machine_id == machine_id,
        DesktopSession.state.in_(LIVE_SESSION_STATES),
    )


def _repair_machines(db: Session, pool: Pool) -> None:
    """Start-up gives machines in error another chance and lets floating machines go
    that are held without a session (a pool that was dedicated before)."""
    db.flush()
    idle = ~_has_live_session(Machine.id)
    retried = db.execute(
        update(Machine)
        .where(Machine.pool_id == pool.id, Machine.state == MachineState.ERROR, idle)
        .values(state=MachineState.ASSIGNED if pool.dedicated else MachineState.READY)
        .returning(Machine.name)
    ).scalars()
    for name in retried:
        log.config.warning("pool %s: machine %s was in error; trying it again", pool.id, name)
    if pool.kind == PoolKind.FLOATING:
        freed = db.execute(
            update(Machine)
            .where(
                Machine.pool_id == pool.id,
                Machine.state.in_([MachineState.ASSIGNED, MachineState.IN_USE]),
                idle,
            )
            .values(state=MachineState.READY, assigned_user_id=None)
            .returning(Machine.name)
        ).scalars()
        for name in freed:
            log.config.info("pool %s: machine %s was held without a session; freed", pool.id, name)
    # A dedicated machine in error with no owner goes back to ready, not assigned.
    db.execute(
        update(Machine)
        .where(
            Machine.pool_id == pool.id,
            Machine.state == MachineState.ASSIGNED,
            Machine.assigned_user_id.is_(None),
        )
        .values(state=MachineState.READY)
    )


def _remove_machine(db: Session, machine: Machine) -> bool:
    """Delete a machine unless a session is live on it; True if deleted."""
    if db.scalar(select(_has_live_session(machine.id))):
        return False
    db.delete(machine)
    return True


def _remove_pool(db: Session, pool: Pool) -> None:
    machines = list(db.scalars(select(Machine).where(Machine.pool_id == pool.id)))
    kept = [m for m in machines if not _remove_machine(db, m)]
    if not kept:
        db.delete(pool)
