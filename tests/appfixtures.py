"""Building the application against a real database for tests.

PostgreSQL: one database per xdist worker, migrated once with Alembic, emptied
after every test. SQLite: a file in the test's temporary directory. (The unit
tests of services use an in-memory SQLite database without the application:
``tests/unit/docflow/conftest.py``.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from docflow.app import create_app
from docflow.config import Settings
from docflow.migrate import upgrade
from docflow.models import Base

TEST_SECRET = "test-secret-key-not-for-production"


def make_settings(var_dir: Path, database_url: str, **overrides: Any) -> Settings:
    base = Settings.from_env(var_dir=var_dir, secret_key=TEST_SECRET)
    values: dict[str, Any] = {
        "database_url": database_url,
        "storage_url": (var_dir / "blobs").as_uri(),
        "smtp_url": (var_dir / "outbox" / "email").as_uri(),
        "sms_gateway_url": (var_dir / "outbox" / "sms").as_uri(),
        "celery_broker_url": "memory://",
        "trust_store": str(var_dir / "trust"),
        "base_url": "http://localhost",
        "ratelimit_storage_url": "memory://",
        "testing": True,
    }
    values.update(overrides)
    return base.replace(**values)


def worker_database_name() -> str:
    # The process id too: several test runs on one machine (a developer's and
    # CI's, or parallel sessions) must never drop each other's databases.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"docflow_test_{worker}_{os.getpid()}"


@contextmanager
def postgres_database(admin_url: str, name: str) -> Iterator[str]:
    """Create a fresh database ``name`` and yield its URL; drop it after."""
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_tables(app: Flask) -> None:
    """Delete every row (PostgreSQL: one TRUNCATE; SQLite: DELETE per table)."""
    engine = app.extensions["docflow"].engine
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE "
                    + ", ".join(f'"{t}"' for t in tables)
                    + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


def build_app(settings: Settings) -> Flask:
    upgrade(settings.database_url)
    app = create_app(settings)
    app.config["WTF_CSRF_ENABLED"] = False
    return app
