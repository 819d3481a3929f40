"""tours and the grid account: the guided tours each user has seen, and the
account number in the grid company's cabinet (ЛК МОЭСК) per contract

``tours_seen`` remembers, per user and page, that the page's tour was finished
or closed, so that it is not started by itself again; ``grid_accounts`` keeps
the number the contract's administrator entered, passed in the link to the
grid company's cabinet.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "tours_seen",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("page_key", sa.String(length=40), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_tours_seen_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "page_key", name=op.f("pk_tours_seen")),
    )
    op.create_table(
        "grid_accounts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("account", sa.String(length=30), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_grid_accounts_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_grid_accounts_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_grid_accounts")),
    )


def downgrade() -> None:
    op.drop_table("grid_accounts")
    op.drop_table("tours_seen")
