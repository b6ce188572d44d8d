"""Turn a launch into connection details: power the machine on, find and probe
its console, and get the console password for this one connection.

Called after allocation.launch committed: backend calls may take a while, and
no transaction stays open meanwhile.

    stopped or suspended        power it on; Starting (202) until its console
                                answers, PowerOnTimeout after the pool's
                                power_on_timeout
    running, console answers    Connection, with a fresh console password;
                                where the ticket names a console (a Proxmox
                                spiceproxy ticket: its proxy and the name
                                only it knows), that one
    running, console silent     a session that never started ends and the
                                machine is unreachable (probed again in the
                                background); MachineUnreachable tells the
                                caller whether another machine may serve. A
                                live session keeps its machine.
    gone from its hypervisor    the session ends, the machine goes to error
                                (MachineGone)
    not made yet (a clone)      the launch that reserved it has the backend
                                make it first; a retry meanwhile is Starting
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from broker_stub import backends as be
from broker_stub import log
from broker_stub.db.models import EndReason, Machine, MachineState, SessionState, User
from broker_stub.domain import audit, clones, lifecycle
from broker_stub.domain.allocation import Launch
from broker_stub.domain.errors import (
    HypervisorUnavailable,
    MachineActionFailed,
    MachineGone,
    MachineUnreachable,
    NoConsole,
    PowerOnTimeout,
    StorageFull,
)

# How soon a launcher asks again about a machine whose console does not answer yet.
BOOT_RETRY_AFTER_S = 3
# ... and about one whose backend had as many calls under way as it may.
BUSY_RETRY_AFTER_S = 2


@dataclass(frozen=True)
class Connection:
    """Where the launcher points the native client."""

    protocol: str
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    expires_at: datetime | None
    sso: bool
    tls_port: int | None = None
    ca: str | None = None
    host_subject: str | None = None
    # SPICE through an HTTP CONNECT proxy: `host` is then a name only the proxy knows.
    proxy: str | None = None
    # RDP to Hyper-V's VM console: the VM's id, the preconnection blob for VMConnect.
    vmconnect: str | None = None


@dataclass(frozen=True)
class Starting:
    """The machine is powering on: ask again (launch with the same key) after this long."""

    retry_after: int


def connect(
    db: Session, backends: be.Backends, user: User, launch: Launch, now: datetime
) -> Connection | Starting:
    pool, machine, session = launch.pool, launch.machine, launch.session
    protocol = session.protocol
    ref = lifecycle.machine_ref(machine)
    backend = backends.for_pool(pool.id, pool.backend)
    woken_at = machine.woken_at
    # A session the user never got into may move to another machine; a live one may not.
    never_started = session.state == SessionState.PENDING
    another = never_started and not pool.dedicated
    pool_name, probe, sso = pool.name, pool.health_check, pool.sso
    power_on_timeout = timedelta(seconds=pool.power_on_timeout_s)
    if machine.state == MachineState.PROVISIONING:
        if launch.reconnected and machine.recycle_after is not None and machine.recycle_after > now:
            db.commit()
            return Starting(retry_after=BOOT_RETRY_AFTER_S)  # another request is making it
        if not _make(db, backends, launch, now):
            return Starting(retry_after=BUSY_RETRY_AFTER_S)
    if db.in_transaction():
        db.commit()  # ends the read: no transaction stays open while the backend works
    try:
        power = backend.power_on(ref, protocol)
        console = backend.console(ref, protocol) if power.running else None
    except be.Busy:
        return Starting(retry_after=BUSY_RETRY_AFTER_S)  # many launches at once: a moment
    except be.BackendError as exc:
        raise _failure(db, launch, now, exc, "start", another=another) from None

    if console is None or (probe and not be.answers(*console.probe_address)):
        if woken_at is None and console is None:
            _mark_woken(db, machine.id, now)
            return Starting(retry_after=max(1, power.retry_after))
        if woken_at is not None:
            if now - woken_at < power_on_timeout:
                return Starting(retry_after=max(1, power.retry_after or BOOT_RETRY_AFTER_S))
            problem = f"did not start within {power_on_timeout.total_seconds():g}s"
            _machine_failed(
                db, launch, now, MachineState.ERROR, problem, EndReason.POWER_ON_TIMEOUT
            )
            raise PowerOnTimeout(pool_name, power_on_timeout, another_may_work=another)
        assert console is not None
        probe_host, probe_port = console.probe_address
        problem = f"its console {probe_host}:{probe_port} did not answer"
        if not never_started:
            log.backend.warning("pool %s: %s: %s", pool.id, ref.name, problem)
            raise MachineUnreachable(pool_name, live=True)
        _machine_failed(
            db, launch, now, MachineState.UNREACHABLE, problem, EndReason.MACHINE_FAILED
        )
        raise MachineUnreachable(pool_name, another_may_work=another)

    if woken_at is not None:
        db.execute(update(Machine).where(Machine.id == machine.id).values(woken_at=None))
        db.commit()
    try:
        ticket = backend.console_password(ref, protocol)
    except be.Busy:
        return Starting(retry_after=BUSY_RETRY_AFTER_S)
    except be.BackendError as exc:
        raise _failure(db, launch, now, exc, "open the console of", another=another) from None
    if ticket.console is not None:
        console = ticket.console  # the password works there (a Proxmox spiceproxy ticket)
    rdp = protocol == "rdp"
    port, tls, tls_port = console.port, False, console.tls_port
    if port is None:
        # A TLS-only SPICE console: its one port is the TLS port.
        assert console.tls_port is not None, "a console has a port or a TLS port"
        port, tls, tls_port = console.tls_port, True, None
    return Connection(
        protocol=protocol,
        host=console.host,
        port=port,
        tls=tls,
        # RDP signs in to the desktop's own account; consoles have no user.
        username=user.username if rdp else None,
        password=None if rdp else ticket.password,
        expires_at=None if rdp else ticket.expires_at,
        sso=rdp and sso,
        tls_port=tls_port,
        ca=console.ca,
        host_subject=console.host_subject,
        proxy=console.proxy,
        vmconnect=console.vmconnect,
    )


def _make(db: Session, backends: be.Backends, launch: Launch, now: datetime) -> bool:
    """Have the backend make the clone reserved for this launch; it is the user's then.

    False if the backend was too busy to start: the reservation stays, its
    lease lapsed, so that the launcher's next try makes it.
    """
    pool, machine = launch.pool, launch.machine
    name, pool_name = machine.name, pool.name
    try:
        clones.make(db, backends, pool, machine.id, name)
    except be.Busy:
        db.execute(update(Machine).where(Machine.id == machine.id).values(recycle_after=now))
        db.commit()
        return False
    except be.BackendError as exc:
        log.backend.error("pool %s: cannot make %s: %s", pool.id, name, exc)
        if isinstance(exc, be.StorageFull):
            raise StorageFull(pool_name) from None
        if isinstance(exc, be.HypervisorUnavailable):
            raise HypervisorUnavailable(pool_name) from None
        raise MachineActionFailed(name, "make") from None
    clones.finish(db, machine.id, to=MachineState.ASSIGNED)
    audit.record(
        db,
        actor=None,
        action=audit.MACHINE_PROVISIONED,
        target=f"machine:{pool.id}/{name}",
        detail={"for": "launch", "session": launch.session.id},
        address=None,
        at=now,
    )
    db.commit()
    return True


def _mark_woken(db: Session, machine_id: int, now: datetime) -> None:
    db.execute(
        update(Machine)
        .where(Machine.id == machine_id, Machine.woken_at.is_(None))
        .values(woken_at=now)
    )
    db.commit()


def _failure(
    db: Session, launch: Launch, now: datetime, exc: be.BackendError, doing: str, *, another: bool
) -> Exception:
    """The domain error for a backend's failure; a machine that is gone leaves the pool's
    service (its session ends)."""
    pool, name = launch.pool, launch.machine.name
    if isinstance(exc, be.HypervisorUnavailable):
        if not isinstance(exc, be.PoolDegraded):  # said once, not at every launch
            log.backend.error("pool %s: cannot %s %s: %s", pool.id, doing, name, exc)
        return HypervisorUnavailable(pool.name)
    if isinstance(exc, be.MachineMissing):
        _machine_failed(db, launch, now, MachineState.ERROR, str(exc), EndReason.MACHINE_FAILED)
        return MachineGone(pool.name, another_may_work=another)
    if isinstance(exc, be.NoConsole):
        log.backend.error("pool %s: %s", pool.id, exc)
        return NoConsole(pool.name, launch.session.protocol)
    log.backend.error("pool %s: cannot %s %s: %s", pool.id, doing, name, exc)
    return MachineActionFailed(name, "start")


def _machine_failed(
    db: Session,
    launch: Launch,
    now: datetime,
    to: MachineState,
    problem: str,
    reason: EndReason,
) -> None:
    log.backend.warning(
        "pool %s: machine %s %s; it is %s now", launch.pool.id, launch.machine.name, problem, to
    )
    lifecycle.machine_failed(db, launch.session.id, now, to=to, problem=problem, reason=reason)
