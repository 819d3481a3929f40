"""ППП: requests for planned hourly consumption per contract and day, their
submitted versions, and the reminders sent for a day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["users.id"],
        name=op.f(f"fk_{table}_{column}_users"),
        ondelete="SET NULL",
    )


def upgrade() -> None:
    op.create_table(
        "planned_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_planned_requests_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        _user_fk("planned_requests", "updated_by_id"),
        _user_fk("planned_requests", "submitted_by_id"),
        _user_fk("planned_requests", "accepted_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_requests")),
        sa.UniqueConstraint(
            "contract_id", "day", name=op.f("uq_planned_requests_contract_id")
        ),
    )
    with op.batch_alter_table("planned_requests") as batch:
        batch.create_index("ix_planned_requests_day_status", ["day", "status"])
    op.create_table(
        "planned_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["planned_requests.id"],
            name=op.f("fk_planned_versions_request_id_planned_requests"),
            ondelete="CASCADE",
        ),
        _user_fk("planned_versions", "submitted_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_versions")),
        sa.UniqueConstraint(
            "request_id", "version", name=op.f("uq_planned_versions_request_id")
        ),
    )
    with op.batch_alter_table("planned_versions") as batch:
        batch.create_index(batch.f("ix_planned_versions_request_id"), ["request_id"])
    op.create_table(
        "planned_reminders",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_planned_reminders_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "contract_id", "day", name=op.f("pk_planned_reminders")
        ),
    )


def downgrade() -> None:
    op.drop_table("planned_reminders")
    op.drop_table("planned_versions")
    op.drop_table("planned_requests")
