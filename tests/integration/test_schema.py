"""The Alembic migrations produce exactly the models' schema, on PostgreSQL and
on SQLite, and every revision can be downgraded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from docflow.migrate import downgrade, include_in_schema_compare, upgrade
from docflow.models import Base
from tests.appfixtures import postgres_database, worker_database_name
from tests.services import require_postgres


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'schema.sqlite3'}"
        return
    request.applymarker(pytest.mark.integration)
    admin = require_postgres()
    with postgres_database(admin, worker_database_name() + "_schema") as url:
        yield url


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": False,
                    "include_name": include_in_schema_compare,
                },
            )
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()


def test_every_revision_downgrades_to_an_empty_database(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "base")
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        engine.dispose()
    upgrade(database_url)
