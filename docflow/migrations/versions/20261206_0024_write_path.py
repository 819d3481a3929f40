"""Writes that do not queue: whatever the audit chain and the outbox need

The events of the document flow are written with their fan-out still to do
(``events.fanout``); the relay makes their notifications and outbox messages
and clears it. A partial index finds the few that wait.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


PENDING = sa.text("fanout IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fanout", sa.JSON(none_as_null=True), nullable=True)
        )
    op.create_index(
        "ix_events_fanout_pending",
        "events",
        ["id"],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_events_fanout_pending", table_name="events")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("fanout")
