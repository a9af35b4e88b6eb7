"""Sign-in security: the login_events table (sign-in log read by auditors and by the lockout rule).

Revision ID: 0002_login_security
Revises: 0001_baseline
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_login_security"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_events_username_at", "login_events", ["username", "at"], unique=False)
    op.create_index("ix_login_events_ip_at", "login_events", ["ip", "at"], unique=False)
    op.create_index("ix_login_events_at", "login_events", ["at", "id"], unique=False)
    op.create_index("ix_login_events_outcome_at", "login_events", ["outcome", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_events_outcome_at", table_name="login_events")
    op.drop_index("ix_login_events_at", table_name="login_events")
    op.drop_index("ix_login_events_ip_at", table_name="login_events")
    op.drop_index("ix_login_events_username_at", table_name="login_events")
    op.drop_table("login_events")
