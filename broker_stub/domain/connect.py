"""Turn a launch into connection details, powering the machine on first if needed.

Called after allocation.launch committed: the backend may take a while (a
probe, a Wake-on-LAN packet) and no transaction stays open meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.backends import BackendError, Backends
from broker_stub.db.models import Machine, User
from broker_stub.domain import lifecycle
from broker_stub.domain.allocation import Launch
from broker_stub.domain.errors import MachineActionFailed

# How long a one-time console password lives, for backends that make them.
CONSOLE_PASSWORD_TTL = timedelta(seconds=60)


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


@dataclass(frozen=True)
class Starting:
    """The machine is powering on: ask again (launch with the same key) after this long."""

    retry_after: int


def connect(
    db: Session, backends: Backends, user: User, launch: Launch, now: datetime
) -> Connection | Starting:
    pool, machine, protocol = launch.pool, launch.machine, launch.session.protocol
    ref = lifecycle.machine_ref(machine)
    backend = backends.for_pool(pool.id, pool.backend)
    db.commit()  # ends the read: no transaction stays open while the backend works
    try:
        power = backend.power_on(ref, protocol)
    except BackendError as exc:
        log.backend.error("pool %s: cannot start %s: %s", pool.id, machine.name, exc)
        raise MachineActionFailed(machine.name, "start") from None
    if not power.running:
        db.execute(
            update(Machine)
            .where(Machine.id == machine.id, Machine.woken_at.is_(None))
            .values(woken_at=now)
        )
        db.commit()
        return Starting(retry_after=max(1, power.retry_after))
    if machine.woken_at is not None:
        db.execute(update(Machine).where(Machine.id == machine.id).values(woken_at=None))
        db.commit()
    ticket = backend.console_password(ref, protocol, CONSOLE_PASSWORD_TTL)
    rdp = protocol == "rdp"
    port = ref.ports.get(protocol, machine.port)
    tls, tls_port = False, None
    if protocol == "spice":
        tls_port = ref.ports.get("spice_tls")
        if machine.spice_port is None and tls_port is not None:
            # A TLS-only SPICE console: its one port is the TLS port.
            port, tls, tls_port = tls_port, True, None
    return Connection(
        protocol=protocol,
        host=machine.host,
        port=port,
        tls=tls,
        # RDP signs in to the desktop's own account; consoles have no user.
        username=user.username if rdp else None,
        password=None if rdp else ticket.password,
        expires_at=None if rdp else ticket.expires_at,
        sso=rdp and pool.sso,
        tls_port=tls_port,
    )
