"""Administration and observability

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Adds the user's role: "user" (every existing account) or "admin".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch: SQLite adds a CHECK constraint only by copying the table.
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("role", sa.String(16), nullable=False, server_default=sa.text("'user'"))
        )
        batch.create_check_constraint(op.f("ck_users_role"), "role IN ('user', 'admin')")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.drop_column("role")
