"""Why a diagram's code failed: incidents.reason (the rule broken and its parameters), so the process owner
reads it in their language instead of Python's words.

Revision ID: 0005_incident_reason
Revises: 0004_session_generation
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_incident_reason"
down_revision = "0004_session_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("reason", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("reason")
