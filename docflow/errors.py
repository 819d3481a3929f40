"""Domain errors and their HTTP form.

Services raise :class:`DocflowError` subclasses; one set of handlers turns them
(and HTTP errors) into a JSON body under ``/api/`` or for JSON clients, and into
a Russian error page otherwise. Anything unexpected is logged with an id that the
user sees, and answered 500.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DocflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class ValidationError(DocflowError):
    status = 422
    code = "validation_error"


class NotFoundError(DocflowError):
    status = 404
    code = "not_found"


class PermissionDeniedError(DocflowError):
    status = 403
    code = "forbidden"


class InvalidTransitionError(DocflowError):
    status = 409
    code = "document_state_conflict"


class ConflictError(DocflowError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(DocflowError):
    status = 413
    code = "payload_too_large"


# Stable codes and Russian messages for plain HTTP errors.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Некорректный запрос."),
    401: ("unauthorized", "Требуется вход в систему или ключ API."),
    403: ("forbidden", "Недостаточно прав для этого действия."),
    404: ("not_found", "Страница или объект не найдены."),
    405: ("method_not_allowed", "Метод не поддерживается."),
    409: ("conflict", "Конфликт состояния: обновите страницу и повторите."),
    413: ("payload_too_large", "Файл или запрос слишком велик."),
    415: ("unsupported_media_type", "Неподдерживаемый тип содержимого."),
    422: ("validation_error", "Данные не прошли проверку."),
    429: ("rate_limited", "Слишком много попыток. Повторите позже."),
    500: ("internal_error", "Внутренняя ошибка сервера."),
    503: ("unavailable", "Сервис временно недоступен."),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response | tuple[str, int]:
    if wants_json():
        resp = jsonify(
            {"error": {"code": code, "message": message, "details": details or {}}}
        )
        resp.status_code = status
        return resp
    template = (
        f"errors/{status}.html" if status in HTTP_CODES else "errors/generic.html"
    )
    return (
        render_template(
            template, status=status, code=code, message=message, details=details or {}
        ),
        status,
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DocflowError)
    def _domain(exc: DocflowError) -> Any:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        code, message = HTTP_CODES.get(status, ("http_error", exc.description or ""))
        if status == 429:
            resp = error_response(status, code, message)
            return resp
        # A custom description passed to abort() is more precise than ours.
        if exc.description and exc.description != type(exc).description:
            message = exc.description
        return error_response(status, code, message)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Any:
        # Optimistic concurrency: another request changed the row first.
        return error_response(
            409,
            "document_state_conflict",
            "Документ только что изменён другим действием. Обновите страницу и "
            "повторите, если это ещё нужно.",
        )

    @app.errorhandler(DataError)
    def _data(exc: DataError) -> Any:
        # PostgreSQL text cannot hold U+0000 and psycopg refuses such a value
        # before sending it; no field of the cabinet means one, so it is the
        # client's error (the JSON edge refuses it in JSON bodies already).
        if _has_nul_parameter(exc.params):
            return error_response(
                422,
                "validation_error",
                "Данные содержат недопустимый символ NUL (U+0000): удалите его и "
                "повторите.",
            )
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        error_id = uuid.uuid4().hex[:12]
        log.exception(
            "unhandled error %s on %s %s", error_id, request.method, request.path
        )
        return error_response(
            500,
            "internal_error",
            f"Внутренняя ошибка сервера. Код ошибки: {error_id}.",
            {"error_id": error_id},
        )


def _has_nul_parameter(params: Any) -> bool:
    """Whether a statement's parameters (a mapping, a sequence, or a list of
    either for ``executemany``) hold a string with U+0000."""
    rows = params if isinstance(params, list) else [params]
    for row in rows:
        values = row.values() if isinstance(row, Mapping) else row
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            continue
        if any(isinstance(v, str) and "\x00" in v for v in values):
            return True
    return False
