"""The building blocks of the API's models: base classes for request bodies,
query parameters and answers, the component registry, and the field types
that check input the way the API always has (the same Russian message, code
and ``details`` for the same mistake).

A field type here is a pydantic type with a ``BeforeValidator`` that raises a
:func:`refusal`; the message may say ``{field}``, which becomes the field's
name (its alias) when :func:`docflow.api.errors.validated` turns the first
error into a :class:`~docflow.errors.ValidationError`. A mistake pydantic
itself finds (a string too long, an integer out of bounds) gets its wording
from :data:`STANDARD_MESSAGES`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from docflow.errors import DocflowError, ValidationError

#: The error type of every refusal raised by the API's own checks.
REFUSAL = "docflow"

M = TypeVar("M", bound=type[BaseModel])

#: The models that are named in ``components/schemas`` (by class name); any
#: other model is written inline where it is used.
COMPONENTS: dict[str, type[BaseModel]] = {}


def component(model: M) -> M:
    """Name ``model`` in the document's ``components/schemas``."""
    name = model.__name__
    if COMPONENTS.get(name, model) is not model:
        raise RuntimeError(f"two API models are called {name}")
    COMPONENTS[name] = model
    return model


def refusal(
    message: str,
    *,
    code: str | None = None,
    error: type[DocflowError] = ValidationError,
    **details: Any,
) -> PydanticCustomError:
    """A refused value: ``message`` (``{field}`` stands for the field's name),
    the error ``code`` (``validation_error`` by default), the kind of
    ``error`` (a 422 unless said) and ``details`` beside ``{"field": <name>}``."""
    return PydanticCustomError(
        REFUSAL, message, {"code": code, "error": error, "details": details}
    )


# -- base classes ------------------------------------------------------------------------


def _finish_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A default is written into the document only where the field says so
    (:data:`DOCUMENTED`): most defaults are the route's business, not a
    promise. ``required_in_document`` names fields the document requires
    though the route, not the model, says so when one is missing."""
    # A model's docstring is for the developer who reads the route, not for
    # the integrator who reads the document.
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        if not prop.pop("x-documented-default", False):
            prop.pop("default", None)
    also = getattr(model, "required_in_document", ())
    if also:
        schema["required"] = [*schema.get("required", []), *also]


#: ``Field(json_schema_extra=DOCUMENTED)``: this default is part of the contract.
DOCUMENTED: dict[str, Any] = {"x-documented-default": True}


class RequestModel(BaseModel):
    """A JSON request body (or the JSON ``meta`` part of a multipart body).

    Fields are checked in the order they are declared, and the first mistake
    is the answer, as when the routes checked them one by one. A required
    field that is absent is checked as ``null`` (``payload.get(name)``), so
    that its own message says what is wrong with it.
    """

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra=_finish_schema,
    )
    #: What a message calls one of these fields.
    noun: ClassVar[str] = "Поле"
    #: Required in the document, though not by the model (see _finish_schema).
    required_in_document: ClassVar[tuple[str, ...]] = ()
    #: Where the fields are declared in the document's order but have always
    #: been checked in another: that order (the first mistake in it answers).
    check_order: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _absent_is_null(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        missing = {
            field.alias or name: None
            for name, field in cls.model_fields.items()
            if field.is_required() and (field.alias or name) not in data
        }
        return {**data, **missing} if missing else data


class QueryModel(RequestModel):
    """The query parameters of an operation: each is a string (the first value
    of the name), and no parameter outside the model is taken
    (``docflow.api.blueprint`` refuses unknown ones before the route runs)."""

    noun: ClassVar[str] = "Параметр"


class ResponseModel(BaseModel):
    """An answer's JSON, for the document (``docflow.api.serialize`` builds
    the dicts; the tests hold real answers against these models through the
    generated document). Every field is present unless it has a default."""

    model_config = ConfigDict(json_schema_extra=_finish_schema)


#: pydantic's own errors in the API's words (``{field}``: the field's name;
#: the other names come from the error's context). The field types check
#: everything else before pydantic does.
STANDARD_MESSAGES = {
    "string_too_long": "{noun} «{field}» длиннее {max_length} символов.",
    # The same, when the length is checked after the field's own check.
    "too_long": "{noun} «{field}» длиннее {max_length} символов.",
}
FALLBACK_MESSAGE = "{noun} «{field}» указано неверно."


# -- field types -------------------------------------------------------------------------


def _required_text(value: Any) -> Any:
    if value is None:
        raise refusal("Поле «{field}» обязательно.")
    if not isinstance(value, str):
        raise refusal("Поле «{field}» должно быть строкой.")
    return value


def _optional_text(value: Any) -> Any:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise refusal("Поле «{field}» должно быть строкой.")
    return value


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise refusal("Поле «{field}» должно быть идентификатором (UUID).")


def optional_uuid(value: Any) -> uuid.UUID | None:
    """An identifier, or ``None`` for nothing (absent, ``null`` or ``\"\"``)."""
    if value is None or value == "":
        return None
    return _uuid(value)


def _base64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise refusal("Поле «{field}» должно быть строкой base64.")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refusal("Поле «{field}» не является корректным base64.") from None


def decode_base64(value: Any, name: str) -> bytes:
    """:func:`_base64` for a value inside a field (``signatures.cms``)."""
    try:
        return _base64(value)
    except PydanticCustomError as exc:
        raise refusal(
            exc.message_template.replace("{field}", name), field=name
        ) from None


def _date(value: Any) -> dt.date:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise refusal("Поле «{field}» должно быть датой ГГГГ-ММ-ДД.")


def flag(message: str) -> Callable[[Any], bool]:
    """A strict ``true``/``false`` (``null`` and ``"true"`` are refused)."""

    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise refusal(message)
        return value

    return check


UUID_SCHEMA = {"type": "string", "format": "uuid"}
BINARY_SCHEMA = {"type": "string", "format": "binary"}

#: A required string: absent or ``null`` is «обязательно».
Text = Annotated[str, BeforeValidator(_required_text)]
#: An optional string: absent or ``null`` is ``""``.
OptionalText = Annotated[str, BeforeValidator(_optional_text)]
#: An identifier written as a string.
Uuid = Annotated[uuid.UUID, BeforeValidator(_uuid)]
#: Bytes sent as a base64 string.
Base64 = Annotated[
    bytes,
    BeforeValidator(_base64),
    WithJsonSchema({"type": "string", "format": "byte"}),
]
#: A day written ``ГГГГ-ММ-ДД``.
Day = Annotated[dt.date, BeforeValidator(_date)]
#: A file part of a multipart body (documentation only: werkzeug reads it).
Binary = Annotated[bytes, WithJsonSchema(BINARY_SCHEMA)]
#: A file part that may be left out.
OptionalBinary = Annotated[bytes | None, WithJsonSchema(BINARY_SCHEMA)]
#: Any JSON object.
FreeObject = dict[str, Any]


# -- query parameters --------------------------------------------------------------------


def int_param(low: int, high: int) -> BeforeValidator:
    """An integer from ``low`` to ``high`` written in ASCII digits."""

    def check(raw: Any) -> int:
        try:
            value = (
                int(raw)
                if isinstance(raw, str)
                and raw.isascii()
                and raw.strip().lstrip("-").isdigit()
                else None
            )
        except ValueError:  # "--5"
            value = None
        if value is None or not low <= value <= high:
            raise refusal(f"Параметр «{{field}}»: целое число от {low} до {high}.")
        return value

    return BeforeValidator(check)


def choice_param(allowed: Any, message: str | None = None) -> BeforeValidator:
    """One of ``allowed`` (in their order in the message unless ``message``)."""
    values = [getattr(v, "value", v) for v in allowed]

    def check(raw: Any) -> Any:
        if raw not in values:
            raise refusal(
                message or "Параметр «{field}»: одно из " + ", ".join(values) + "."
            )
        return raw

    return BeforeValidator(check)


def day_param(raw: Any) -> dt.date:
    """A day ``ГГГГ-ММ-ДД`` in a query parameter (the same words as a field)."""
    return _date(raw)


def contract_id_value(value: Any) -> uuid.UUID:
    """A body's ``contract_id``: a UUID string, else 422 naming the field."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise refusal(
        "Поле «contract_id» должно быть идентификатором (UUID).", field="contract_id"
    )


def require_contract_number(number: Any) -> None:
    """A body without ``contract_id`` names its contract by number: present, a
    string, at most 50 characters — else 422 naming the field."""
    if number is None:
        raise refusal("Поле «contract_number» обязательно.", field="contract_number")
    if not isinstance(number, str):
        raise refusal(
            "Поле «contract_number» должно быть строкой.", field="contract_number"
        )
    if len(number) > 50:
        raise refusal(
            "Поле «contract_number» длиннее 50 символов.", field="contract_number"
        )
