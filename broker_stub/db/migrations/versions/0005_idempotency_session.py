"""Idempotency keys keep the session, not the answer

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

A launch's Idempotency-Key kept the whole first answer, console password
included: a second copy of a secret. It now keeps the session the launch gave
and a fingerprint of the request; a retry rebuilds the connection from the
session and machine rows. Keys stored before the upgrade are dropped with
their passwords (they live a day at most): a retry with one runs the launch
again, which reconnects to the user's live session.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("status")
        batch.drop_column("response")
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=False))
        batch.add_column(sa.Column("session_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # The old rows would need the answers this revision never kept.
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("session_id")
        batch.drop_column("fingerprint")
        batch.add_column(sa.Column("status", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("response", sa.JSON(), nullable=True))
