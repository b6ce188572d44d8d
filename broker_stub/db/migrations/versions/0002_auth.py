"""Sign-in security: LDAP users, TOTP, lockout, throttle, MFA tokens, TOTP pools

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

- users.password_hash may be NULL: LDAP users have no password here.
- users.totp_secret and users.totp_last_step: TOTP enrolment, and the step of
  the last code used so no code works twice.
- memberships.from_ldap: memberships read from the directory at sign-in.
- pools.require_totp and tokens.mfa: pools only a token issued with a TOTP code
  may launch.
- login_failures and login_blocks: lockout and per-address throttle, in the
  database so every broker node sees the same counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # SQLite cannot drop NOT NULL in place: batch mode rebuilds the table
    # (broker_stub.db.migrate turns foreign keys off around it).
    with op.batch_alter_table("users") as batch:
        batch.alter_column("password_hash", existing_type=sa.String(255), nullable=True)
        batch.add_column(sa.Column("totp_secret", sa.String(255), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(
            sa.Column("from_ldap", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("pools") as batch:
        batch.add_column(
            sa.Column("require_totp", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("mfa", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_scope_key_at", "login_failures", ["scope", "key", "at"])
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"])
    op.create_table(
        "login_blocks",
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("until", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_blocks")),
    )


def downgrade() -> None:
    op.drop_table("login_blocks")
    op.drop_table("login_failures")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("mfa")
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("require_totp")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("from_ldap")
    # An empty hash verifies no password: LDAP users stay, unable to sign in.
    op.execute("UPDATE users SET password_hash = '' WHERE password_hash IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
        batch.alter_column("password_hash", existing_type=sa.String(255), nullable=False)
