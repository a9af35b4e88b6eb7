"""Incidents of the worker's own work: a scheduled start that failed has no case yet, so
incidents.instance_id may be empty and incidents.process_key says which process it is about.

Revision ID: 0006_worker_incidents
Revises: 0005_incident_reason
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_worker_incidents"
down_revision = "0005_incident_reason"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("process_key", sa.String(120), nullable=True))
        batch.alter_column("instance_id", existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE incidents SET process_key = (SELECT process_key FROM process_instances "
               "WHERE process_instances.id = incidents.instance_id)")


def downgrade() -> None:
    op.execute("DELETE FROM incidents WHERE instance_id IS NULL")
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("instance_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("process_key")
