"""Merge the modules' branches into one head.

The modules were built side by side, each branching from the shared schema
(contracts 0003, readings 0004, search 0005, API 0007); from here on there is
one line of revisions again.

Revision ID: 0008
Revises: 0003, 0004, 0005, 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0003", "0004", "0005", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
