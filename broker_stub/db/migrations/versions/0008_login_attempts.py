"""Sign-in attempts reserved before their password is checked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

A sign-in now adds its login_failures rows before the password is checked,
marked `pending`, and only if the account and address are under their
limits counting those in progress; the rows become failures, or go, when the
check ends. Concurrent guesses therefore cannot all be checked before the
first failure is counted. Rows from before are failures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # A check under way counted as a failure before: keep its row as one.
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("pending")
