"""Control measurements keep their uploaded form: its blob key, size and digest

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hourly_control_measurements") as batch:
        batch.add_column(sa.Column("blob_key", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("file_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hourly_control_measurements") as batch:
        batch.drop_column("file_sha256")
        batch.drop_column("file_size")
        batch.drop_column("blob_key")
