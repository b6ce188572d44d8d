"""The audit log: one row per thing an admin may later ask about.

`record` writes the row in the caller's transaction, so the event is stored
exactly when what it describes is. Nothing secret goes in: no passwords,
tokens or console passwords, in `target` or in `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from broker_stub.clock import utcnow
from broker_stub.db.models import AuditEvent
from broker_stub.db.rows import table_of

SIGN_IN: Final = "auth.sign_in"
SIGN_IN_FAILED: Final = "auth.sign_in_failed"
SIGN_OUT: Final = "auth.sign_out"
ACCOUNT_LOCKED: Final = "auth.account_locked"
ADDRESS_BLOCKED: Final = "auth.address_blocked"
LAUNCH: Final = "session.launch"
LOGOFF: Final = "session.logoff"
DISCONNECT: Final = "session.disconnect"
RESET: Final = "session.reset"
RESTART: Final = "session.restart"
# A deadline the scheduler fired: detail names the deadline and what it did.
DEADLINE: Final = "session.deadline"

# What the broker found or did to machines on its own (backends, probes, upkeep).
MACHINE_FAILED: Final = "machine.failed"  # a launch found it dead; detail: state, problem
MACHINE_RECOVERED: Final = "machine.recovered"  # an unreachable machine answers again
MACHINE_FOUND: Final = "machine.found"  # a hypervisor has a new machine for the pool
MACHINE_VANISHED: Final = "machine.vanished"  # the hypervisor no longer has it
MACHINE_PROVISIONED: Final = "machine.provisioned"  # the broker made a clone
MACHINE_DESTROYED: Final = "machine.destroyed"  # the broker deleted a clone it made
MACHINE_POWER_OFF: Final = "machine.power_off"  # an idle spare was shut down
POOL_DEGRADED: Final = "pool.degraded"  # its backend keeps failing; detail: reason
POOL_RECOVERED: Final = "pool.recovered"

# Administrators' changes (domain/admin.py), over the API or from rubicon-broker.
# All start with "admin." so one prefix query finds them.
USER_CREATE: Final = "admin.user.create"
USER_UPDATE: Final = "admin.user.update"
USER_DELETE: Final = "admin.user.delete"
USER_PASSWORD: Final = "admin.user.password"  # noqa: S105 (an action name)
USER_ROLE: Final = "admin.user.role"
# The account's sign-in lock lifted by hand; detail: was_locked.
USER_UNLOCK: Final = "admin.user.unlock"
# TOTP enrolled (a new secret, `replaced` if there was one) or turned off; never the secret.
USER_TOTP_ENROL: Final = "admin.user.totp_enrol"
USER_TOTP_REMOVE: Final = "admin.user.totp_remove"
GROUP_CREATE: Final = "admin.group.create"
GROUP_DELETE: Final = "admin.group.delete"
GROUP_ADD_MEMBER: Final = "admin.group.add_member"
GROUP_REMOVE_MEMBER: Final = "admin.group.remove_member"
POOL_CREATE: Final = "admin.pool.create"
POOL_UPDATE: Final = "admin.pool.update"
POOL_DELETE: Final = "admin.pool.delete"
MACHINE_ADD: Final = "admin.machine.add"
MACHINE_UPDATE: Final = "admin.machine.update"
MACHINE_REMOVE: Final = "admin.machine.remove"
MACHINE_MAINTENANCE_ON: Final = "admin.machine.maintenance_on"
MACHINE_MAINTENANCE_OFF: Final = "admin.machine.maintenance_off"
# A dedicated machine taken from its owner: detail names the owner it had.
MACHINE_UNASSIGN: Final = "admin.machine.unassign"
MACHINE_RECYCLE: Final = "admin.machine.recycle"
ENTITLEMENT_ADD: Final = "admin.entitlement.add"
ENTITLEMENT_REMOVE: Final = "admin.entitlement.remove"
SESSION_DISCONNECT: Final = "admin.session.disconnect"
SESSION_LOGOFF: Final = "admin.session.logoff"


# Built once: the launch and sign-in paths write one event each.
INSERT_EVENT = insert(table_of(AuditEvent))


def record(
    db: Session,
    *,
    actor: str | None,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    address: str | None,
    at: datetime | None = None,
) -> None:
    """Write an event in `db`'s transaction; the caller commits it.
    `at` defaults to now; routes pass the app's clock.
    """
    db.connection().execute(
        INSERT_EVENT,
        {
            "at": at or utcnow(),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": dict(detail or {}),
            "address": address,
        },
    )
