"""Shared nothing: trust anchors and CRLs in the database, the beat lock

Every node builds its trust store from the database alone: the anchors say
where they came from (``source``) and keep a tombstone when removed
(``removed_at``); uploaded or imported CRLs live in ``revocation_lists``, CRLs
downloaded from distribution points in ``crl_downloads`` (one process
downloads, the others read); ``trust_state`` holds the version stamp each
process checks before it uses what it cached. ``cluster_nodes`` lets nodes
with a filesystem blob store check they share its directory. (The beat lock is
a PostgreSQL advisory lock: nothing to create.)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NOW = sa.text("(CURRENT_TIMESTAMP)")


def _created() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False
    )


def upgrade() -> None:
    with op.batch_alter_table("trust_anchors") as batch:
        batch.add_column(sa.Column("source", sa.String(length=300), nullable=True))
        batch.add_column(
            sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "revocation_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=True),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("added_by_id", sa.Uuid(), nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_revocation_lists_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocation_lists")),
        sa.UniqueConstraint("sha256", name=op.f("uq_revocation_lists_sha256")),
    )
    with op.batch_alter_table("revocation_lists") as batch:
        batch.create_index(op.f("ix_revocation_lists_scope"), ["scope"])
    op.create_table(
        "crl_downloads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("this_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crl_downloads")),
        sa.UniqueConstraint("url", name=op.f("uq_crl_downloads_url")),
    )
    trust_state = op.create_table(
        "trust_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_state")),
    )
    op.bulk_insert(
        trust_state, [{"id": 1, "version": 0, "changed_at": dt.datetime.now(dt.UTC)}]
    )
    op.create_table(
        "cluster_nodes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("blob_dir", sa.String(length=1000), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cluster_nodes")),
    )


def downgrade() -> None:
    op.drop_table("cluster_nodes")
    op.drop_table("trust_state")
    op.drop_table("crl_downloads")
    op.drop_table("revocation_lists")
    with op.batch_alter_table("trust_anchors") as batch:
        batch.drop_column("removed_at")
        batch.drop_column("source")
