"""Running the Alembic migrations from code (``docflow db upgrade``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Database objects the migrations make outside the models' metadata: the SQLite
# FTS5 table of document search with its shadow tables, and PostgreSQL's
# expression (tsvector) and trigram indexes (revision 0005).
_UNMODELLED_TABLE_PREFIXES = ("documents_fts",)
_UNMODELLED_INDEX_PREFIXES = ("ix_documents_fts_", "ix_search_")
_UNMODELLED_COLUMNS = frozenset({"search_vector"})
_UNMODELLED_INDEX_SUFFIXES = ("_trgm",)


def include_in_schema_compare(name: str | None, type_: str, *_context: object) -> bool:
    """Alembic's ``include_name`` hook: False for the objects of the database that the
    models do not describe on purpose, so that autogenerate and the schema test leave
    them alone."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(_UNMODELLED_TABLE_PREFIXES)
    if type_ == "index":
        return not (
            name.startswith(_UNMODELLED_INDEX_PREFIXES)
            or name.endswith(_UNMODELLED_INDEX_SUFFIXES)
        )
    if type_ == "column":
        return name not in _UNMODELLED_COLUMNS
    return True


def alembic_config(
    url: str | None = None, connection: Connection | None = None
) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
