"""Slow work on machines, on threads of its own: recycles, health probes, and
each pool's upkeep on its hypervisor.

The scheduler finds what is due and hands it here; requests hand over the
recycles that need a backend. Each job opens its own database session and
commits its own changes; jobs run by key (domain/jobs.py), so one machine's
or pool's job is never queued twice nor run twice at once. All state stays
in the database, so a job another node started and never finished is taken
over there (leases in `recycle_after`, `probe_after`, `upkeep_at`).

A pool's upkeep runs on one node at a time (the node that moved the pool's
`upkeep_at` forward) and only for backends that find their own machines:

- a degraded backend is checked first, and nothing else is done until it answers;
- the pool's rows follow the hypervisor: machines that appeared are added,
  machines that vanished are removed (kept in error while a session is on
  one), each change audited;
- clone pools: machines are made until `spares` are free, up to the clone
  limit; a pool above its limit (lowered by the admin) loses free machines,
  highest numbers first; a `provisioning` row whose node died is cleaned up;
- the first `spares` free machines (in the order launches take them) are
  powered on; free machines beyond them are shut down once they have been
  idle for the pool's `idle_power_off`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from broker_stub import backends as be
from broker_stub import log
from broker_stub.clock import Clock, utcnow
from broker_stub.db.models import (
    LIVE_SESSION_STATES,
    DesktopSession,
    Machine,
    MachineOrigin,
    MachineState,
    Pool,
)
from broker_stub.domain import audit, clones, lifecycle
from broker_stub.domain.jobs import Jobs

WORKERS = 4
_STOP_TIMEOUT_S = 10.0
# Machines being made, rebuilt or deleted: their domain may be missing for a moment.
_UNDER_WAY = (MachineState.PROVISIONING, MachineState.RELEASING)


class Upkeep:
    """The node's threads for slow machine work; see the module docstring."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        backends: be.Backends,
        *,
        clock: Clock = utcnow,
        workers: int = WORKERS,
    ) -> None:
        self._factory = session_factory
        self.backends = backends
        self._clock = clock
        self._jobs = Jobs(workers=workers, name="rubicon-upkeep")
        # Only for not repeating the same log line every run.
        self._last_problem: dict[str, str] = {}

    # Handing work over

    def recycle(self, db: Session, machine_id: int) -> bool | None:
        """Recycle a releasing machine: at once if its pool's recycle is "none" (True if
        it is ready now), else in the background (None). Commits the caller's work."""
        db.commit()
        machine = db.get(Machine, machine_id)
        pool = None if machine is None else db.get(Pool, machine.pool_id)
        if pool is None or lifecycle.recycle_mode(pool) == be.RecycleMode.NONE:
            return lifecycle.recycle(db, self.backends, machine_id)
        db.commit()
        self._jobs.submit(("recycle", machine_id), self._recycle, machine_id)
        return None

    def probe(self, machine_id: int) -> None:
        """Probe an unreachable machine; back in service if it answers."""
        self._jobs.submit(("probe", machine_id), self._probe, machine_id)

    def tend(self, pool_id: str) -> None:
        """Run the pool's upkeep on its hypervisor."""
        self._jobs.submit(("tend", pool_id), self._tend, pool_id)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until the work handed over so far, and what it queued again, is done."""
        self._jobs.wait(timeout)

    def close(self) -> None:
        self._jobs.close()

    # Jobs

    def _recycle(self, machine_id: int) -> None:
        with self._factory() as db:
            lifecycle.recycle(db, self.backends, machine_id)

    def _probe(self, machine_id: int) -> None:
        now = self._clock()
        with self._factory() as db:
            machine = db.get(Machine, machine_id)
            if machine is None or machine.state != MachineState.UNREACHABLE:
                return
            pool = db.get_one(Pool, machine.pool_id)
            ref = lifecycle.machine_ref(machine)
            failures = machine.probe_failures
            backend = self.backends.for_pool(pool.id, pool.backend)
            protocol = pool.default_protocol
            db.commit()
            problem = _probe(backend, ref, protocol)
            if problem is None and lifecycle.back_in_service(db, machine_id):
                audit.record(
                    db,
                    actor=None,
                    action=audit.MACHINE_RECOVERED,
                    target=f"machine:{pool.id}/{ref.name}",
                    detail={"failed_probes": failures},
                    address=None,
                    at=now,
                )
                db.commit()
                log.backend.info("pool %s: machine %s answers again", pool.id, ref.name)
                return
            db.execute(
                update(Machine)
                .where(Machine.id == machine_id, Machine.state == MachineState.UNREACHABLE)
                .values(
                    probe_failures=failures + 1,
                    probe_after=now + lifecycle.probe_delay(failures + 1),
                    problem=(problem or "it answered but could not be put back")[:500],
                )
            )
            db.commit()

    def _tend(self, pool_id: str) -> None:
        now = self._clock()
        with self._factory() as db:
            pool = db.get(Pool, pool_id)
            if pool is None or not be.find_kind(str(pool.backend.get("type"))).discovers:
                return
            backend = self.backends.for_pool(pool.id, pool.backend)
            limit = clones.clone_limit(pool)
            # Read before the hypervisor is asked: only these rows can have vanished. A
            # clone made meanwhile (by a launch, another node) is missing from `found`.
            settled = set(
                db.scalars(
                    select(Machine.id).where(
                        Machine.pool_id == pool.id, Machine.state.not_in(_UNDER_WAY)
                    )
                )
            )
            db.commit()
            try:
                if backend.degraded is not None:
                    backend.check()
                found = backend.discover()
            except be.BackendError as exc:
                self._say(pool_id, f"cannot look after its machines: {exc}")
                return
            self._follow(db, pool, found, now, provisioned=limit is not None, settled=settled)
            if limit is not None:
                self._clean_up_provisioning(db, backend, pool, now)
                self._shrink(db, backend, pool, limit, now)
                self._fill(db, backend, pool, limit, now)
            self._power(db, backend, pool, found, now)

    # A pool's upkeep

    def _follow(
        self,
        db: Session,
        pool: Pool,
        found: Mapping[str, be.PowerState],
        now: datetime,
        *,
        provisioned: bool,
        settled: set[int],
    ) -> None:
        """Rows for the machines the hypervisor has; none for those it no longer has."""
        rows = {m.name: m for m in db.scalars(select(Machine).where(Machine.pool_id == pool.id))}
        origin = MachineOrigin.PROVISIONED if provisioned else MachineOrigin.DISCOVERED
        new = sorted(set(found) - set(rows))
        for name in new:
            db.add(_new_row(pool, name, origin))
            _record(db, audit.MACHINE_FOUND, pool, name, now, {"power": str(found[name])})
        try:
            db.commit()
        except IntegrityError:
            db.rollback()  # another node added them first; the next upkeep looks again
            return
        for name in new:
            log.backend.info("pool %s: found machine %s on the hypervisor", pool.id, name)
        for name, machine in rows.items():
            gone = name not in found and machine.origin != MachineOrigin.CONFIG
            if not gone or machine.id not in settled or machine.state in _UNDER_WAY:
                continue
            if db.scalar(select(_live_session(machine.id))):
                if machine.state != MachineState.ERROR:
                    machine.state = MachineState.ERROR
                    machine.problem = "it is gone from the hypervisor"
                    log.backend.warning(
                        "pool %s: machine %s is gone from the hypervisor while a session "
                        "is on it; it stays in error until that session ends",
                        pool.id,
                        name,
                    )
                continue
            db.execute(delete(Machine).where(Machine.id == machine.id))
            _record(db, audit.MACHINE_VANISHED, pool, name, now, {"state": machine.state})
            log.backend.info("pool %s: machine %s is gone from the hypervisor", pool.id, name)
        db.commit()

    def _clean_up_provisioning(
        self, db: Session, backend: be.Calls, pool: Pool, now: datetime
    ) -> None:
        """Rows left `provisioning` by a node that died: delete what it may have made.

        A row a launch reserved for its user, whose session still waits, is the
        launch's: the launcher's next try makes it (domain/connect.py).
        """
        stale = db.scalars(
            select(Machine).where(
                Machine.pool_id == pool.id,
                Machine.state == MachineState.PROVISIONING,
                Machine.recycle_after <= now,
                ~_live_session(Machine.id),
            )
        ).all()
        refs = [(m.id, lifecycle.machine_ref(m)) for m in stale]
        db.commit()
        for machine_id, ref in refs:
            if not self._destroy(backend, pool, ref, "the half-made"):
                continue
            db.execute(
                delete(Machine).where(
                    Machine.id == machine_id, Machine.state == MachineState.PROVISIONING
                )
            )
            db.commit()
            log.backend.info("pool %s: deleted %s, left half-made", pool.id, ref.name)

    def _shrink(
        self, db: Session, backend: be.Calls, pool: Pool, limit: int, now: datetime
    ) -> None:
        """Delete free machines the broker made beyond the pool's limit, highest first."""
        made = db.scalars(
            select(Machine)
            .where(Machine.pool_id == pool.id, Machine.origin == MachineOrigin.PROVISIONED)
            .order_by(Machine.name.desc())
        ).all()
        surplus = len(made) - limit
        free = [m for m in made if m.state == MachineState.READY and m.assigned_user_id is None]
        doomed = [(m.id, lifecycle.machine_ref(m)) for m in free[: max(0, surplus)]]
        db.commit()
        for machine_id, ref in doomed:
            # Out of the pool first, so no launch claims it while it is being deleted.
            taken = lifecycle.rows_changed(
                db,
                update(Machine)
                .where(
                    Machine.id == machine_id,
                    Machine.state == MachineState.READY,
                    Machine.assigned_user_id.is_(None),
                )
                .values(
                    state=MachineState.PROVISIONING, recycle_after=now + clones.PROVISION_LEASE
                ),
            )
            db.commit()
            if not taken or not self._destroy(backend, pool, ref):
                continue
            db.execute(delete(Machine).where(Machine.id == machine_id))
            _record(db, audit.MACHINE_DESTROYED, pool, ref.name, now, {"why": "above the limit"})
            db.commit()
            log.backend.info(
                "pool %s: deleted %s (above its limit of %s)", pool.id, ref.name, limit
            )

    def _destroy(self, backend: be.Calls, pool: Pool, ref: be.MachineRef, what: str = "") -> bool:
        """Delete a machine the broker made; True if it is gone (or was already)."""
        try:
            backend.destroy(ref)
        except be.MachineMissing:
            return True
        except be.BackendError as exc:
            machine = f"{what} {ref.name}" if what else ref.name
            self._say(pool.id, f"cannot delete {machine}: {exc}")
            return False
        return True

    def _fill(self, db: Session, backend: be.Calls, pool: Pool, limit: int, now: datetime) -> None:
        """Make machines until `spares` are free (or being made), up to the limit."""
        free = db.scalar(
            select(func.count(Machine.id)).where(
                Machine.pool_id == pool.id,
                Machine.state.in_((MachineState.READY, MachineState.PROVISIONING)),
                Machine.assigned_user_id.is_(None),
            )
        )
        for _ in range(pool.spares - (free or 0)):
            try:
                machine = clones.reserve(db, pool, limit, now, spares=pool.spares)
                db.commit()
            except IntegrityError:
                db.rollback()  # a launch took that name first; the next upkeep goes on
                return
            if machine is None:
                return
            machine_id, name = machine.id, machine.name
            try:
                clones.make(db, self.backends, pool, machine_id, name)
            except be.BackendError as exc:
                self._say(pool.id, f"cannot make {name}: {exc}")
                return
            if clones.finish(db, machine_id, to=MachineState.READY):
                _record(db, audit.MACHINE_PROVISIONED, pool, name, now, {"for": "spares"})
            db.commit()

    def _power(
        self,
        db: Session,
        backend: be.Calls,
        pool: Pool,
        found: Mapping[str, be.PowerState],
        now: datetime,
    ) -> None:
        """Spares on; free machines beyond them off once idle for idle_power_off."""
        free = db.scalars(
            select(Machine)
            .where(
                Machine.pool_id == pool.id,
                Machine.state == MachineState.READY,
                Machine.assigned_user_id.is_(None),
            )
            .order_by(Machine.name, Machine.id)
        ).all()
        idle_off = lifecycle.seconds(pool.idle_power_off_s)
        to_start: list[be.MachineRef] = []
        to_stop: list[tuple[int, be.MachineRef]] = []
        for position, machine in enumerate(free):
            # Made just now by _fill: not in `found`, and powered off.
            power = found.get(machine.name, be.PowerState.STOPPED)
            running = power == be.PowerState.RUNNING
            if position < pool.spares:
                if not running:
                    to_start.append(lifecycle.machine_ref(machine))
                machine.idle_since = None
            elif not running or idle_off is None:
                machine.idle_since = None
            elif machine.idle_since is None:
                machine.idle_since = now
            elif machine.idle_since + idle_off <= now:
                to_stop.append((machine.id, lifecycle.machine_ref(machine)))
        protocol = pool.default_protocol
        db.commit()
        for ref in to_start:
            try:
                backend.power_on(ref, protocol)
            except be.BackendError as exc:
                self._say(pool.id, f"cannot power spare {ref.name} on: {exc}")
        for machine_id, ref in to_stop:
            self._power_off(db, backend, pool, machine_id, ref, now)

    def _power_off(
        self,
        db: Session,
        backend: be.Calls,
        pool: Pool,
        machine_id: int,
        ref: be.MachineRef,
        now: datetime,
    ) -> None:
        try:
            backend.power_off(ref)
        except be.BackendError as exc:
            self._say(pool.id, f"cannot power {ref.name} off: {exc}")
            return
        db.execute(update(Machine).where(Machine.id == machine_id).values(idle_since=None))
        _record(db, audit.MACHINE_POWER_OFF, pool, ref.name, now, {"why": "idle"})
        db.commit()
        log.backend.info("pool %s: powered idle machine %s off", pool.id, ref.name)

    def _say(self, pool_id: str, problem: str) -> None:
        """Log a pool's upkeep problem once, not at every run."""
        if self._last_problem.get(pool_id) != problem:
            self._last_problem[pool_id] = problem
            log.backend.error("pool %s: %s", pool_id, problem)


def _probe(backend: be.Calls, ref: be.MachineRef, protocol: str) -> str | None:
    """None if the machine is fine (answers, or is simply off); else what is wrong."""
    try:
        if backend.power_state(ref) in (be.PowerState.STOPPED, be.PowerState.SUSPENDED):
            return None  # off is not broken: a launch powers it on
        console = backend.console(ref, protocol)
    except be.BackendError as exc:
        return str(exc)
    host, port = console.probe_address
    if be.answers(host, port):
        return None
    return f"its console {host}:{port} did not answer"


def _new_row(pool: Pool, name: str, origin: MachineOrigin) -> Machine:
    # Console address and ports come from the backend at each launch.
    return Machine(
        pool_id=pool.id,
        name=name,
        host="",
        port=0,
        state=MachineState.READY,
        origin=origin,
        probe_failures=0,
    )


def _live_session(machine_id: int | InstrumentedAttribute[int]) -> Any:
    return exists().where(
        DesktopSession.machine_id == machine_id, DesktopSession.state.in_(LIVE_SESSION_STATES)
    )


def _record(
    db: Session, action: str, pool: Pool, name: str, now: datetime, detail: dict[str, Any]
) -> None:
    audit.record(
        db,
        actor=None,
        action=action,
        target=f"machine:{pool.id}/{name}",
        detail=detail,
        address=None,
        at=now,
    )
