"""contracts: contacts, invitations, access requests, payments, restriction
schedules; content (news, FAQ, settings); the main page's widget layouts

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 02:24:45.045459
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def _timestamp(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=NOW, nullable=False
    )


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=40)


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
    )
    op.create_table(
        "news_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_items")),
    )
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_news_items_published_on", ["published_on"], unique=False
        )

    op.create_table(
        "site_settings",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        _timestamp("updated_at"),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_site_settings_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_site_settings")),
    )
    op.create_table(
        "widget_layouts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=False),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_widget_layouts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_widget_layouts")),
    )
    op.create_table(
        "contract_access_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            _enum("accessrequeststatus", "pending", "approved", "declined"),
            nullable=False,
        ),
        _timestamp("created_at"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_access_requests_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_contract_access_requests_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contract_access_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_access_requests")),
    )
    with op.batch_alter_table("contract_access_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_access_requests_contract_id"),
            ["contract_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_contract_access_requests_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "contract_contacts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("head_name", sa.String(length=200), nullable=True),
        sa.Column("branch_address", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("fax", sa.String(length=50), nullable=True),
        sa.Column("curator_name", sa.String(length=200), nullable=True),
        sa.Column("curator_phone", sa.String(length=50), nullable=True),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_contacts_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_contract_contacts")),
    )
    op.create_table(
        "contract_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("can_view", sa.Boolean(), nullable=False),
        sa.Column("can_submit_readings", sa.Boolean(), nullable=False),
        sa.Column("can_sign", sa.Boolean(), nullable=False),
        sa.Column("can_manage", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            _enum("invitationstatus", "pending", "accepted", "cancelled"),
            nullable=False,
        ),
        _timestamp("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["users.id"],
            name=op.f("fk_contract_invitations_accepted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_invitations_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_contract_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_invitations")),
    )
    with op.batch_alter_table("contract_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_invitations_contract_id"),
            ["contract_id"],
            unique=False,
        )
        batch_op.create_index("ix_contract_invitations_email", ["email"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_kopecks", sa.BigInteger(), nullable=False),
        sa.Column("document_number", sa.String(length=50), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_payments_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_contract_id_paid_on", ["contract_id", "paid_on"], unique=False
        )

    op.create_table(
        "restriction_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("time_from", sa.String(length=5), nullable=True),
        sa.Column("time_to", sa.String(length=5), nullable=True),
        sa.Column("limit_kw", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_restriction_entries_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restriction_entries")),
    )
    with op.batch_alter_table("restriction_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_restriction_entries_contract_id_date_from",
            ["contract_id", "date_from"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("restriction_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_restriction_entries_contract_id_date_from")
    op.drop_table("restriction_entries")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_contract_id_paid_on")
    op.drop_table("payments")
    with op.batch_alter_table("contract_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_invitations_email")
        batch_op.drop_index(batch_op.f("ix_contract_invitations_contract_id"))
    op.drop_table("contract_invitations")
    op.drop_table("contract_contacts")
    with op.batch_alter_table("contract_access_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_access_requests_user_id"))
        batch_op.drop_index(batch_op.f("ix_contract_access_requests_contract_id"))
    op.drop_table("contract_access_requests")
    op.drop_table("widget_layouts")
    op.drop_table("site_settings")
    with op.batch_alter_table("news_items", schema=None) as batch_op:
        batch_op.drop_index("ix_news_items_published_on")
    op.drop_table("news_items")
    op.drop_table("faq_entries")
