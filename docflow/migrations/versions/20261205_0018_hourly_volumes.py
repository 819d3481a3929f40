"""hourly volumes: metering points (by their 80020 code), hourly values per
point, channel and hour with versions, and the uploads of hourly files

The primary key of ``hourly_values`` — point, channel, day, hour, version — is
the index of every query (a month of one point is one range scan).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "hourly_points",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("meter_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_hourly_points_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["supply_objects.id"],
            name=op.f("fk_hourly_points_object_id_supply_objects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meters.id"],
            name=op.f("fk_hourly_points_meter_id_meters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_points")),
        sa.UniqueConstraint(
            "contract_id", "code", name=op.f("uq_hourly_points_contract_id")
        ),
    )
    with op.batch_alter_table("hourly_points") as batch:
        batch.create_index(batch.f("ix_hourly_points_contract_id"), ["contract_id"])
        batch.create_index(batch.f("ix_hourly_points_object_id"), ["object_id"])
        batch.create_index(batch.f("ix_hourly_points_meter_id"), ["meter_id"])
    op.create_table(
        "hourly_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("is_accepted", sa.Boolean(), nullable=False),
        sa.Column("values_taken", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_hourly_uploads_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_hourly_uploads_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_uploads")),
    )
    with op.batch_alter_table("hourly_uploads") as batch:
        batch.create_index(
            "ix_hourly_uploads_contract_id_created_at", ["contract_id", "created_at"]
        )
    op.create_table(
        "hourly_values",
        sa.Column("point_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Numeric(precision=16, scale=4), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("upload_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["hourly_points.id"],
            name=op.f("fk_hourly_values_point_id_hourly_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "point_id",
            "channel",
            "day",
            "hour",
            "version",
            name=op.f("pk_hourly_values"),
        ),
    )


def downgrade() -> None:
    op.drop_table("hourly_values")
    op.drop_table("hourly_uploads")
    op.drop_table("hourly_points")
