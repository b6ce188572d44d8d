"""A pool's backend keeps failing, or works again: the database, the log and the audit log.
And a hypervisor's news that a pool's machines changed: its upkeep is due now.

`broker_stub.backends.calls` decides on each node when a pool's backend is
degraded or has recovered and tells the listener made here. The change is
stored with a conditional UPDATE, so that when several nodes see the same
outage only the node that changed the row logs it and audits it: one line per
change, not one per request or per node.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from broker_stub import log
from broker_stub.backends.calls import HealthListener
from broker_stub.clock import Clock
from broker_stub.db.models import Pool
from broker_stub.domain import audit
from broker_stub.domain.lifecycle import rows_changed

REASON_MAX = 500


def health_listener(session_factory: sessionmaker[Session], clock: Clock) -> HealthListener:
    def changed(pool_id: str, reason: str | None) -> None:
        now = clock()
        with session_factory() as db:
            if reason is not None:
                moved = rows_changed(
                    db,
                    update(Pool)
                    .where(Pool.id == pool_id, Pool.degraded_since.is_(None))
                    .values(degraded_since=now, degraded_reason=reason[:REASON_MAX]),
                )
                action, detail = audit.POOL_DEGRADED, {"reason": reason}
            else:
                moved = rows_changed(
                    db,
                    update(Pool)
                    .where(Pool.id == pool_id, Pool.degraded_since.is_not(None))
                    .values(degraded_since=None, degraded_reason=None),
                )
                action, detail = audit.POOL_RECOVERED, {}
            if not moved:
                db.rollback()
                return
            audit.record(
                db,
                actor=None,
                action=action,
                target=f"pool:{pool_id}",
                detail=detail,
                address=None,
                at=now,
            )
            db.commit()
        if reason is not None:
            log.backend.error("pool %s is degraded: %s", pool_id, reason)
        else:
            log.backend.warning("pool %s works again", pool_id)

    return changed


def upkeep_soon(session_factory: sessionmaker[Session]) -> Callable[[str], None]:
    """What backends call when their hypervisor says the pool's machines changed:
    the pool's upkeep is due now, on whichever node's scheduler comes first."""

    def soon(pool_id: str) -> None:
        with session_factory() as db:
            db.execute(update(Pool).where(Pool.id == pool_id).values(upkeep_at=None))
            db.commit()

    return soon
