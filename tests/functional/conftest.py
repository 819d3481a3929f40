from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from altcha import Challenge, Payload, solve_challenge
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from docflow.extensions import limiter
from docflow.outbox.models import OutboxMessage
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

    with app.app_context():
        sm = app.extensions["docflow"].sessionmaker
        with sm() as s:
            stmt = select(OutboxMessage).order_by(OutboxMessage.created_at)
            if kind:
                stmt = stmt.where(OutboxMessage.kind == kind)
            return [
                str(m.context["url"]) for m in s.scalars(stmt) if "url" in m.context
            ]


def solve_captcha(client: FlaskClient) -> str:
    """Do what the ALTCHA widget does in the browser: fetch a challenge, solve the
    proof of work (with the ``altcha`` package's solver), return the payload the
    widget posts as the ``altcha`` field."""

    resp = client.get("/account/captcha")
    assert resp.status_code == 200
    challenge = Challenge.from_dict(resp.get_json())
    solution = solve_challenge(challenge, timeout=60)
    assert solution is not None, "the challenge is solvable"
    return Payload(challenge, solution).to_base64()


def register(client: FlaskClient, **overrides: Any) -> Any:
    payload = solve_captcha(client)
    data = {
        "last_name": "Сидоров",
        "first_name": "Пётр",
        "middle_name": "Ильич",
        "email": "sidorov@example.ru",
        "password": "secret123",
        "password2": "secret123",
        "altcha": payload,
    }
    data.update(overrides)
    return client.post("/account/register", data=data)


@pytest.fixture()
def var_dir(app: Flask) -> Path:
    return Path(app.extensions["docflow"].settings.var_dir)
