"""certificates: the Минцифры list of accredited certification centres

``docflow trust import-tsl`` keeps the centres of the list here, with their
accreditation status; their CA certificates are trust anchors that point to
their centre (``trust_anchors.accredited_centre_id``), so that a chain through
them can be reported as leading to an accredited centre (a qualified
certificate, 63-ФЗ ст. 5 ч. 4).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accredited_centres",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("short_name", sa.String(length=500), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("ogrn", sa.String(length=15), nullable=True),
        sa.Column("registry_number", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("is_accredited", sa.Boolean(), nullable=False),
        sa.Column("status_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("list_version", sa.String(length=50), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accredited_centres")),
        sa.UniqueConstraint("key", name=op.f("uq_accredited_centres_key")),
    )
    # Batch mode: SQLite cannot add a foreign key to an existing table.
    with op.batch_alter_table("trust_anchors") as batch:
        batch.add_column(sa.Column("accredited_centre_id", sa.Uuid(), nullable=True))
        batch.create_index(
            op.f("ix_trust_anchors_accredited_centre_id"),
            ["accredited_centre_id"],
            unique=False,
        )
        batch.create_foreign_key(
            op.f("fk_trust_anchors_accredited_centre_id_accredited_centres"),
            "accredited_centres",
            ["accredited_centre_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("trust_anchors") as batch:
        batch.drop_constraint(
            op.f("fk_trust_anchors_accredited_centre_id_accredited_centres"),
            type_="foreignkey",
        )
        batch.drop_index(op.f("ix_trust_anchors_accredited_centre_id"))
        batch.drop_column("accredited_centre_id")
    op.drop_table("accredited_centres")
