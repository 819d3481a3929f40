"""audit, certificates, documents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:25:22.077209
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_label", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_object", ["object_type", "object_id"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("serial_hex", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.String(length=300), nullable=False),
        sa.Column("organisation_name", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("inn_le", sa.String(length=12), nullable=True),
        sa.Column("ogrn", sa.String(length=15), nullable=True),
        sa.Column("snils", sa.String(length=14), nullable=True),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "revoked",
                name="certificatestatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_certificates_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_certificates_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certificates_organisation_id_sha256",
            ["organisation_id", "sha256"],
            unique=False,
        )
        batch_op.create_index("ix_certificates_user_id", ["user_id"], unique=False)

    op.create_table(
        "trust_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "root", "intermediate", name="anchorkind", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_trust_anchors_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_anchors")),
        sa.UniqueConstraint("sha1", name=op.f("uq_trust_anchors_sha1")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column(
            "doc_type",
            sa.Enum(
                "prom10",
                "contract",
                "agreement",
                "invoice",
                "letter",
                "other",
                name="doctype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "awaiting",
                "partly_signed",
                "signed",
                "refused",
                "revocation_requested",
                "revoked",
                "deleted",
                name="docstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_by_party",
            sa.Enum("customer", "supplier", name="party", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column(
            "refused_by",
            sa.Enum("customer", "supplier", name="party", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column(
            "revocation_requested_by",
            sa.Enum("customer", "supplier", name="party", native_enum=False, length=40),
            nullable=True,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_documents_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_documents_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_documents_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["documents.id"],
            name=op.f("fk_documents_supersedes_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint(
            "organisation_id",
            "idempotency_key",
            name=op.f("uq_documents_organisation_id"),
        ),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_documents_contract_id_status", ["contract_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_documents_organisation_id_created_at",
            ["organisation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "document_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "main",
                "attachment",
                "revision",
                "signature",
                name="filerole",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_files_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_files")),
    )
    with op.batch_alter_table("document_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_document_files_document_id", ["document_id"], unique=False
        )

    op.create_table(
        "route_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "party",
            sa.Enum("customer", "supplier", name="party", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "current",
                "signed",
                "refused",
                name="stepstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_route_steps_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_steps")),
        sa.UniqueConstraint(
            "document_id", "position", name=op.f("uq_route_steps_document_id")
        ),
    )
    op.create_table(
        "signing_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_signing_sessions_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signing_sessions_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_signing_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_sessions")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column(
            "party",
            sa.Enum("customer", "supplier", name="party", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column("sig_file_id", sa.Uuid(), nullable=True),
        sa.Column("pdf_file_id", sa.Uuid(), nullable=True),
        sa.Column("signer_name", sa.String(length=300), nullable=False),
        sa.Column("signer_organisation", sa.String(length=300), nullable=True),
        sa.Column("certificate_serial", sa.String(length=80), nullable=False),
        sa.Column("certificate_not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate_not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signing_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum(
                "valid",
                "invalid",
                "indeterminate",
                name="verdict",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_signatures_certificate_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_signatures_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["pdf_file_id"],
            ["document_files.id"],
            name=op.f("fk_signatures_pdf_file_id_document_files"),
        ),
        sa.ForeignKeyConstraint(
            ["sig_file_id"],
            ["document_files.id"],
            name=op.f("fk_signatures_sig_file_id_document_files"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["route_steps.id"],
            name=op.f("fk_signatures_step_id_route_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_signatures_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint("step_id", name=op.f("uq_signatures_step_id")),
    )


def downgrade() -> None:
    op.drop_table("signatures")
    op.drop_table("signing_sessions")
    op.drop_table("route_steps")
    with op.batch_alter_table("document_files", schema=None) as batch_op:
        batch_op.drop_index("ix_document_files_document_id")

    op.drop_table("document_files")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_organisation_id_created_at")
        batch_op.drop_index("ix_documents_contract_id_status")

    op.drop_table("documents")
    op.drop_table("trust_anchors")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_user_id")
        batch_op.drop_index("ix_certificates_organisation_id_sha256")

    op.drop_table("certificates")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_object")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
