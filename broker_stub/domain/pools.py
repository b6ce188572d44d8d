"""Bring pools, machines and entitlements in the database in line with the config."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Exists, delete, exists, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from broker_stub import log
from broker_stub.config import BrokerConfig, MachineConfig, PoolConfig, machine_ports
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Entitlement,
    EntitlementKind,
    Machine,
    MachineState,
    Pool,
    PoolKind,
)

# Brokers that start together must not add the same pools twice; any fixed
# number will do as long as nothing else on the server uses it.
_PG_SYNC_LOCK = 0x52554250  # "RUBP"


def sync_pools(db: Session, config: BrokerConfig) -> None:
    """Add, update and remove pools and machines so the database matches `config`.

    A machine with a live session is never removed: it stays (and is logged)
    until its session ends and the broker starts again with the new config.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SYNC_LOCK})
    wanted = {p.id: p for p in config.pools}
    for sort, pool_config in enumerate(config.pools):
        pool = db.get(Pool, pool_config.id)
        if pool is None:
            pool = Pool(id=pool_config.id)
            db.add(pool)
            log.config.info("pool %s: added", pool_config.id)
        changed = _apply_pool(pool, pool_config, sort)
        if changed and pool in db.dirty:
            log.config.info("pool %s: updated", pool_config.id)
        db.flush()
        _sync_entitlements(db, pool_config)
        _sync_machines(db, pool_config)
        _repair_machines(db, pool)

    for pool in db.scalars(select(Pool).where(Pool.id.not_in(wanted))).all():
        _remove_pool(db, pool)
    db.commit()


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _apply_pool(pool: Pool, config: PoolConfig, sort: int) -> bool:
    """Copy the pool's settings from the config; True if anything users see changed."""
    before = (pool.name, pool.kind, pool.protocols, pool.default_protocol)
    pool.name = config.name
    pool.kind = config.kind
    pool.protocols = list(config.protocols)
    pool.default_protocol = config.default
    pool.disconnect_timeout_s = _seconds(config.disconnect_timeout)
    pool.idle_timeout_s = _seconds(config.idle_timeout)
    pool.idle_action = config.idle_action
    pool.max_session_s = _seconds(config.max_session)
    pool.prelaunch_timeout_s = int(config.prelaunch_timeout.total_seconds())
    pool.allow_reset = config.allow_reset
    pool.allow_restart = config.allow_restart
    pool.sso = config.sso
    pool.require_totp = config.require_totp
    pool.spares = config.spares
    pool.backend = config.backend.options()
    pool.sort = sort
    return before != (pool.name, pool.kind, pool.protocols, pool.default_protocol)


def _sync_entitlements(db: Session, pool_config: PoolConfig) -> None:
    db.execute(delete(Entitlement).where(Entitlement.pool_id == pool_config.id))
    wanted = {(EntitlementKind.USER, n) for n in pool_config.users}
    wanted |= {(EntitlementKind.GROUP, n) for n in pool_config.groups}
    db.add_all(Entitlement(pool_id=pool_config.id, kind=k, name=n) for k, n in sorted(wanted))


def _machine_values(pool_config: PoolConfig, machine: MachineConfig) -> dict[str, object]:
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
    existing = {
        m.name: m for m in db.scalars(select(Machine).where(Machine.pool_id == pool_config.id))
    }
    for machine_config in pool_config.machines:
        values = _machine_values(pool_config, machine_config)
        machine = existing.pop(machine_config.name, None)
        if machine is None:
            machine = Machine(
                pool_id=pool_config.id, name=machine_config.name, state=MachineState.READY
            )
            db.add(machine)
            log.config.info("pool %s: machine %s added", pool_config.id, machine_config.name)
        elif any(getattr(machine, key) != value for key, value in values.items()):
            log.config.info("pool %s: machine %s updated", pool_config.id, machine_config.name)
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
