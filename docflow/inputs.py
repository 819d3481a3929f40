"""The edge for JSON: every request body sent as JSON is checked here, once,
before any route reads it.

Python's ``json`` accepts what no route can use and some it cannot survive:
nesting 2,000 deep (RecursionError), a lone surrogate ``"\\ud800"`` (no
database or encoder takes it), ``NaN``, ``1e999`` (infinity), control characters
written as ``\\u0000``. The hook refuses, with a stable code and a Russian
message, a body that is

* larger than :data:`MAX_JSON_BYTES` (413 ``json_too_large``; a route may take
  more, :data:`LARGER_BODIES`),
* nested deeper than :data:`MAX_JSON_DEPTH` (400 ``json_too_deep``), counted
  without recursion,
* not JSON in UTF-8, or holding a lone surrogate, a non-finite number or a
  control character other than TAB, CR and LF in a string (400 ``invalid_json``,
  the API's code for a malformed body since its first version; I-JSON,
  RFC 7493, 2.1 and 2.2).

The ``meta`` part of a document upload to the API (JSON inside multipart) gets
the same checks, and its ``number``, ``title`` and ``comment`` with a control
character are a 422 ``validation_error`` naming the field, as the web form's.

The answer is always ``{"error": {"code", "message", "details"}}``: the web
pages' JSON routes are called by scripts, not read as pages.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request

from docflow.errors import DocflowError, PayloadTooLargeError, ValidationError

MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # the deepest body any route takes is 3
MAX_META_BYTES = 64 * 1024  # the ``meta`` part of ``POST /api/v1/documents``
#: Routes whose JSON carries a CMS signature in base64 (their own caps).
LARGER_BODIES = {
    "api.post_signature": 2 * 1024 * 1024,
    "api.complete_pades": 4 * 1024 * 1024,
}
#: The registration fields a control character is refused in, by name.
META_TEXT_FIELDS = ("number", "title", "comment")

#: C0 control characters but TAB, LF and CR: invisible, and refused by XML
#: (Excel), garbled by PDF and by every log line that prints them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string, escapes included. Possessive (no backtracking), and an
# unterminated one runs to the end of the text instead of failing: every
# character is looked at once, whatever the text (no quadratic rescans).
_STRING = re.compile(r'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonInvalidError(DocflowError):
    status = 400
    code = "invalid_json"


class JsonTooDeepError(DocflowError):
    status = 400
    code = "json_too_deep"


class JsonTooLargeError(PayloadTooLargeError):
    code = "json_too_large"


def control_character_message(label: str, found: str) -> str:
    """The refusal of a text field, the same on the web form and in the API."""
    return (
        f"Поле «{label}» содержит управляющие символы (U+{ord(found):04X}): удалите "
        "их; из невидимых символов допустимы только табуляция и перевод строки."
    )


def _too_large(limit: int) -> JsonTooLargeError:
    return JsonTooLargeError(
        f"JSON в запросе больше допустимых {limit // 1024} КБ.",
        details={"max_bytes": limit},
    )


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not
    counted; a running sum, so no stack to overflow however deep the text."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def load_json(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse ``data`` as strict JSON in UTF-8 after checking its depth.

    :raises JsonTooDeepError: nested deeper than ``max_depth``.
    :raises JsonInvalidError: not UTF-8, not JSON, ``NaN`` or an infinite number.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonInvalidError(
            "JSON в запросе не в кодировке UTF-8 (или содержит одиночный "
            "суррогат): такой текст не принимается.",
            details={"position": exc.start},
        ) from None
    depth = _depth(text)
    if depth > max_depth:
        raise JsonTooDeepError(
            f"JSON в запросе вложен на {depth} уровней, допустимо не больше "
            f"{max_depth}.",
            details={"max_depth": max_depth},
        )
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise JsonInvalidError(
            "Тело запроса не является корректным JSON: "
            f"строка {exc.lineno}, позиция {exc.colno}.",
            details={"line": exc.lineno, "column": exc.colno},
        ) from None
    except (ValueError, RecursionError):  # NaN, 1e999, 5,000 digits of an int
        raise JsonInvalidError(
            "Тело запроса не является корректным JSON: числа NaN, Infinity, "
            "бесконечные и слишком длинные не принимаются."
        ) from None


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    # The path goes into the answer: a key's own bad characters must not.
    shown = _LONE_SURROGATE.sub("\ufffd", CONTROL_CHARACTERS.sub("\ufffd", key))
    return f"{parent}.{shown[:100]}"


def check_text(payload: Any) -> None:
    """Refuse a lone surrogate or a control character (but TAB, CR, LF) in any
    string or key of ``payload``, walked without recursion.

    :raises JsonInvalidError: naming the first such string by its path.
    """
    stack: list[tuple[str, Any]] = [("$", payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(_path(path, key), key)
                stack.append((_path(path, key), item))
        elif isinstance(value, list):
            stack.extend((_path(path, i), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_string(path, value)


def _check_string(path: str, value: str) -> None:
    if found := _LONE_SURROGATE.search(value):
        raise JsonInvalidError(
            f"Строка {path[:200]} в JSON содержит одиночный суррогат "
            f"U+{ord(found.group()):04X}: это не текст Unicode.",
            details={"path": path[:200]},
        )
    if found := CONTROL_CHARACTERS.search(value):
        raise JsonInvalidError(
            f"Строка {path[:200]} в JSON содержит управляющий символ "
            f"U+{ord(found.group()):04X}: из невидимых символов допустимы только "
            "табуляция и перевод строки.",
            details={"path": path[:200]},
        )


def parse_json(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """:func:`load_json`, then :func:`check_text`."""
    payload = load_json(data, max_depth=max_depth)
    check_text(payload)
    return payload


# -- the hook --------------------------------------------------------------------


def _check_body() -> None:
    limit = max(MAX_JSON_BYTES, LARGER_BODIES.get(request.endpoint or "", 0))
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    # The routes read the body after us: from the bytes already read.
    request.stream = io.BytesIO(data)
    if data:  # an empty body is the route's to refuse
        parse_json(data)


def _check_meta() -> None:
    raw: str | None = request.form.get("meta")
    if raw is not None:
        data = raw.encode("utf-8")
    elif "meta" in request.files:
        part = request.files["meta"]
        data = part.stream.read(MAX_META_BYTES + 1)
        part.stream.seek(0)  # the route reads it again
    else:
        return
    if len(data) > MAX_META_BYTES:
        raise _too_large(MAX_META_BYTES)
    meta = load_json(data)
    if isinstance(meta, dict):
        for name in META_TEXT_FIELDS:
            value = meta.get(name)
            if isinstance(value, str) and (found := CONTROL_CHARACTERS.search(value)):
                raise ValidationError(
                    control_character_message(name, found.group()),
                    details={"field": name},
                )
    check_text(meta)


def _error(exc: DocflowError) -> Response:
    response = jsonify(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    )
    response.status_code = exc.status
    return response


_F = TypeVar("_F", bound=Callable[..., Any])


class FormRouteError(DocflowError):
    """JSON sent to a page that takes a form."""

    status = 415
    code = "unsupported_media_type"


def json_route(view: _F) -> _F:
    """Mark a page route that takes a JSON body (the API takes JSON anywhere);
    every other route refuses one (415), since Flask-WTF would read a JSON
    body as the form — ``[1, 2]`` or ``false`` there is no form at all."""
    view.accepts_json = True  # type: ignore[attr-defined]
    return view


def _takes_json() -> bool:
    if request.blueprint == "api":
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_json", False))


def guard_json() -> Response | None:
    """The ``before_request`` hook: ``None`` to go on, or the refusal."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    try:
        if request.is_json and not _takes_json():
            raise FormRouteError(
                "Эта страница принимает данные формы, а не JSON.",
                details={"content_type": request.mimetype},
            )
        if request.is_json:
            _check_body()
        elif request.blueprint == "api" and request.mimetype == "multipart/form-data":
            _check_meta()
    except DocflowError as exc:
        return _error(exc)
    return None


def init_app(app: Flask) -> None:
    app.before_request(guard_json)
