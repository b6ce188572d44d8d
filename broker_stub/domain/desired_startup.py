"""What `serve` does with its pools file when it starts.

The file fills a new database: when the database has no pool yet, start-up
adds the file's pools, machines and entitlements (domain.pools.sync_pools, as
`apply` does). Once there are pools, start-up changes none of them: admins
change pools with the admin API, the CLI and `apply`, and a restart, an
upgrade or one more node must not undo that. Start-up compares the file with
the database instead and logs each difference, with the command that applies
the file.

The check and the fill run under the lock the migrations take
(db.migrate.lock): of several nodes that start together on a new database,
one fills it and the others wait, then find it filled.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from broker_stub import log
from broker_stub.config import BrokerConfig
from broker_stub.db import migrate
from broker_stub.db.models import Pool
from broker_stub.domain.desired import drift
from broker_stub.domain.pools import sync_pools

# A log line lists this many differences at most; `apply --dry-run` lists them all.
MAX_LISTED = 20


def apply_pools_file(engine: Engine, path: Path, config: BrokerConfig) -> None:
    """Fill a database that has no pools from `config`, or log how it differs."""
    if "pools" not in config.model_fields_set:
        # As with `apply`: a file without [[pools]] says nothing about them.
        log.config.warning(
            "pools file %s has no [[pools]]; pools in the database stay as they are", path
        )
        return
    with Session(engine) as db:
        migrate.lock(db.connection())
        if db.scalar(select(Pool.id).limit(1)) is None:
            sync_pools(db, config)
            db.commit()
            log.config.info(
                "pools file %s: %s; the database had no pools, so start-up added them",
                path,
                _contents(config),
            )
            return
        # Comparing reads only: let the next node in.
        db.rollback()
        plan = drift(db, config)
    if not plan.changes:
        log.config.info(
            "pools file %s: %s; the database matches it, nothing changed", path, _contents(config)
        )
    else:
        log.config.warning(
            "pools file %s: %s; the database differs from it in %s: %s. Start-up fills "
            "only a database without pools, so what the admin API, the CLI or `apply` "
            "changed stays. To make the database match the file, run: "
            "rubicon-broker apply %s (with --dry-run first to see the plan)",
            path,
            _contents(config),
            _count(len(plan.changes), "place"),
            _listed(plan.changes),
            path,
        )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _contents(config: BrokerConfig) -> str:
    """ "2 pools, 5 machines, 3 entitlements" """
    machines = sum(len(p.machines) for p in config.pools)
    entitlements = sum(len(p.users) + len(p.groups) for p in config.pools)
    return ", ".join(
        (
            _count(len(config.pools), "pool"),
            _count(machines, "machine"),
            _count(entitlements, "entitlement"),
        )
    )


def _listed(changes: list[str]) -> str:
    shown = "; ".join(changes[:MAX_LISTED])
    more = len(changes) - MAX_LISTED
    return shown if more <= 0 else f"{shown}; and {more} more"
