"""powers of attorney (МЧД): the files on record, the map of powers, and the
МЧД a signature was made under

An employee signs for a company with a personal certificate and a
machine-readable power of attorney; the МЧД (XML and its detached signature)
is kept verbatim with what was read from it, the supplier maps powers of the
ФНС classifier to document types (``power_rules``), and each signature made
under an МЧД points to it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "power_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_power_rules")),
        sa.UniqueConstraint("doc_type", "code", name=op.f("uq_power_rules_doc_type")),
    )
    op.create_table(
        "powers_of_attorney",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=36), nullable=False),
        sa.Column("internal_number", sa.String(length=255), nullable=True),
        sa.Column("format_version", sa.String(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("principal", sa.JSON(), nullable=False),
        sa.Column("representatives", sa.JSON(), nullable=False),
        sa.Column("holder_keys", sa.String(length=2000), nullable=False),
        sa.Column("powers", sa.JSON(), nullable=False),
        sa.Column("redelegation", sa.String(length=1), nullable=False),
        sa.Column("head", sa.JSON(), nullable=True),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("xml_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_name", sa.String(length=300), nullable=False),
        sa.Column("signer_serial", sa.String(length=80), nullable=False),
        sa.Column("signer_inn_le", sa.String(length=12), nullable=True),
        sa.Column("signer_qualified", sa.Boolean(), nullable=False),
        sa.Column("signature_report", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active", "revoked", name="powerstatus", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Uuid(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.Column("status_source", sa.String(length=20), nullable=False),
        sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_powers_of_attorney_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_powers_of_attorney_certificate_id_certificates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_powers_of_attorney_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["users.id"],
            name=op.f("fk_powers_of_attorney_revoked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_powers_of_attorney_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_powers_of_attorney")),
        sa.UniqueConstraint(
            "organisation_id",
            "number",
            name=op.f("uq_powers_of_attorney_organisation_id"),
        ),
    )
    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.create_index("ix_powers_of_attorney_number", ["number"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_powers_of_attorney_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("power_of_attorney_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_signatures_power_of_attorney_id_powers_of_attorney"),
            "powers_of_attorney",
            ["power_of_attorney_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_signatures_power_of_attorney_id_powers_of_attorney"),
            type_="foreignkey",
        )
        batch_op.drop_column("power_of_attorney_id")

    with op.batch_alter_table("powers_of_attorney", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_powers_of_attorney_organisation_id"))
        batch_op.drop_index("ix_powers_of_attorney_number")

    op.drop_table("powers_of_attorney")
    op.drop_table("power_rules")
