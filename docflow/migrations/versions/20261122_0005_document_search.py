"""document search: full-text and fragment indexes

PostgreSQL: a GIN index over the Russian ``tsvector`` of title, number and
comment (the expression must stay identical to ``docflow.documents.search``'s,
or the planner will not use it), and pg_trgm GIN indexes for fragments of
document numbers and signers' names (``ILIKE '%0001%'``).

SQLite: an FTS5 table ``documents_fts`` kept in sync by triggers, filled from
the existing rows. It holds its own copy of the text, keyed by the document's
id rather than by ``rowid``: SQLite's ``VACUUM`` may renumber the rowids of a
table without an INTEGER PRIMARY KEY, which would point an external-content
index at the wrong rows. ``ё`` is folded to ``е`` on the way in (the query does
the same), so «отчёт» and «отчет» find each other.

None of these objects is in the models' metadata; ``include_in_schema_compare``
(docflow/migrate.py) keeps autogenerate and the schema test off them. A later
batch migration that recreates ``documents`` on SQLite drops the triggers with
the old table and must recreate them (``_SQLITE_TRIGGERS`` below).

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

PG_TSVECTOR = (
    "to_tsvector('russian'::regconfig, coalesce(title, '') || ' ' || "
    "coalesce(number, '') || ' ' || coalesce(comment, ''))"
)

_PG_UPGRADE = (
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
    # create it without superuser rights.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX ix_documents_fts_tsv ON documents USING gin ({PG_TSVECTOR})",
    "CREATE INDEX ix_documents_number_trgm ON documents "
    "USING gin (number gin_trgm_ops)",
    "CREATE INDEX ix_signatures_signer_name_trgm ON signatures "
    "USING gin (signer_name gin_trgm_ops)",
)

# The extension stays: other objects (or other applications' ones) may use it.
_PG_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_signatures_signer_name_trgm",
    "DROP INDEX IF EXISTS ix_documents_number_trgm",
    "DROP INDEX IF EXISTS ix_documents_fts_tsv",
)


def _fold(column: str) -> str:
    return f"replace(replace(coalesce({column}, ''), 'ё', 'е'), 'Ё', 'Е')"


_SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE documents_fts USING fts5("
    "doc_id UNINDEXED, title, number, comment, "
    "tokenize = 'unicode61 remove_diacritics 2')"
)
_FOLDED = f"{_fold('new.title')}, {_fold('new.number')}, {_fold('new.comment')}"
_INSERT_NEW = (
    "INSERT INTO documents_fts (doc_id, title, number, comment) "
    f"VALUES (new.id, {_FOLDED}); "
)
_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER documents_fts_ai AFTER INSERT ON documents BEGIN {_INSERT_NEW}END",
    "CREATE TRIGGER documents_fts_au AFTER UPDATE OF id, title, number, comment "
    "ON documents BEGIN "
    "DELETE FROM documents_fts WHERE doc_id = old.id; "
    f"{_INSERT_NEW}END",
    "CREATE TRIGGER documents_fts_ad AFTER DELETE ON documents BEGIN "
    "DELETE FROM documents_fts WHERE doc_id = old.id; "
    "END",
)
_SQLITE_BACKFILL = (
    "INSERT INTO documents_fts (doc_id, title, number, comment) "
    f"SELECT id, {_fold('title')}, {_fold('number')}, {_fold('comment')} FROM documents"
)
_SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS documents_fts_ad",
    "DROP TRIGGER IF EXISTS documents_fts_au",
    "DROP TRIGGER IF EXISTS documents_fts_ai",
    "DROP TABLE IF EXISTS documents_fts",
)


def _run(statements: tuple[str, ...]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(_PG_UPGRADE)
    elif dialect == "sqlite":
        _run((_SQLITE_TABLE, *_SQLITE_TRIGGERS, _SQLITE_BACKFILL))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(_PG_DOWNGRADE)
    elif dialect == "sqlite":
        _run(_SQLITE_DOWNGRADE)
