"""Who sets a limit: sla_records.source and human_tasks.limit_source (procedure / company), so the inbox,
the SLA records and the reports tell a limit the procedure states from a company rule.

Revision ID: 0003_sla_source
Revises: 0002_login_security
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sla_source"
down_revision = "0002_login_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sla_records") as batch:
        batch.add_column(sa.Column("source", sa.String(length=12), nullable=True))
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("limit_source", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("limit_source")
    with op.batch_alter_table("sla_records") as batch:
        batch.drop_column("source")
