"""Hypervisor backends: machine origin and health, pool recycle, power and upkeep

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Machines may now be found on a hypervisor or made by the broker (`origin`),
may be `unreachable` (their console did not answer; probed again at
`probe_after`), and remember their last `problem`. Pools say how machines are
recycled, how long a power-on may take, when idle spares power off, whether
consoles are probed, whether their backend is degraded, and when a node next
looks after them on the hypervisor (`upkeep_at`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
STATES_BEFORE = (
    "state IN ('provisioning', 'ready', 'assigned', 'in_use', 'disconnected', "
    "'releasing', 'error', 'maintenance')"
)
STATES = (
    "state IN ('provisioning', 'ready', 'assigned', 'in_use', 'disconnected', "
    "'releasing', 'error', 'unreachable', 'maintenance')"
)
UNREACHABLE = "state = 'unreachable'"


def upgrade() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.add_column(sa.Column("recycle", sa.String(16), server_default="none", nullable=False))
        batch.add_column(
            sa.Column(
                "power_on_timeout_s", sa.Integer(), server_default=sa.text("180"), nullable=False
            )
        )
        batch.add_column(sa.Column("idle_power_off_s", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("health_check", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(sa.Column("degraded_since", Timestamp, nullable=True))
        batch.add_column(sa.Column("degraded_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("upkeep_at", Timestamp, nullable=True))
    with op.batch_alter_table("machines") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(16), server_default="config", nullable=False)
        )
        batch.add_column(sa.Column("probe_after", Timestamp, nullable=True))
        batch.add_column(
            sa.Column("probe_failures", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("idle_since", Timestamp, nullable=True))
        batch.add_column(sa.Column("problem", sa.String(500), nullable=True))
        batch.drop_constraint(op.f("ck_machines_state"), type_="check")
        batch.create_check_constraint(op.f("ck_machines_state"), sa.text(STATES))
    op.create_index(
        "ix_machines_unreachable",
        "machines",
        ["probe_after"],
        sqlite_where=sa.text(UNREACHABLE),
        postgresql_where=sa.text(UNREACHABLE),
    )


def downgrade() -> None:
    op.drop_index("ix_machines_unreachable", table_name="machines")
    # Unreachable machines had no such state before: they were in error.
    machines = sa.table("machines", sa.column("state", sa.String(16)))
    op.execute(sa.update(machines).where(machines.c.state == "unreachable").values(state="error"))
    with op.batch_alter_table("machines") as batch:
        batch.drop_constraint(op.f("ck_machines_state"), type_="check")
        batch.create_check_constraint(op.f("ck_machines_state"), sa.text(STATES_BEFORE))
        for column in ("problem", "idle_since", "probe_failures", "probe_after", "origin"):
            batch.drop_column(column)
    with op.batch_alter_table("pools") as batch:
        for column in (
            "upkeep_at",
            "degraded_reason",
            "degraded_since",
            "health_check",
            "idle_power_off_s",
            "power_on_timeout_s",
            "recycle",
        ):
            batch.drop_column(column)
