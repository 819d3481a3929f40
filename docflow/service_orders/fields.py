"""The fields a service asks for in its order: their description (kept as JSON
on the service) and the server-side check of what a customer entered.

A field is ``{"key", "label", "type", "required", "choices"}`` with ``type``
one of ``text``, ``number``, ``date``, ``choice``. The catalogue's
administrator writes them one per line::

    Адрес объекта | текст | обязательное
    Количество приборов | число
    Желаемая дата | дата | обязательное
    Тип прибора | выбор | обязательное | однофазный / трёхфазный
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from docflow.errors import ValidationError

FIELD_TYPES = {"text": "текст", "number": "число", "date": "дата", "choice": "выбор"}
_TYPE_BY_TITLE = {v: k for k, v in FIELD_TYPES.items()} | {k: k for k in FIELD_TYPES}
MAX_FIELDS = 20
MAX_CHOICES = 30
MAX_TEXT = 500
MAX_LABEL = 200
# Control characters a line of text never holds (TAB and line breaks are
# allowed only where said).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_NUMBER = re.compile(r"^-?\d{1,15}([.,]\d{1,6})?$")


def clean_text(
    value: Any,
    label: str,
    *,
    max_length: int,
    multiline: bool = False,
    required: bool = False,
) -> str:
    """A user's text: a string, stripped, bounded, without control characters.

    :raises ValidationError: naming ``label``.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(
            f"Поле «{label}»: ожидается текст.", details={"field": label}
        )
    text = value.strip()
    if (_CONTROL if multiline else _CONTROL_LINE).search(text):
        raise ValidationError(
            f"Поле «{label}» содержит недопустимые управляющие символы.",
            details={"field": label},
        )
    if len(text) > max_length:
        raise ValidationError(
            f"Поле «{label}» длиннее {max_length} символов.", details={"field": label}
        )
    if required and not text:
        raise ValidationError(f"Заполните поле «{label}».", details={"field": label})
    return text


def parse_spec(text: str) -> list[dict[str, Any]]:
    """The administrator's lines → the fields' JSON.

    :raises ValidationError: a line that does not read.
    """
    text = clean_text(text, "Поля заказа", max_length=10_000, multiline=True)
    fields: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        label = parts[0]
        if not label or len(label) > MAX_LABEL:
            raise ValidationError(
                f"Поля заказа, строка {number}: укажите название поля "
                f"(до {MAX_LABEL} символов).",
                details={"field": "fields"},
            )
        kind = _TYPE_BY_TITLE.get((parts[1] if len(parts) > 1 else "текст").lower())
        if kind is None:
            raise ValidationError(
                f"Поля заказа, строка {number}: тип — текст, число, дата или выбор.",
                details={"field": "fields"},
            )
        flags = parts[2].lower() if len(parts) > 2 else ""
        if flags not in ("", "обязательное", "необязательное"):
            raise ValidationError(
                f"Поля заказа, строка {number}: третья часть — «обязательное» или "
                "«необязательное».",
                details={"field": "fields"},
            )
        choices: list[str] = []
        if kind == "choice":
            choices = [
                c.strip() for c in (parts[3] if len(parts) > 3 else "").split("/")
            ]
            choices = [c for c in choices if c]
            if not 2 <= len(choices) <= MAX_CHOICES or len(set(choices)) != len(
                choices
            ):
                raise ValidationError(
                    f"Поля заказа, строка {number}: у поля выбора должно быть от 2 до "
                    f"{MAX_CHOICES} разных вариантов через «/».",
                    details={"field": "fields"},
                )
            if any(len(c) > MAX_LABEL for c in choices):
                raise ValidationError(
                    f"Поля заказа, строка {number}: вариант длиннее {MAX_LABEL} символов.",
                    details={"field": "fields"},
                )
        fields.append(
            {
                "key": f"f{len(fields) + 1}",
                "label": label,
                "type": kind,
                "required": flags == "обязательное",
                "choices": choices,
            }
        )
    if len(fields) > MAX_FIELDS:
        raise ValidationError(
            f"Не больше {MAX_FIELDS} полей заказа.", details={"field": "fields"}
        )
    if len({f["label"] for f in fields}) != len(fields):
        raise ValidationError(
            "Названия полей заказа повторяются.", details={"field": "fields"}
        )
    return fields


def spec_text(fields: Sequence[Mapping[str, Any]]) -> str:
    """The fields' JSON → the administrator's lines (the edit form)."""
    lines = []
    for f in fields:
        parts = [
            f["label"],
            FIELD_TYPES.get(f["type"], "текст"),
            "обязательное" if f.get("required") else "необязательное",
        ]
        if f["type"] == "choice":
            parts.append(" / ".join(f.get("choices", [])))
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def _date(value: str, label: str) -> str:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
            break
        return day.isoformat()
    raise ValidationError(
        f"Поле «{label}»: дата в виде ДД.ММ.ГГГГ.", details={"field": label}
    )


def check_values(
    fields: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What the customer entered, checked against the service's fields.

    Values are looked up by the field's key (the form) or its label (the
    API may send either). Returns the values in the fields' order and the
    errors by key (empty when all is well).
    """
    values: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for f in fields:
        key, label, kind = f["key"], f["label"], f["type"]
        value = raw.get(key, raw.get(label))
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and kind == "number"
        ):
            value = str(value)
        try:
            text = clean_text(
                value, label, max_length=MAX_TEXT, multiline=kind == "text"
            )
            if not text:
                if f.get("required"):
                    raise ValidationError(f"Заполните поле «{label}».")
            elif kind == "number":
                if not _NUMBER.match(text.replace(" ", "").replace("\u00a0", "")):
                    raise ValidationError(f"Поле «{label}»: ожидается число.")
                try:
                    Decimal(
                        text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
                    )
                except InvalidOperation:
                    raise ValidationError(f"Поле «{label}»: ожидается число.") from None
                text = text.replace(" ", "").replace("\u00a0", "")
            elif kind == "date":
                text = _date(text, label)
            elif kind == "choice" and text not in f.get("choices", []):
                raise ValidationError(f"Поле «{label}»: выберите один из вариантов.")
        except ValidationError as exc:
            errors[key] = exc.message
            continue
        values.append({"key": key, "label": label, "type": kind, "value": text})
    return values, errors


def display_value(item: Mapping[str, Any]) -> str:
    """A stored value as a person reads it (a date as ДД.ММ.ГГГГ)."""
    value = str(item.get("value") or "")
    if item.get("type") == "date" and value:
        try:
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return value or "—"
