"""Fire due session deadlines; hand machine work that is due to the node's upkeep.

Every broker node runs one `Scheduler` (a thread started by create_app's
lifespan). All state is in the database, so any node may fire any deadline;
each firing is claimed with a conditional UPDATE that names the state and
the deadline value it saw (on PostgreSQL the due rows are first locked with
`FOR UPDATE SKIP LOCKED`, so nodes share the work instead of queueing), and
the firing's audit event commits with it. A deadline therefore fires exactly
once however many nodes run.

    pending_until        pending → ended (prelaunch_timeout); machine let go
    max_deadline         any live state → ended (max_session)
    disconnect_deadline  disconnected → ended (disconnect_timeout)
    idle_deadline        active → disconnected or ended (idle), per the pool's idle_action;
                         without an idle_timeout, disconnected: no heartbeat came for
                         SILENT_LAUNCHER_TIMEOUT (lifecycle.py)

Floating machines whose session ended go to releasing; the node that ended
the session recycles them at once (domain/upkeep.py). If it died first,
`recycle_after` lapses and any node takes the recycle over.

Also handed to the upkeep, by whichever node moves the row's time forward
first: unreachable machines whose `probe_after` came (probed again), and
pools whose `upkeep_at` came (their upkeep on the hypervisor, every
`upkeep_interval`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from broker_stub import backends as be
from broker_stub import log
from broker_stub.clock import Clock, utcnow
from broker_stub.db.models import (
    DesktopSession,
    EndReason,
    IdleAction,
    Machine,
    MachineState,
    Pool,
    SessionState,
)
from broker_stub.domain import audit, idempotency, lifecycle
from broker_stub.domain.upkeep import Upkeep

BATCH = 100
_STOP_TIMEOUT_S = 10.0
DEFAULT_UPKEEP_INTERVAL = timedelta(seconds=15)


@dataclass(frozen=True)
class Deadline:
    column: InstrumentedAttribute[datetime | None]
    states: tuple[str, ...]
    reason: EndReason | None  # None: decided by the pool (idle)


DEADLINES = (
    Deadline(DesktopSession.pending_until, (SessionState.PENDING,), EndReason.PRELAUNCH_TIMEOUT),
    Deadline(
        DesktopSession.max_deadline,
        (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED),
        EndReason.MAX_SESSION,
    ),
    Deadline(
        DesktopSession.disconnect_deadline,
        (SessionState.DISCONNECTED,),
        EndReason.DISCONNECT_TIMEOUT,
    ),
    Deadline(DesktopSession.idle_deadline, (SessionState.ACTIVE,), None),
)


@dataclass
class Report:
    """What one run did: firings per deadline column, recycles done (those handed to
    the upkeep are counted when done, not here), spare shortfalls, work handed over."""

    fired: dict[str, int] = field(default_factory=dict)
    recycled: int = 0
    short_of_spares: dict[str, int] = field(default_factory=dict)
    keys_purged: int = 0
    probes: int = 0
    tended: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.fired.values())


class Scheduler:
    """Fires what is due; `run_once` for tests and callers with their own clock."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        upkeep: Upkeep,
        *,
        interval: timedelta,
        upkeep_interval: timedelta = DEFAULT_UPKEEP_INTERVAL,
        clock: Clock = utcnow,
    ) -> None:
        self._factory = session_factory
        self._upkeep = upkeep
        self._interval = interval.total_seconds()
        self._upkeep_interval = upkeep_interval
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Only for not repeating the same log line every run.
        self._last_shortfall: dict[str, int] = {}

    # The loop

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rubicon-scheduler", daemon=True)
        self._thread.start()
        log.scheduler.info("scheduler started; every %.3gs", self._interval)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=_STOP_TIMEOUT_S)
        if thread.is_alive():
            log.scheduler.warning("the scheduler did not stop within %ss", _STOP_TIMEOUT_S)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                # A database hiccup must not end the loop; the next run retries.
                log.scheduler.exception("scheduler run failed; retrying in %.3gs", self._interval)
            self._stop.wait(self._interval)

    # One run

    def run_once(self, now: datetime | None = None) -> Report:
        now = now or self._clock()
        report = Report()
        with self._factory() as db:
            for deadline in DEADLINES:
                report.fired[deadline.column.key] = self._fire_due(db, deadline, now, report)
            report.recycled += self._take_over_recycles(db, now)
            report.short_of_spares = self._check_spares(db)
            report.probes = self._probe_due(db, now)
            report.tended = self._tend_due(db, now)
            report.keys_purged = idempotency.purge(db, now)
        if report.total:
            log.scheduler.info("fired %s", {k: n for k, n in report.fired.items() if n})
        return report

    def _due(self, db: Session, deadline: Deadline, now: datetime) -> list[DesktopSession]:
        query = (
            select(DesktopSession)
            .where(deadline.column <= now, DesktopSession.state.in_(deadline.states))
            .order_by(deadline.column)
            .limit(BATCH)
            .execution_options(populate_existing=True)
        )
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=DesktopSession)
        return list(db.scalars(query))

    def _fire_due(self, db: Session, deadline: Deadline, now: datetime, report: Report) -> int:
        fired = 0
        while True:
            due = self._due(db, deadline, now)
            to_recycle: list[int] = []
            fired_now = 0
            for session in due:
                fired_one, recycle = self._fire(db, session, deadline, now)
                fired_now += fired_one
                if recycle is not None:
                    to_recycle.append(recycle)
            db.commit()
            fired += fired_now
            for machine_id in to_recycle:
                report.recycled += self._upkeep.recycle(db, machine_id) is True
            # Fewer than a batch, or nothing of it was ours: the rest is another node's.
            if len(due) < BATCH or fired_now == 0:
                return fired

    def _fire(
        self, db: Session, session: DesktopSession, deadline: Deadline, now: datetime
    ) -> tuple[bool, int | None]:
        """Fire one deadline: (False, None) if someone else changed the session
        first, else (True, the id of a machine to recycle or None)."""
        seen = getattr(session, deadline.column.key)
        if seen is None or seen > now:
            return False, None
        pool = db.get_one(Pool, session.pool_id)
        expect = (deadline.column, seen)
        reason = deadline.reason
        # A pool without idle_timeout: its launcher went silent; never an idle logoff.
        silent = pool.idle_timeout_s is None
        if reason is None and (pool.idle_action == IdleAction.DISCONNECT or silent):
            if not self._idle_disconnect(db, session, pool, now, expect):
                return False, None
            self._record(db, session, deadline, seen, "disconnected", now)
            return True, None
        reason = reason or EndReason.IDLE
        if not lifecycle.end_session(
            db, session, pool, reason, now, states=deadline.states, expect=expect
        ):
            return False, None
        self._record(db, session, deadline, seen, "ended", now, reason=reason)
        log.scheduler.info("session %s: ended (%s)", session.id, reason)
        return True, None if pool.dedicated else session.machine_id

    def _idle_disconnect(
        self,
        db: Session,
        session: DesktopSession,
        pool: Pool,
        now: datetime,
        expect: tuple[InstrumentedAttribute[datetime | None], datetime],
    ) -> bool:
        timeout = lifecycle.seconds(pool.disconnect_timeout_s)
        values: dict[str, Any] = {
            "state": SessionState.DISCONNECTED,
            "idle_deadline": None,
            "disconnect_deadline": now + timeout if timeout is not None else None,
        }
        if not lifecycle.change_session(
            db, session.id, (SessionState.ACTIVE,), values, expect=expect
        ):
            return False
        lifecycle.set_machine_state(
            db, session, MachineState.DISCONNECTED, (MachineState.IN_USE, MachineState.ASSIGNED)
        )
        why = "idle" if pool.idle_timeout_s is not None else "no heartbeat"
        log.scheduler.info("session %s: %s, disconnected", session.id, why)
        return True

    @staticmethod
    def _record(
        db: Session,
        session: DesktopSession,
        deadline: Deadline,
        due: datetime,
        outcome: str,
        now: datetime,
        *,
        reason: EndReason | None = None,
    ) -> None:
        detail: dict[str, Any] = {
            "deadline": deadline.column.key,
            "outcome": outcome,
            "pool": session.pool_id,
            "due": due.isoformat(),
        }
        if reason is not None:
            detail["reason"] = reason
        audit.record(
            db,
            actor=None,
            action=audit.DEADLINE,
            target=f"session:{session.id}",
            detail=detail,
            address=None,
            at=now,
        )

    def _take_over_recycles(self, db: Session, now: datetime) -> int:
        """Recycle machines whose releasing node gave no news within the lease."""
        query = (
            select(Machine.id, Machine.recycle_after)
            .where(Machine.state == MachineState.RELEASING, Machine.recycle_after <= now)
            .limit(BATCH)
        )
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        taken = []
        for machine_id, seen in db.execute(query).all():
            # Renew the lease: this node does it now, others keep off.
            if lifecycle.rows_changed(
                db,
                update(Machine)
                .where(
                    Machine.id == machine_id,
                    Machine.state == MachineState.RELEASING,
                    Machine.recycle_after == seen,
                )
                .values(recycle_after=now + lifecycle.RECYCLE_LEASE),
            ):
                taken.append(machine_id)
        db.commit()
        done = 0
        for machine_id in taken:
            log.scheduler.info("machine %s: taking over its recycle", machine_id)
            done += self._upkeep.recycle(db, machine_id) is True
        return done

    def _probe_due(self, db: Session, now: datetime) -> int:
        """Hand unreachable machines whose probe is due to the upkeep; how many."""
        query = (
            select(Machine.id, Machine.probe_after, Machine.probe_failures)
            .where(Machine.state == MachineState.UNREACHABLE, Machine.probe_after <= now)
            .order_by(Machine.probe_after)
            .limit(BATCH)
        )
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        taken = []
        for machine_id, seen, failures in db.execute(query).all():
            # Moved on as a lease: other nodes leave it alone meanwhile.
            if lifecycle.rows_changed(
                db,
                update(Machine)
                .where(Machine.id == machine_id, Machine.probe_after == seen)
                .values(probe_after=now + lifecycle.probe_delay(failures + 1)),
            ):
                taken.append(machine_id)
        db.commit()
        for machine_id in taken:
            self._upkeep.probe(machine_id)
        return len(taken)

    def _tend_due(self, db: Session, now: datetime) -> list[str]:
        """Hand pools whose upkeep is due to the upkeep; their ids."""
        due = db.execute(
            select(Pool.id, Pool.upkeep_at, Pool.backend).where(
                or_(Pool.upkeep_at.is_(None), Pool.upkeep_at <= now)
            )
        ).all()
        taken = []
        for pool_id, seen, options in due:
            if not _tended(options):
                continue
            at = Pool.upkeep_at.is_(None) if seen is None else Pool.upkeep_at == seen
            if lifecycle.rows_changed(
                db,
                update(Pool)
                .where(Pool.id == pool_id, at)
                .values(upkeep_at=now + self._upkeep_interval),
            ):
                taken.append(pool_id)
        db.commit()
        for pool_id in taken:
            self._upkeep.tend(pool_id)
        return taken

    def _check_spares(self, db: Session) -> dict[str, int]:
        """Pools of fixed machines with fewer free ones than their spares (clone pools
        make their own; see upkeep)."""
        ready = dict(
            db.execute(
                select(Machine.pool_id, func.count())
                .where(Machine.state == MachineState.READY, Machine.assigned_user_id.is_(None))
                .group_by(Machine.pool_id)
            ).all()
        )
        short: dict[str, int] = {}
        for pool in db.scalars(select(Pool).where(Pool.spares > 0)).all():
            have = ready.get(pool.id, 0)
            if have < pool.spares and not _tended(pool.backend):
                short[pool.id] = pool.spares - have
        db.rollback()
        for pool_id, missing in short.items():
            if self._last_shortfall.get(pool_id) != missing:
                log.scheduler.warning(
                    "pool %s has %s fewer ready machines than its spares; "
                    "add machines or free some",
                    pool_id,
                    missing,
                )
        self._last_shortfall = short
        return short


def _tended(options: dict[str, Any]) -> bool:
    """True if the pool's backend finds its own machines (and so has upkeep to do)."""
    try:
        return be.find_kind(str(options.get("type", "static"))).discovers
    except be.UnknownKind:
        return False
