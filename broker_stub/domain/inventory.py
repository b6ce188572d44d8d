"""Pools, machines and entitlements, as administrators see and change them.

Pools themselves come from the pools file or `rubicon-broker apply`; here an
admin adds and removes machines, puts them in maintenance, and grants or
revokes entitlements. Machine states change with one conditional statement
whose row count is checked, like allocation does, so an admin's change and a
launch racing it cannot both win.

Maintenance works from any state: a live session on the machine goes on, and
when it ends the machine stays in maintenance (domain/lifecycle.py) instead
of going back to the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker_stub import backends, log
from broker_stub.config import DEFAULT_PORTS, VNC_PASSWORD_MAX
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Entitlement,
    EntitlementKind,
    Machine,
    MachineState,
    Pool,
    SessionState,
    User,
)
from broker_stub.domain import audit
from broker_stub.domain.admin import Admin
from broker_stub.domain.errors import (
    EntitlementExists,
    InvalidMachine,
    MachineExists,
    MachineInUse,
    UnknownEntitlement,
    UnknownMachine,
    UnknownPool,
)
from broker_stub.domain.lifecycle import rows_changed
from broker_stub.values import names

# The machine state that goes with a live session, for leaving maintenance.
_STATE_FOR_SESSION = {
    SessionState.PENDING: MachineState.ASSIGNED,
    SessionState.ACTIVE: MachineState.IN_USE,
    SessionState.DISCONNECTED: MachineState.DISCONNECTED,
}


@dataclass(frozen=True)
class EntitlementInfo:
    pool: str
    kind: str
    name: str


@dataclass(frozen=True)
class PoolInfo:
    id: str
    name: str
    kind: str
    protocols: list[str]
    default_protocol: str
    machines: dict[str, int]  # how many in each state
    entitlements: list[EntitlementInfo]
    backend: str  # its type: static, libvirt, or a plug-in's
    recycle: str
    # Since when its backend keeps failing, and why; None while it works.
    degraded_since: datetime | None
    degraded_reason: str | None


@dataclass(frozen=True)
class MachineInfo:
    pool: str
    name: str
    host: str
    ports: dict[str, int]
    state: str
    user: str | None
    session: str | None
    origin: str  # config (the pools file or an admin), discovered or provisioned
    problem: str | None  # the last thing that went wrong with it


@dataclass(frozen=True)
class MachineSpec:
    """A machine to add; the ports follow the pools file's rules (docs/admin.md)."""

    name: str
    host: str
    port: int | None = None
    vnc_port: int | None = None
    rdp_port: int | None = None
    spice_port: int | None = None
    spice_tls_port: int | None = None
    mac: str | None = None
    password: str | None = None


def live_session_on(machine_id: Any) -> ColumnElement[bool]:
    return exists().where(
        DesktopSession.machine_id == machine_id, DesktopSession.state.in_(LIVE_SESSION_STATES)
    )


# Pools


def find_pool(db: Session, pool_id: str) -> Pool:
    pool = db.get(Pool, pool_id)
    if pool is None:
        raise UnknownPool(pool_id)
    return pool


def list_pools(db: Session) -> list[PoolInfo]:
    """Every pool in the order users see them, with machine counts and entitlements."""
    counts: dict[str, dict[str, int]] = {}
    for pool_id, state, count in db.execute(
        select(Machine.pool_id, Machine.state, func.count()).group_by(
            Machine.pool_id, Machine.state
        )
    ):
        counts.setdefault(pool_id, {})[state] = count
    grants: dict[str, list[EntitlementInfo]] = {}
    for e in list_entitlements(db):
        grants.setdefault(e.pool, []).append(e)
    return [
        PoolInfo(
            id=p.id,
            name=p.name,
            kind=p.kind,
            protocols=list(p.protocols),
            default_protocol=p.default_protocol,
            machines=counts.get(p.id, {}),
            entitlements=grants.get(p.id, []),
            backend=str(p.backend.get("type", "static")),
            recycle=p.recycle,
            degraded_since=p.degraded_since,
            degraded_reason=p.degraded_reason,
        )
        for p in db.scalars(select(Pool).order_by(Pool.sort, Pool.id))
    ]


def get_pool(db: Session, pool_id: str) -> PoolInfo:
    find_pool(db, pool_id)
    return next(p for p in list_pools(db) if p.id == pool_id)


# Machines


def _ports(machine: Machine) -> dict[str, int]:
    ports = {
        "vnc": machine.vnc_port,
        "rdp": machine.rdp_port,
        "spice": machine.spice_port,
        "spice_tls": machine.spice_tls_port,
    }
    return {k: v for k, v in ports.items() if v is not None}


def list_machines(db: Session, pool_id: str) -> list[MachineInfo]:
    """The pool's machines by name, with who holds each and the live session on it."""
    find_pool(db, pool_id)
    rows = db.execute(
        select(Machine, User.username, DesktopSession.id)
        .outerjoin(User, User.id == Machine.assigned_user_id)
        .outerjoin(
            DesktopSession,
            and_(
                DesktopSession.machine_id == Machine.id,
                DesktopSession.state.in_(LIVE_SESSION_STATES),
            ),
        )
        .where(Machine.pool_id == pool_id)
        .order_by(Machine.name)
    )
    return [
        MachineInfo(
            pool=m.pool_id,
            name=m.name,
            host=m.host,
            ports=_ports(m),
            state=m.state,
            user=username,
            session=session_id,
            origin=m.origin,
            problem=m.problem,
        )
        for m, username, session_id in rows
    ]


def get_machine(db: Session, pool_id: str, name: str) -> MachineInfo:
    for info in list_machines(db, pool_id):
        if info.name == name:
            return info
    raise UnknownMachine(pool_id, name)


def _find_machine(db: Session, pool_id: str, name: str) -> Machine:
    find_pool(db, pool_id)
    machine = db.scalar(select(Machine).where(Machine.pool_id == pool_id, Machine.name == name))
    if machine is None:
        raise UnknownMachine(pool_id, name)
    return machine


def _machine_values(pool: Pool, spec: MachineSpec) -> dict[str, Any]:
    """Column values for `spec` in `pool`; InvalidMachine if they do not fit the pool."""
    problem = names.name_problem("machine", spec.name)
    if problem:
        raise InvalidMachine(spec.name, problem)
    kind = str(pool.backend.get("type", "static"))
    if backends.find_kind(kind).discovers:
        raise InvalidMachine(
            spec.name,
            f"pool {pool.id!r} finds its machines on its {kind} host; add the machine there "
            "(or to the pool's [pools.backend] selection) instead",
        )
    given = {"vnc": spec.vnc_port, "rdp": spec.rdp_port, "spice": spec.spice_port}
    single = len(pool.protocols) == 1
    ports: dict[str, int] = {}
    for protocol in pool.protocols:
        port = given.get(protocol) or (spec.port if single else None)
        port = port or DEFAULT_PORTS.get(protocol)
        if port is not None:
            ports[protocol] = port
        elif not (protocol == "spice" and spec.spice_tls_port):
            raise InvalidMachine(
                spec.name, f"pool {pool.id!r} offers {protocol}; give its {protocol}_port"
            )
    if (
        "vnc" in pool.protocols
        and spec.password is not None
        and len(spec.password) > VNC_PASSWORD_MAX
    ):
        raise InvalidMachine(
            spec.name,
            f"VNC passwords are at most {VNC_PASSWORD_MAX} characters; "
            "shorten it here and on the VNC server",
        )
    if spec.spice_tls_port is not None:
        ports["spice_tls"] = spec.spice_tls_port
    return {
        "host": spec.host,
        "port": ports.get(pool.default_protocol) or ports["spice_tls"],
        "vnc_port": ports.get("vnc"),
        "rdp_port": ports.get("rdp"),
        "spice_port": ports.get("spice") if "spice" in pool.protocols else None,
        "spice_tls_port": ports.get("spice_tls"),
        "mac": spec.mac.lower().replace("-", ":") if spec.mac else None,
        "password": spec.password,
    }


def add_machine(db: Session, admin: Admin, pool_id: str, spec: MachineSpec) -> MachineInfo:
    """Add a ready machine to the pool; MachineExists if the name is taken there."""
    pool = find_pool(db, pool_id)
    values = _machine_values(pool, spec)
    exists_already = select(Machine.id).where(Machine.pool_id == pool_id, Machine.name == spec.name)
    if db.scalar(exists_already) is not None:
        raise MachineExists(pool_id, spec.name)
    db.add(Machine(pool_id=pool_id, name=spec.name, state=MachineState.READY, **values))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise MachineExists(pool_id, spec.name) from None
    # The console password stays out of the audit log.
    admin.record(
        db,
        audit.MACHINE_ADD,
        f"machine:{pool_id}/{spec.name}",
        {"host": spec.host, "port": values["port"]},
    )
    db.commit()
    log.domain.info("%s added machine %s to pool %s", admin.name, spec.name, pool_id)
    return get_machine(db, pool_id, spec.name)


def live_holder(db: Session, machine_id: int) -> tuple[str, str] | None:
    """The id and user of the live session on the machine, if there is one."""
    row = db.execute(
        select(DesktopSession.id, User.username)
        .join(User, User.id == DesktopSession.user_id)
        .where(
            DesktopSession.machine_id == machine_id,
            DesktopSession.state.in_(LIVE_SESSION_STATES),
        )
    ).first()
    return None if row is None else (row[0], row[1])


def remove_machine(db: Session, admin: Admin, pool_id: str, name: str) -> None:
    """Delete the machine; MachineInUse while a session is live on it."""
    machine = _find_machine(db, pool_id, name)
    pool = find_pool(db, pool_id)
    # A floating machine that is assigned has been claimed by a launch whose
    # session may not be committed yet; a dedicated one may just have its owner.
    held = [MachineState.IN_USE, MachineState.DISCONNECTED]
    if not pool.dedicated:
        held.append(MachineState.ASSIGNED)
    # One statement, conditional on the machine's own row: a launch claiming it
    # meanwhile locks that row, and the state it leaves makes this match nothing.
    deleted = rows_changed(
        db,
        delete(Machine).where(
            Machine.id == machine.id, Machine.state.not_in(held), ~live_session_on(Machine.id)
        ),
    )
    if deleted != 1:
        live = live_holder(db, machine.id)
        db.rollback()
        raise MachineInUse(name, live[1] if live else None, "removed")
    db.expunge(machine)
    admin.record(db, audit.MACHINE_REMOVE, f"machine:{pool_id}/{name}")
    db.commit()
    log.domain.info("%s removed machine %s from pool %s", admin.name, name, pool_id)


def set_maintenance(db: Session, admin: Admin, pool_id: str, name: str, on: bool) -> MachineInfo:
    """Put the machine in maintenance, or take it out; nothing happens if it is already so.

    In maintenance it is never handed out. Taken out, it goes to the state its
    live session needs, else back to its dedicated owner, else ready.
    """
    machine = _find_machine(db, pool_id, name)
    pool = find_pool(db, pool_id)
    if on:
        changed = rows_changed(
            db,
            update(Machine)
            .where(Machine.id == machine.id, Machine.state != MachineState.MAINTENANCE)
            .values(state=MachineState.MAINTENANCE),
        )
    else:
        session_state = db.scalar(
            select(DesktopSession.state).where(
                DesktopSession.machine_id == machine.id,
                DesktopSession.state.in_(LIVE_SESSION_STATES),
            )
        )
        if session_state is not None:
            to = _STATE_FOR_SESSION[SessionState(session_state)]
        elif pool.dedicated and machine.assigned_user_id is not None:
            to = MachineState.ASSIGNED
        else:
            to = MachineState.READY
        values: dict[str, Any] = {"state": to}
        if to == MachineState.READY:
            values["assigned_user_id"] = None
        changed = rows_changed(
            db,
            update(Machine)
            .where(Machine.id == machine.id, Machine.state == MachineState.MAINTENANCE)
            .values(**values),
        )
    if changed:
        action = audit.MACHINE_MAINTENANCE_ON if on else audit.MACHINE_MAINTENANCE_OFF
        admin.record(db, action, f"machine:{pool_id}/{name}")
        db.commit()
        log.domain.info(
            "%s took machine %s in pool %s %s maintenance",
            admin.name,
            name,
            pool_id,
            "into" if on else "out of",
        )
    else:
        db.rollback()
    db.expire_all()
    return get_machine(db, pool_id, name)


# Entitlements


def list_entitlements(
    db: Session, *, pool: str | None = None, kind: str | None = None, name: str | None = None
) -> list[EntitlementInfo]:
    query = select(Entitlement).order_by(Entitlement.pool_id, Entitlement.kind, Entitlement.name)
    if pool is not None:
        query = query.where(Entitlement.pool_id == pool)
    if kind is not None:
        query = query.where(Entitlement.kind == kind)
    if name is not None:
        query = query.where(Entitlement.name == name)
    return [EntitlementInfo(e.pool_id, e.kind, e.name) for e in db.scalars(query)]


def add_entitlement(
    db: Session, admin: Admin, pool_id: str, kind: EntitlementKind, name: str
) -> EntitlementInfo:
    """Let a user or group (by name; it need not exist yet) use the pool."""
    find_pool(db, pool_id)
    if db.get(Entitlement, (pool_id, kind.value, name)) is not None:
        raise EntitlementExists(pool_id, kind.value, name)
    db.add(Entitlement(pool_id=pool_id, kind=kind, name=name))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise EntitlementExists(pool_id, kind.value, name) from None
    admin.record(db, audit.ENTITLEMENT_ADD, f"pool:{pool_id}", {"kind": kind.value, "name": name})
    db.commit()
    return EntitlementInfo(pool_id, kind.value, name)


def remove_entitlement(
    db: Session, admin: Admin, pool_id: str, kind: EntitlementKind, name: str
) -> None:
    """Stop the user or group from launching the pool; live sessions go on."""
    find_pool(db, pool_id)
    deleted = rows_changed(
        db,
        delete(Entitlement).where(
            Entitlement.pool_id == pool_id, Entitlement.kind == kind, Entitlement.name == name
        ),
    )
    if deleted != 1:
        db.rollback()
        raise UnknownEntitlement(pool_id, kind.value, name)
    admin.record(
        db, audit.ENTITLEMENT_REMOVE, f"pool:{pool_id}", {"kind": kind.value, "name": name}
    )
    db.commit()
