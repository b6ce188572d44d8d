"""Who makes an administrator's change, so every change lands in the audit log.

The admin API passes the signed-in admin and the client's address; the
command line passes "cli:<login name>" and no address. Both reach the same
domain functions (accounts, inventory, admin_sessions), which record the
change in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from broker_stub.clock import Clock, utcnow
from broker_stub.domain import audit


@dataclass(frozen=True)
class Admin:
    name: str
    address: str | None = None
    clock: Clock = utcnow

    @classmethod
    def cli(cls, login: str) -> Admin:
        return cls(name=f"cli:{login}")

    def record(
        self, db: Session, action: str, target: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Add the audit event to `db`'s transaction; the caller commits."""
        audit.record(
            db,
            actor=self.name,
            action=action,
            target=target,
            detail=detail,
            address=self.address,
            at=self.clock(),
        )
