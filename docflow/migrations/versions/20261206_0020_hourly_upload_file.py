"""Hourly uploads keep their file: the blob key of the uploaded file

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hourly_uploads") as batch:
        batch.add_column(sa.Column("blob_key", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hourly_uploads") as batch:
        batch.drop_column("blob_key")
