"""Pools and sessions: dedicated and floating pools, timeouts, session lifecycle, deadlines

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Pools get their kind, protocols, timeouts, permissions and backend options;
machines the states of the lifecycle, per-protocol ports and a MAC address;
sessions the states pending/active/disconnected/ended, an end reason and the
deadline columns the scheduler fires. Launches remember their Idempotency-Key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
ACTIVE = sa.text("state = 'active'")
LIVE = sa.text("state != 'ended'")
MACHINE_STATES = (
    "state IN ('provisioning', 'ready', 'assigned', 'in_use', 'disconnected', "
    "'releasing', 'error', 'maintenance')"
)
SESSION_STATES = "state IN ('pending', 'active', 'disconnected', 'ended')"
DEADLINES = ("pending_until", "disconnect_deadline", "idle_deadline", "max_deadline")


def upgrade() -> None:
    _upgrade_pools()
    _upgrade_machines()
    _upgrade_sessions()
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])


def _upgrade_pools() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.alter_column(
            "protocol", new_column_name="default_protocol", existing_type=sa.String(16)
        )
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="floating")
        )
        batch.add_column(sa.Column("protocols", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("disconnect_timeout_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("idle_timeout_s", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("idle_action", sa.String(16), nullable=False, server_default="disconnect")
        )
        batch.add_column(sa.Column("max_session_s", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "prelaunch_timeout_s", sa.Integer(), nullable=False, server_default=sa.text("120")
            )
        )
        for flag in ("allow_reset", "allow_restart", "sso"):
            batch.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch.add_column(
            sa.Column("spares", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("backend", sa.JSON(), nullable=True))

    # Every pool so far offered one protocol on fixed hosts.
    pools = sa.table(
        "pools",
        sa.column("id", sa.String(64)),
        sa.column("default_protocol", sa.String(16)),
        sa.column("protocols", sa.JSON()),
        sa.column("backend", sa.JSON()),
    )
    conn = op.get_bind()
    for pool_id, protocol in conn.execute(sa.select(pools.c.id, pools.c.default_protocol)).all():
        conn.execute(
            sa.update(pools)
            .where(pools.c.id == pool_id)
            .values(protocols=[protocol], backend={"type": "static"})
        )
    with op.batch_alter_table("pools") as batch:
        batch.alter_column("protocols", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("backend", existing_type=sa.JSON(), nullable=False)


def _upgrade_machines() -> None:
    with op.batch_alter_table("machines") as batch:
        for column in ("vnc_port", "rdp_port", "spice_port", "spice_tls_port"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(17), nullable=True))
        batch.add_column(sa.Column("woken_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("recycle_after", Timestamp, nullable=True))
        batch.drop_constraint(op.f("ck_machines_state"), type_="check")
        batch.create_check_constraint(op.f("ck_machines_state"), sa.text(MACHINE_STATES))
        batch.create_unique_constraint(
            op.f("uq_machines_pool_id_assigned_user_id"), ["pool_id", "assigned_user_id"]
        )
    # The only protocol so far was VNC, on `port`.
    machines = sa.table(
        "machines", sa.column("port", sa.Integer()), sa.column("vnc_port", sa.Integer())
    )
    op.execute(sa.update(machines).values(vnc_port=machines.c.port))


def _upgrade_sessions() -> None:
    op.drop_index("uq_sessions_active_user_pool", table_name="sessions")
    op.drop_index("uq_sessions_active_machine", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("end_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("last_heartbeat_at", Timestamp, nullable=True))
        for column in DEADLINES:
            batch.add_column(sa.Column(column, Timestamp, nullable=True))
        batch.drop_constraint(op.f("ck_sessions_state"), type_="check")
        batch.create_check_constraint(op.f("ck_sessions_state"), sa.text(SESSION_STATES))
    for column in DEADLINES:
        op.create_index(op.f(f"ix_sessions_{column}"), "sessions", [column])
    # At most one live session per user and pool, and per machine.
    op.create_index(
        "uq_sessions_live_user_pool",
        "sessions",
        ["user_id", "pool_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index(
        "uq_sessions_live_machine",
        "sessions",
        ["machine_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")

    # Sessions: the old schema knew active and ended only.
    op.drop_index("uq_sessions_live_user_pool", table_name="sessions")
    op.drop_index("uq_sessions_live_machine", table_name="sessions")
    for column in DEADLINES:
        op.drop_index(op.f(f"ix_sessions_{column}"), table_name="sessions")
    sessions = sa.table("sessions", sa.column("state", sa.String(16)))
    op.execute(
        sa.update(sessions)
        .where(sessions.c.state.in_(["pending", "disconnected"]))
        .values(state="active")
    )
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(op.f("ck_sessions_state"), type_="check")
        batch.create_check_constraint(
            op.f("ck_sessions_state"), sa.text("state IN ('active', 'ended')")
        )
        for column in ("end_reason", "last_heartbeat_at", *DEADLINES):
            batch.drop_column(column)
    op.create_index(
        "uq_sessions_active_user_pool",
        "sessions",
        ["user_id", "pool_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "uq_sessions_active_machine",
        "sessions",
        ["machine_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    # Machines: held ones were in_use, everything else ready; a dedicated
    # owner without a session lets go.
    machines = sa.table(
        "machines",
        sa.column("state", sa.String(16)),
        sa.column("assigned_user_id", sa.Integer()),
    )
    held = ["assigned", "in_use", "disconnected"]
    op.execute(
        sa.update(machines)
        .where(machines.c.state.in_(held), machines.c.assigned_user_id.is_not(None))
        .values(state="in_use")
    )
    op.execute(
        sa.update(machines)
        .where(sa.or_(machines.c.state.not_in(held), machines.c.assigned_user_id.is_(None)))
        .values(state="ready", assigned_user_id=None)
    )
    with op.batch_alter_table("machines") as batch:
        batch.drop_constraint(op.f("uq_machines_pool_id_assigned_user_id"), type_="unique")
        batch.drop_constraint(op.f("ck_machines_state"), type_="check")
        batch.create_check_constraint(
            op.f("ck_machines_state"), sa.text("state IN ('ready', 'in_use')")
        )
        for column in (
            "vnc_port",
            "rdp_port",
            "spice_port",
            "spice_tls_port",
            "mac",
            "woken_at",
            "recycle_after",
        ):
            batch.drop_column(column)

    with op.batch_alter_table("pools") as batch:
        for column in (
            "kind",
            "protocols",
            "disconnect_timeout_s",
            "idle_timeout_s",
            "idle_action",
            "max_session_s",
            "prelaunch_timeout_s",
            "allow_reset",
            "allow_restart",
            "sso",
            "spares",
            "backend",
        ):
            batch.drop_column(column)
        batch.alter_column(
            "default_protocol", new_column_name="protocol", existing_type=sa.String(16)
        )
