"""The API's own errors and the parsing of request bodies and parameters.

Every failure becomes a :class:`~docflow.errors.DocflowError`, which the
application's handler turns into ``{"error": {"code", "message", "details"}}``
under ``/api/``: malformed input is a 4xx with a stable code, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Any

from flask import request

from docflow.errors import DocflowError, PayloadTooLargeError, ValidationError


class BadRequestError(DocflowError):
    status = 400
    code = "bad_request"


class UnauthorizedError(DocflowError):
    status = 401
    code = "unauthorized"


class UnsupportedMediaTypeError(DocflowError):
    status = 415
    code = "unsupported_media_type"


def json_body(*, max_bytes: int = 1024 * 1024) -> dict[str, Any]:
    """The request's JSON object.

    :raises UnsupportedMediaTypeError: not ``application/json``.
    :raises PayloadTooLargeError: over ``max_bytes``.
    :raises DocflowError: not strict JSON (code ``invalid_json``), or nested too
        deep (``json_too_deep``): :func:`docflow.inputs.parse_json`, the checks
        the edge made already.
    :raises ValidationError: JSON, but not an object.
    """
    from docflow.inputs import parse_json

    if request.mimetype != "application/json":
        raise UnsupportedMediaTypeError(
            "Ожидается тело application/json.",
            details={"content_type": request.mimetype or None},
        )
    data = read_body(max_bytes)
    if not data:
        raise BadRequestError(
            "Тело запроса пусто: ожидается JSON.", code="invalid_json"
        )
    payload = parse_json(data)
    if not isinstance(payload, dict):
        raise ValidationError("Тело запроса должно быть объектом JSON.")
    return payload


def read_body(max_bytes: int) -> bytes:
    """The raw body, refused past ``max_bytes`` without reading further."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def multipart_meta(allowed: frozenset[str], *, hint: str) -> dict[str, Any]:
    """The JSON object in the multipart part ``meta`` (a form field or a file
    part of at most 64 KiB), with no field outside ``allowed``.

    :param hint: what the object holds, for the message when it is missing
        («JSON с типом, номером, датой…»).
    """
    raw: str | bytes | None = request.form.get("meta")
    if raw is None and "meta" in request.files:
        raw = request.files["meta"].read(64 * 1024 + 1)
    if raw is None:
        raise ValidationError(f"Нужна часть «meta»: {hint}.", details={"field": "meta"})
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError(
            "Часть «meta» не является корректным JSON.", code="invalid_json"
        ) from None
    if not isinstance(meta, dict):
        raise ValidationError(
            "Часть «meta» должна быть объектом JSON.", details={"field": "meta"}
        )
    unknown = sorted(set(meta) - allowed)
    if unknown:
        raise ValidationError(
            "Неизвестные поля в «meta»: " + ", ".join(unknown) + ".",
            details={"field": "meta", "unknown": unknown},
        )
    return meta


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Тело запроса больше допустимых {max_bytes} байт.",
        details={"max_bytes": max_bytes},
    )


def string_field(
    payload: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    max_length: int = 2000,
    default: str = "",
) -> str:
    value = payload.get(name)
    if value is None:
        if required:
            raise ValidationError(
                f"Поле «{name}» обязательно.", details={"field": name}
            )
        return default
    if not isinstance(value, str):
        raise ValidationError(
            f"Поле «{name}» должно быть строкой.", details={"field": name}
        )
    if len(value) > max_length:
        raise ValidationError(
            f"Поле «{name}» длиннее {max_length} символов.", details={"field": name}
        )
    return value


def uuid_field(payload: dict[str, Any], name: str) -> uuid.UUID:
    value = payload.get(name)
    try:
        return uuid.UUID(str(value)) if isinstance(value, str) else _no_uuid(name)
    except ValueError:
        return _no_uuid(name)


def _no_uuid(name: str) -> uuid.UUID:
    raise ValidationError(
        f"Поле «{name}» должно быть идентификатором (UUID).", details={"field": name}
    )


def base64_value(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"Поле «{name}» должно быть строкой base64.", details={"field": name}
        )
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"Поле «{name}» не является корректным base64.", details={"field": name}
        ) from None


def date_value(value: Any, name: str) -> dt.date:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(
        f"Поле «{name}» должно быть датой ГГГГ-ММ-ДД.", details={"field": name}
    )


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = (
            int(raw) if raw.isascii() and raw.strip().lstrip("-").isdigit() else None
        )
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationError(
            f"Параметр «{name}»: целое число от {low} до {high}.",
            details={"field": name},
        )
    return value


def bool_arg(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise ValidationError(
        f"Параметр «{name}»: true или false.", details={"field": name}
    )
