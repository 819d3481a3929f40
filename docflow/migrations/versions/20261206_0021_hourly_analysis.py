"""Consumption analysis: the supplier's month peak hours and control measurements

The plan peak hours (one row per day and hour), the dates the supplier set
for the June and December control measurements, and the customers' control
measurements with the 24 values of each meter.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def _set_by(table: str, column: str = "set_by_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["users.id"],
        name=op.f(f"fk_{table}_{column}_users"),
        ondelete="SET NULL",
    )


def _created() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "hourly_peak_hours",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("set_by_id", sa.Uuid(), nullable=True),
        _created(),
        _set_by("hourly_peak_hours"),
        sa.PrimaryKeyConstraint("day", "hour", name=op.f("pk_hourly_peak_hours")),
    )
    op.create_table(
        "hourly_control_days",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("set_by_id", sa.Uuid(), nullable=True),
        _created(),
        _set_by("hourly_control_days"),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_hourly_control_days")),
    )
    op.create_table(
        "hourly_control_measurements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=True),
        _created(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_hourly_control_measurements_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        _set_by("hourly_control_measurements", "submitted_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_control_measurements")),
        sa.UniqueConstraint(
            "contract_id",
            "day",
            name=op.f("uq_hourly_control_measurements_contract_id"),
        ),
    )
    with op.batch_alter_table("hourly_control_measurements") as batch:
        batch.create_index("ix_hourly_control_measurements_day", ["day"])
    op.create_table(
        "hourly_control_values",
        sa.Column("control_id", sa.Uuid(), nullable=False),
        sa.Column("meter_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["control_id"],
            ["hourly_control_measurements.id"],
            name=op.f(
                "fk_hourly_control_values_control_id_hourly_control_measurements"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            name=op.f("fk_hourly_control_values_meter_id_meters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "control_id", "meter_id", name=op.f("pk_hourly_control_values")
        ),
    )
    with op.batch_alter_table("hourly_control_values") as batch:
        batch.create_index(batch.f("ix_hourly_control_values_meter_id"), ["meter_id"])


def downgrade() -> None:
    op.drop_table("hourly_control_values")
    op.drop_table("hourly_control_measurements")
    op.drop_table("hourly_control_days")
    op.drop_table("hourly_peak_hours")
