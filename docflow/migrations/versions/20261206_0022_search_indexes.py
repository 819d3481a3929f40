"""Search at scale: a stored search vector and indexes for the common queries

What a page of the document search walks on PostgreSQL at a supplier's scale
(a million documents), so that it costs what its 25 rows cost, not what the
whole result does (``docflow.documents.search``: the total counted up to
1,000 within a time budget, the next page read after a cursor):

* ``documents.search_vector``: the Russian ``tsvector`` of title, number and
  comment, stored (a generated column) and GIN-indexed. It replaces the
  expression index of 0005: reading the newest rows of a frequent word checks
  each row against its stored vector instead of re-parsing its text;
* the default order (newest first) of the documents a clerk sees — every one
  but the deleted — the same per status (the status filter), and by the
  document's date;
* the documents waiting for a signature («ожидают моей подписи»), newest
  first, and whose turn it is (the current step of each route);
* a customer's documents: per contract, newest first;
* a document's signatures (the result list loads them; the signer filter asks
  whether one exists);
* a fragment of a contract's number (the clerk types one instead of choosing
  from tens of thousands).

PostgreSQL only: a generated column and partial, descending indexes the
models do not describe (named ``search_vector`` and ``ix_search_*``, or ending
in ``_trgm``, which the schema comparison leaves alone). SQLite, the embedded
mode, has a handful of documents and its FTS5 table; nothing changes there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

#: The same text as migration 0005's expression index (and the search's).
_TSVECTOR = (
    "to_tsvector('russian'::regconfig, coalesce(title, '') || ' ' || "
    "coalesce(number, '') || ' ' || coalesce(comment, ''))"
)
#: The statuses of a document that waits for a signature (DocStatus values).
_AWAITING = "('awaiting', 'partly_signed')"

_PG_INDEXES = {
    "ix_search_documents_vector": "documents USING gin (search_vector)",
    "ix_search_documents_created": (
        "documents (created_at DESC, id DESC) WHERE status <> 'deleted'"
    ),
    "ix_search_documents_status_created": (
        "documents (status, created_at DESC, id DESC)"
    ),
    "ix_search_documents_date": (
        "documents (doc_date DESC, created_at DESC, id DESC) WHERE status <> 'deleted'"
    ),
    "ix_search_documents_awaiting": (
        f"documents (created_at DESC, id DESC) WHERE status IN {_AWAITING}"
    ),
    "ix_search_documents_contract_created": (
        "documents (contract_id, created_at DESC, id DESC)"
    ),
    "ix_search_signatures_document_id": "signatures (document_id)",
    "ix_search_route_steps_current": (
        "route_steps (document_id, party) WHERE status = 'current'"
    ),
    "ix_search_contracts_number_trgm": "contracts USING gin (number gin_trgm_ops)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is there since 0005; created here too for a database restored
    # without it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "ALTER TABLE documents ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({_TSVECTOR}) STORED"
    )
    for name, target in _PG_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")
    op.execute("DROP INDEX IF EXISTS ix_documents_fts_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE INDEX ix_documents_fts_tsv ON documents USING gin ({_TSVECTOR})"
    )
    for name in reversed(list(_PG_INDEXES)):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER TABLE documents DROP COLUMN search_vector")
