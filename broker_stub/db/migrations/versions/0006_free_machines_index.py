"""An index of each pool's free machines

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

A launch claims the first free machine of its pool by name. Without this
partial index the database walked the pool's name index past every machine
already taken: at 30,000 sessions, thousands of rows for each claim.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As in broker_stub.db.models.FREE_MACHINE, written out: a migration must not
# change when the models do.
FREE = "state = 'ready' AND assigned_user_id IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_machines_free",
        "machines",
        ["pool_id", "name", "id"],
        sqlite_where=sa.text(FREE),
        postgresql_where=sa.text(FREE),
    )


def downgrade() -> None:
    op.drop_index("ix_machines_free", table_name="machines")
