"""The API's own errors, and the reading of request bodies and query
parameters into their models (:mod:`docflow.api.schemas`).

Every failure becomes a :class:`~docflow.errors.DocflowError`, which the
application's handler turns into ``{"error": {"code", "message", "details"}}``
under ``/api/``: malformed input is a 4xx with a stable code, never a 500. A
body that is not the media type the route takes is a 415, a body too large a
413, one that is not strict JSON a 400 (``invalid_json``, ``json_too_deep``:
:func:`docflow.inputs.parse_json`), and a value the model refuses a 422 with
the first mistake, in the words of the field's check
(:mod:`docflow.api.schemas.fields`).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic
from flask import request

from docflow.api.base import OPERATIONS
from docflow.api.schemas.fields import (
    FALLBACK_MESSAGE,
    REFUSAL,
    STANDARD_MESSAGES,
    RequestModel,
)
from docflow.errors import DocflowError, PayloadTooLargeError, ValidationError
from docflow.inputs import parse_json

M = TypeVar("M", bound=RequestModel)


class BadRequestError(DocflowError):
    status = 400
    code = "bad_request"


class UnauthorizedError(DocflowError):
    status = 401
    code = "unauthorized"


class UnsupportedMediaTypeError(DocflowError):
    status = 415
    code = "unsupported_media_type"


def validated(model: type[M], data: Any) -> M:
    """``data`` as ``model``; the first mistake refused as the API words it.

    :raises ValidationError: (or the error the field's check names) with
        ``details.field``.
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        rank = {name: i for i, name in enumerate(model.check_order)}
        first = min(
            errors,
            key=lambda e: rank.get(str(e["loc"][0]) if e["loc"] else "", len(rank)),
        )
        raise _refusal(model, first) from None


def _refusal(model: type[RequestModel], error: Any) -> DocflowError:
    name = ".".join(str(part) for part in error["loc"])
    context = dict(error.get("ctx") or {})
    if error["type"] == REFUSAL:
        kind: type[DocflowError] = context["error"]
        details = {"field": name, **context["details"]}
        message = error["msg"].replace("{field}", name)
        return kind(message, code=context["code"], details=details)
    # A mistake pydantic itself found (a length, a bound): the API's words.
    template = STANDARD_MESSAGES.get(error["type"], FALLBACK_MESSAGE)
    message = template.format_map({**context, "noun": model.noun, "field": name})
    return ValidationError(message, details={"field": name})


def read_body(max_bytes: int) -> bytes:
    """The raw body, refused past ``max_bytes`` without reading further."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise _too_large(max_bytes)
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Тело запроса больше допустимых {max_bytes} байт.",
        details={"max_bytes": max_bytes},
    )


def read_json(model: type[M], *, max_bytes: int = 1024 * 1024) -> M:
    """The request's JSON object, as ``model``.

    :raises UnsupportedMediaTypeError: not ``application/json``.
    :raises PayloadTooLargeError: over ``max_bytes``.
    :raises DocflowError: empty or not strict JSON (code ``invalid_json``), or
        nested too deep (``json_too_deep``): the checks the edge made already.
    :raises ValidationError: JSON, but not an object, or refused by ``model``.
    """
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
    return validated(model, payload)


def read_query(model: type[M]) -> M:
    """The query parameters of the request, as ``model`` (the one the
    operation declares; a parameter it does not name was refused already)."""
    declared = OPERATIONS.get(request.endpoint or "")
    if declared is None or declared.query is not model:
        raise RuntimeError(f"{request.endpoint} does not declare the query {model}")
    return validated(model, request.args.to_dict())


def read_meta(model: type[RequestModel], *, hint: str) -> dict[str, Any]:
    """The JSON object in the multipart part ``meta`` (a form field or a file
    part of at most 64 KiB), with no field ``model`` does not name; the route
    validates it as ``model`` where its other parts have been looked at.

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
    allowed = {f.alias or name for name, f in model.model_fields.items()}
    unknown = sorted(set(meta) - allowed)
    if unknown:
        raise ValidationError(
            "Неизвестные поля в «meta»: " + ", ".join(unknown) + ".",
            details={"field": "meta", "unknown": unknown},
        )
    return meta
