"""`rubicon-broker apply`: make the database match a desired-state file.

The file is a pools file (broker_stub.config) that may also list
[[groups]] (with their members) and [[users]] (without passwords). Each of
the three sections is authoritative only when the file has it:

- pools: pools, machines and entitlements become what the file says, by
  domain.pools.sync_pools, the same code `serve` fills a new database with;
- groups: the listed groups exist with exactly the listed members; other
  groups go, except those the directory (LDAP) fills;
- users: the listed users exist with the given display name and role; users
  the file does not list are left alone (remove them with `users remove`).

Everything happens in one transaction, under the lock the migrations take
(db.migrate.lock), so brokers starting and other applies wait their turn. The
plan is the difference between a snapshot of the database before and after,
so it shows what really changed, whoever's code changed it; a dry run rolls
back, and so does a run that would leave no admin. Every change goes to the
audit log.

`drift` makes the same plan without changing anything, for `serve` to log
how the database differs from its pools file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.orm import Session

from broker_stub.config import BrokerConfig, ConfigError, load_config
from broker_stub.db import migrate
from broker_stub.db.models import (
    Entitlement,
    EntitlementKind,
    Group,
    Machine,
    MachineOrigin,
    Membership,
    Pool,
    Role,
    User,
)
from broker_stub.domain import audit
from broker_stub.domain.admin import Admin
from broker_stub.domain.pools import machine_values, pool_values, sync_pools

# Machine columns that say what a machine is, not what it is doing now.
_MACHINE_RUNTIME = {"id", "pool_id", "name", "state", "assigned_user_id", "woken_at"}
_MACHINE_RUNTIME |= {"recycle_after", "origin", "probe_after", "probe_failures", "idle_since"}
_MACHINE_RUNTIME |= {"problem"}
# Pool columns the broker itself keeps up to date.
_POOL_RUNTIME = {"id", "degraded_since", "degraded_reason", "upkeep_at"}


@dataclass
class Plan:
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class State:
    """What `apply` compares: the parts of the database the file describes."""

    pools: dict[str, dict[str, Any]]
    machines: dict[tuple[str, str], dict[str, Any]]
    entitlements: set[tuple[str, str, str]]
    groups: dict[str, set[str]]  # members given locally
    users: dict[str, tuple[str, str]]  # display name, role


def load(path: Path) -> BrokerConfig:
    """Read and check the file; ConfigError names the file and key of each mistake."""
    return load_config(path)


def _columns(row: object, skip: set[str]) -> dict[str, Any]:
    mapper = inspect(type(row))
    return {c.key: getattr(row, c.key) for c in mapper.column_attrs if c.key not in skip}


def snapshot(db: Session) -> State:
    users = {u.username: (u.display_name, u.role) for u in db.scalars(select(User))}
    groups: dict[str, set[str]] = {g: set() for g in db.scalars(select(Group.name))}
    for group, username in db.execute(
        select(Group.name, User.username)
        .join(Membership, Membership.group_id == Group.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.from_ldap.is_(False))
    ):
        groups[group].add(username)
    return State(
        pools={p.id: _columns(p, _POOL_RUNTIME) for p in db.scalars(select(Pool))},
        # Only the machines a file or an admin listed: the others follow their hypervisor.
        machines={
            (m.pool_id, m.name): _columns(m, _MACHINE_RUNTIME)
            for m in db.scalars(select(Machine).where(Machine.origin == MachineOrigin.CONFIG))
        },
        entitlements={(e.pool_id, e.kind, e.name) for e in db.scalars(select(Entitlement))},
        groups=groups,
        users=users,
    )


def apply(
    bind: Engine | Connection, admin: Admin, config: BrokerConfig, *, dry_run: bool = False
) -> Plan:
    """Bring the database in line with `config`; return what changed (or would)."""
    given = config.model_fields_set
    with Session(bind=bind, expire_on_commit=False) as db:
        migrate.lock(db.connection())
        before = snapshot(db)
        if "pools" in given:
            sync_pools(db, config)
        if "users" in given:
            _sync_users(db, config)
        if "groups" in given:
            _sync_groups(db, config)
        db.flush()
        db.expire_all()
        after = snapshot(db)
        plan = diff(before, after, _wanted(config) if "pools" in given else None)
        if before.users and _admins(before) and not _admins(after):
            db.rollback()
            raise ConfigError(
                'the file would leave no admin: make at least one user role = "admin"'
            )
        if dry_run or not plan.changes:
            db.rollback()
            return plan
        for action, target, detail in _events(before, after):
            admin.record(db, action, target, {**detail, "via": "apply"})
        db.commit()
    return plan


def drift(db: Session, config: BrokerConfig) -> Plan:
    """What applying the file's pools would change, worked out without writing.

    Only the columns the file sets are compared; a machine with a live session
    would stay, but shows as removed here.
    """
    before = snapshot(db)
    return diff(before, _wanted_state(before, config), None)


def _wanted_state(now: State, config: BrokerConfig) -> State:
    """`now` with pools, machines and entitlements as the file has them."""
    pools = {p.id: pool_values(p, sort) for sort, p in enumerate(config.pools)}
    machines = {(p.id, m.name): machine_values(p, m) for p in config.pools for m in p.machines}
    entitlements: set[tuple[str, str, str]] = set()
    for p in config.pools:
        entitlements |= {(p.id, EntitlementKind.USER, name) for name in p.users}
        entitlements |= {(p.id, EntitlementKind.GROUP, name) for name in p.groups}
    return replace(now, pools=pools, machines=machines, entitlements=entitlements)


def _admins(state: State) -> set[str]:
    return {name for name, (_, role) in state.users.items() if role == Role.ADMIN}


def _wanted(config: BrokerConfig) -> tuple[set[str], set[tuple[str, str]]]:
    """The pool ids and (pool, machine) names the file asks for."""
    return {p.id for p in config.pools}, {(p.id, m.name) for p in config.pools for m in p.machines}


def _sync_users(db: Session, config: BrokerConfig) -> None:
    existing = {u.username: u for u in db.scalars(select(User))}
    for spec in config.users:
        user = existing.get(spec.username)
        if user is None:
            # No password: the user signs in through LDAP, or gets one with `users passwd`.
            user = User(username=spec.username, display_name=spec.username, password_hash=None)
            db.add(user)
        if spec.display_name is not None:
            user.display_name = spec.display_name
        user.role = spec.role
    db.flush()


def _sync_groups(db: Session, config: BrokerConfig) -> None:
    users = {u.username: u.id for u in db.scalars(select(User))}
    for g, spec in enumerate(config.groups):
        unknown = [m for m in spec.members if m not in users]
        if unknown:
            raise ConfigError(
                f"groups.{g}.members: there is no user {unknown[0]!r}; add it under "
                "[[users]] or with `rubicon-broker users add`, or take it out of the group"
            )
    groups = {g.name: g for g in db.scalars(select(Group))}
    wanted = {spec.name: {users[m] for m in spec.members} for spec in config.groups}
    from_ldap = set(
        db.scalars(select(Membership.group_id).where(Membership.from_ldap.is_(True)).distinct())
    )
    for name, group in groups.items():
        if name not in wanted and group.id not in from_ldap:
            db.delete(group)
    for name, member_ids in wanted.items():
        found = groups.get(name)
        group = found if found is not None else Group(name=name)
        if found is None:
            db.add(group)
            db.flush()
        rows = {
            m.user_id: m
            for m in db.scalars(select(Membership).where(Membership.group_id == group.id))
        }
        for user_id, membership in rows.items():
            if user_id in member_ids:
                membership.from_ldap = False
            elif not membership.from_ldap:
                db.delete(membership)
        db.add_all(Membership(user_id=u, group_id=group.id) for u in member_ids if u not in rows)
    db.flush()


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in after if before.get(k) != after[k])


def diff(before: State, after: State, wanted: tuple[set[str], set[tuple[str, str]]] | None) -> Plan:
    """The plan: one line per change, "+" added, "~" changed, "-" removed."""
    plan = Plan()
    out = plan.changes
    for pid in sorted(after.pools.keys() - before.pools.keys()):
        out.append(f"+ pool {pid} ({after.pools[pid]['name']})")
    for pid in sorted(after.pools.keys() & before.pools.keys()):
        fields = _changed(before.pools[pid], after.pools[pid])
        if fields:
            out.append(f"~ pool {pid}: {', '.join(fields)}")
    for pid in sorted(before.pools.keys() - after.pools.keys()):
        out.append(f"- pool {pid}")
    for key in sorted(after.machines.keys() - before.machines.keys()):
        out.append(f"+ machine {key[0]}/{key[1]} ({after.machines[key]['host']})")
    for key in sorted(after.machines.keys() & before.machines.keys()):
        fields = _changed(before.machines[key], after.machines[key])
        if fields:
            out.append(f"~ machine {key[0]}/{key[1]}: {', '.join(fields)}")
    for key in sorted(before.machines.keys() - after.machines.keys()):
        out.append(f"- machine {key[0]}/{key[1]}")
    for pool, kind, name in sorted(after.entitlements - before.entitlements):
        out.append(f"+ entitlement {pool}: {kind} {name}")
    for pool, kind, name in sorted(before.entitlements - after.entitlements):
        out.append(f"- entitlement {pool}: {kind} {name}")
    for name in sorted(after.groups.keys() - before.groups.keys()):
        out.append(f"+ group {name} ({', '.join(sorted(after.groups[name])) or 'no members'})")
    for name in sorted(after.groups.keys() & before.groups.keys()):
        joined = sorted(after.groups[name] - before.groups[name])
        left = sorted(before.groups[name] - after.groups[name])
        if joined or left:
            moves = [f"+{u}" for u in joined] + [f"-{u}" for u in left]
            out.append(f"~ group {name}: {' '.join(moves)}")
    for name in sorted(before.groups.keys() - after.groups.keys()):
        out.append(f"- group {name}")
    for name in sorted(after.users.keys() - before.users.keys()):
        out.append(f"+ user {name} ({after.users[name][1]}, no password)")
    for name in sorted(after.users.keys() & before.users.keys()):
        (old_display, old_role), (display, role) = before.users[name], after.users[name]
        fields = [
            f
            for f, a, b in (("display_name", old_display, display), ("role", old_role, role))
            if a != b
        ]
        if fields:
            out.append(f"~ user {name}: {', '.join(fields)}")
    if wanted is not None:
        # What sync_pools kept although the file drops it: a session is live there.
        pools, machines = wanted
        for pool, name in sorted(after.machines.keys() - machines):
            plan.notes.append(
                f"machine {pool}/{name} stays while a session is live on it; "
                "apply again after the session ends"
            )
        for pool in sorted(after.pools.keys() - pools):
            plan.notes.append(f"pool {pool} stays while a session is live in it")
    return plan


def _events(before: State, after: State) -> list[tuple[str, str, dict[str, Any]]]:
    """One audit event per change, never with a console password."""
    events: list[tuple[str, str, dict[str, Any]]] = []
    for pid in after.pools.keys() - before.pools.keys():
        events.append((audit.POOL_CREATE, f"pool:{pid}", {}))
    for pid in after.pools.keys() & before.pools.keys():
        fields = _changed(before.pools[pid], after.pools[pid])
        if fields:
            events.append((audit.POOL_UPDATE, f"pool:{pid}", {"fields": fields}))
    for pid in before.pools.keys() - after.pools.keys():
        events.append((audit.POOL_DELETE, f"pool:{pid}", {}))
    for key in after.machines.keys() - before.machines.keys():
        events.append((audit.MACHINE_ADD, f"machine:{key[0]}/{key[1]}", {}))
    for key in after.machines.keys() & before.machines.keys():
        fields = _changed(before.machines[key], after.machines[key])
        if fields:
            events.append((audit.MACHINE_UPDATE, f"machine:{key[0]}/{key[1]}", {"fields": fields}))
    for key in before.machines.keys() - after.machines.keys():
        events.append((audit.MACHINE_REMOVE, f"machine:{key[0]}/{key[1]}", {}))
    for pool, kind, name in after.entitlements - before.entitlements:
        events.append((audit.ENTITLEMENT_ADD, f"pool:{pool}", {"kind": kind, "name": name}))
    for pool, kind, name in before.entitlements - after.entitlements:
        events.append((audit.ENTITLEMENT_REMOVE, f"pool:{pool}", {"kind": kind, "name": name}))
    for name in after.groups.keys() - before.groups.keys():
        events.append((audit.GROUP_CREATE, f"group:{name}", {}))
    for name in before.groups.keys() - after.groups.keys():
        events.append((audit.GROUP_DELETE, f"group:{name}", {}))
    for name in after.groups:
        was = before.groups.get(name, set())
        for user in sorted(after.groups[name] - was):
            events.append((audit.GROUP_ADD_MEMBER, f"group:{name}", {"user": user}))
        for user in sorted(was - after.groups[name]):
            events.append((audit.GROUP_REMOVE_MEMBER, f"group:{name}", {"user": user}))
    for name in after.users.keys() - before.users.keys():
        events.append((audit.USER_CREATE, f"user:{name}", {"role": after.users[name][1]}))
    for name in after.users.keys() & before.users.keys():
        if before.users[name] != after.users[name]:
            display, role = after.users[name]
            events.append(
                (audit.USER_UPDATE, f"user:{name}", {"display_name": display, "role": role})
            )
    return sorted(events, key=lambda e: (e[0], e[1], str(e[2])))
