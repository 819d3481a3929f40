from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from docflow.extensions import limiter
from tests.appfixtures import (
    build_app,
    empty_tables,
    make_settings,
    postgres_database,
    worker_database_name,
)
from tests.services import require_postgres


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    admin = require_postgres()
    with postgres_database(admin, worker_database_name()) as url:
        yield url


@pytest.fixture(scope="session")
def pg_app(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    var = tmp_path_factory.mktemp("var-pg")
    return build_app(make_settings(var, pg_url))


@pytest.fixture(scope="session")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    var = tmp_path_factory.mktemp("var-sqlite")
    return build_app(make_settings(var, f"sqlite:///{var / 'test.sqlite3'}"))


@pytest.fixture(params=["postgresql", "sqlite"])
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The application on PostgreSQL (integration) and on SQLite (embedded mode)."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.integration)
        application: Flask = request.getfixturevalue("pg_app")
    else:
        application = request.getfixturevalue("sqlite_app")
    limiter.reset()
    yield application
    empty_tables(application)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def outbox_links(app: Flask, kind: str | None = None) -> list[str]:
    """Links sent in e-mails, newest last, read from the outbox rows."""
    from sqlalchemy import select

    from docflow.notify.models import OutboxMessage

    with app.app_context():
        sm = app.extensions["docflow"].sessionmaker
        with sm() as s:
            stmt = select(OutboxMessage).order_by(OutboxMessage.created_at)
            if kind:
                stmt = stmt.where(OutboxMessage.kind == kind)
            return [str(m.context["url"]) for m in s.scalars(stmt) if "url" in m.context]


def solve_captcha(client: FlaskClient) -> str:
    """Read the expected answer the way a person would: from the picture."""
    import base64

    page = client.get("/account/register").get_data(as_text=True)
    m = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert m, "the registration page shows a captcha picture"
    svg = base64.b64decode(m.group(1)).decode()
    glyphs = re.findall(r">([^<])</text>", svg)
    expr = "".join(glyphs).split("=")[0].replace("×", "*").replace(" ", "")
    a, op, b = re.fullmatch(r"(\d+)([+*])(\d+)", expr).groups()  # type: ignore[union-attr]
    return str(int(a) + int(b) if op == "+" else int(a) * int(b))


def register(client: FlaskClient, **overrides: Any) -> Any:
    answer = solve_captcha(client)
    data = {
        "last_name": "Сидоров", "first_name": "Пётр", "middle_name": "Ильич",
        "email": "sidorov@example.ru", "password": "secret123", "password2": "secret123",
        "captcha": answer,
    }
    data.update(overrides)
    return client.post("/account/register", data=data)


@pytest.fixture()
def var_dir(app: Flask) -> Path:
    return Path(app.extensions["docflow"].settings.var_dir)
