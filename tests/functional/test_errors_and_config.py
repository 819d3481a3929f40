"""Error pages in Russian, JSON errors under /api/, settings and security headers."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask, abort, request

from docflow.app import create_app
from docflow.config import ConfigError, Settings
from docflow.errors import PermissionDeniedError, ValidationError
from tests.appfixtures import build_app, make_settings


@pytest.fixture()
def error_app(tmp_path: Path) -> Flask:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'e.sqlite3'}").replace(
        max_upload_mb=1
    )
    app = build_app(settings)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    @app.route("/forbidden")
    def forbidden() -> str:
        abort(403)

    @app.route("/bad")
    def bad() -> str:
        abort(400)

    @app.route("/api/v1/test-denied")
    def api_denied() -> str:
        raise PermissionDeniedError("Нет доступа к договору.")

    @app.route("/api/v1/test-invalid")
    def api_invalid() -> str:
        raise ValidationError("Неверная дата.", details={"field": "date"})

    @app.route("/upload", methods=["POST"])
    def upload() -> str:
        return str(len(request.get_data()))

    return app


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/nope", 404, "Страница не найдена"),
        ("/forbidden", 403, "Доступ запрещён"),
        ("/bad", 400, "Некорректный запрос"),
        ("/boom", 500, "Внутренняя ошибка"),
    ],
)
def test_error_pages_are_russian_html(
    error_app: Flask, path: str, status: int, heading: str
) -> None:
    resp = error_app.test_client().get(path)
    assert resp.status_code == status
    assert resp.mimetype == "text/html"
    body = resp.get_data(as_text=True)
    assert heading in body
    assert "kaboom" not in body  # internals never leak


def test_500_shows_an_error_id_that_is_in_the_log(
    error_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    body = error_app.test_client().get("/boom").get_data(as_text=True)

    m = re.search(r"Код ошибки: ([0-9a-f]{12})", body)
    assert m
    assert m.group(1) in caplog.text


def test_over_large_upload_is_413_in_russian(error_app: Flask) -> None:
    resp = error_app.test_client().post(
        "/upload",
        data=b"x" * (3 * 1024 * 1024),
        content_type="application/octet-stream",
    )
    assert resp.status_code == 413
    assert "Слишком большой файл" in resp.get_data(as_text=True)


def test_api_errors_are_json_with_stable_codes(error_app: Flask) -> None:
    client = error_app.test_client()
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json == {
        "error": {
            "code": "not_found",
            "message": missing.json["error"]["message"],
            "details": {},
        }
    }
    denied = client.get("/api/v1/test-denied")
    assert denied.status_code == 403 and denied.json["error"]["code"] == "forbidden"
    invalid = client.get("/api/v1/test-invalid")
    assert invalid.status_code == 422
    assert invalid.json["error"] == {
        "code": "validation_error",
        "message": "Неверная дата.",
        "details": {"field": "date"},
    }


def test_security_headers_and_no_external_assets(error_app: Flask) -> None:
    resp = error_app.test_client().get("/account/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    body = resp.get_data(as_text=True)
    assert (
        "http://" not in body.replace("http://localhost", "") and "https://" not in body
    )


def test_english_is_the_second_locale(error_app: Flask) -> None:
    client = error_app.test_client()
    assert "Вход в личный кабинет" in client.get("/account/login").get_data(
        as_text=True
    )
    client.get("/lang/en")
    assert "Sign in to the cabinet" in client.get("/account/login").get_data(
        as_text=True
    )


def test_secret_key_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = Settings.from_env(var_dir=tmp_path).secret_key
    second = Settings.from_env(var_dir=tmp_path).secret_key
    assert first == second and len(first) >= 40
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    other = Settings.from_env(var_dir=tmp_path / "other").secret_key
    assert other != first


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("STORAGE_URL", "ftp://x"),
        ("CELERY_BROKER_URL", "kafka://x"),
        ("MAX_UPLOAD_MB", "lots"),
        ("SESSION_COOKIE_SECURE", "perhaps"),
        ("DOCFLOW_ENV", "staging"),
    ],
)
def test_malformed_settings_fail_fast_with_the_variable_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        Settings.from_env(var_dir=tmp_path)


def test_secure_cookies_behind_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    settings = replace(
        Settings.from_env(var_dir=tmp_path),
        database_url=f"sqlite:///{tmp_path / 'c.sqlite3'}",
    )
    app = create_app(settings)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert os.environ["SESSION_COOKIE_SECURE"] == "true"
