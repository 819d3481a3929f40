"""signatures: the proven time of a signature and its long-term evidence

The moment of receipt, the signer's claimed time (kept apart, never trusted),
the time-stamp over the signature (time, serial, authority), the level of the
stored evidence, when the newest time-stamp needs renewing, and the file with
the signature bytes exactly as received.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signatures") as batch:
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("claimed_time", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("timestamp_time", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("timestamp_serial", sa.String(length=80)))
        batch.add_column(sa.Column("tsa_name", sa.String(length=300)))
        batch.add_column(sa.Column("evidence_level", sa.String(length=40)))
        batch.add_column(sa.Column("archive_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("archive_renewed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("received_file_id", sa.Uuid()))
        batch.create_foreign_key(
            op.f("fk_signatures_received_file_id_document_files"),
            "document_files",
            ["received_file_id"],
            ["id"],
        )
        batch.create_index(
            op.f("ix_signatures_archive_until"), ["archive_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signatures") as batch:
        batch.drop_index(op.f("ix_signatures_archive_until"))
        batch.drop_constraint(
            op.f("fk_signatures_received_file_id_document_files"), type_="foreignkey"
        )
        for column in (
            "received_file_id",
            "archive_renewed_at",
            "archive_until",
            "evidence_level",
            "tsa_name",
            "timestamp_serial",
            "timestamp_time",
            "claimed_time",
            "received_at",
        ):
            batch.drop_column(column)
