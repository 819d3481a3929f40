"""online payment (оплата электроэнергии онлайн): the cabinet's payments sent to
the acquirer, and the embedded fake acquirer's own records

``online_payments`` holds one row per attempt to pay, created before the
acquirer is asked (its id is the ``OrderId``; ``idempotency_key`` makes a
double submit one payment); a confirmed payment points to the row it added to
the contract's payment history (``payments``), uniquely.
``fake_acquiring_payments`` is what the fake acquirer of the embedded mode
keeps, as a bank would.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

STATUSES = ("created", "pending", "paid", "rejected", "error")


def upgrade() -> None:
    op.create_table(
        "online_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("payer_email", sa.String(length=254), nullable=True),
        sa.Column("amount_kopecks", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("return_url", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES, name="onlinepaymentstatus", native_enum=False, length=40
            ),
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=50), nullable=True),
        sa.Column("provider_status", sa.String(length=40), nullable=True),
        sa.Column("payment_url", sa.String(length=1000), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contract_payment_id", sa.Uuid(), nullable=True),
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
            name=op.f("fk_online_payments_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contract_payment_id"],
            ["payments.id"],
            name=op.f("fk_online_payments_contract_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_online_payments_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_payments")),
        sa.UniqueConstraint(
            "contract_payment_id", name=op.f("uq_online_payments_contract_payment_id")
        ),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_online_payments_idempotency_key")
        ),
    )
    with op.batch_alter_table("online_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_online_payments_contract_id_created_at",
            ["contract_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_online_payments_provider_payment_id"),
            ["provider_payment_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_online_payments_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "fake_acquiring_payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("page_token", sa.String(length=40), nullable=False),
        sa.Column("terminal_key", sa.String(length=50), nullable=False),
        sa.Column("order_id", sa.String(length=50), nullable=False),
        sa.Column("amount_kopecks", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=250), nullable=False),
        sa.Column("success_url", sa.String(length=1000), nullable=False),
        sa.Column("fail_url", sa.String(length=1000), nullable=False),
        sa.Column("notification_url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_acquiring_payments")),
        sa.UniqueConstraint(
            "page_token", name=op.f("uq_fake_acquiring_payments_page_token")
        ),
    )
    with op.batch_alter_table("fake_acquiring_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fake_acquiring_payments_order_id"),
            ["order_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("fake_acquiring_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fake_acquiring_payments_order_id"))
    op.drop_table("fake_acquiring_payments")
    with op.batch_alter_table("online_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_online_payments_user_id"))
        batch_op.drop_index(batch_op.f("ix_online_payments_provider_payment_id"))
        batch_op.drop_index("ix_online_payments_contract_id_created_at")
    op.drop_table("online_payments")
