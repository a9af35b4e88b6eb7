"""Sessions end on the server: users.session_generation, kept in the session cookie at sign-in and checked
on every request, is raised by signing out, a password change and a deactivation.

Revision ID: 0004_session_generation
Revises: 0003_sla_source
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_session_generation"
down_revision = "0003_sla_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
