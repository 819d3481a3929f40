"""accounts: used «Я не робот» challenges

The ALTCHA proof-of-work challenges are signed and expire by themselves; a
solved one is spent on its first use, so the SHA-256 of its signature is kept
here until the challenge's expiry and pruned after it.

(``users.session_version``, which logout, password change and password reset
now bump, has been in the schema since revision 0001.)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_captcha_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("signature_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_captcha_challenges")),
        sa.UniqueConstraint(
            "signature_hash", name=op.f("uq_used_captcha_challenges_signature_hash")
        ),
    )
    with op.batch_alter_table("used_captcha_challenges") as batch:
        batch.create_index(
            op.f("ix_used_captcha_challenges_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("used_captcha_challenges") as batch:
        batch.drop_index(op.f("ix_used_captcha_challenges_expires_at"))
    op.drop_table("used_captcha_challenges")
