"""Readings: the contract's meters, submitting values (per-row errors), and
the ПРОМ10 act."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.fields import (
    QueryModel,
    RequestModel,
    ResponseModel,
    choice_param,
    component,
    flag,
    refusal,
)

MAX_ROWS = 1000
PERIOD_SCHEMA = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}


@component
class Meter(ResponseModel):
    id: uuid.UUID
    number: str
    object: str
    digits: int
    ratio: int
    status: str
    can_read: bool
    blocked_reason: str
    previous: int | None
    current: int | None
    current_status: str | None


@component
class MeterSheet(ResponseModel):
    contract: str
    period: str
    window_open: bool
    meters: list[Meter]


class ReadingRowIn(RequestModel):
    meter: str = Field(description="Номер счётчика.")
    value: Annotated[
        str | int,
        WithJsonSchema(
            {"oneOf": [{"type": "string", "maxLength": 20}, {"type": "integer"}]}
        ),
    ]
    kind: Literal["end", "start"] = "end"


def _rows(raw: Any) -> Any:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ROWS:
        raise refusal(
            f"Поле «rows»: от 1 до {MAX_ROWS} строк "
            '{"meter": "<номер>", "value": <показание>}.'
        )
    for index, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("meter"), str)
            or not isinstance(item.get("value"), str | int)
            or isinstance(item.get("value"), bool)
            or item.get("kind", "end") not in ("end", "start")
        ):
            raise refusal(
                f"Строка {index + 1}: ожидается "
                '{"meter": "<номер>", "value": <показание>, "kind": "end"|"start"}.',
                index=index,
            )
    return raw


@component
class ReadingsRequest(RequestModel):
    """``rows`` first, then ``send``; ``period`` is read once the contract is
    found (``ГГГГ-ММ``, by default the open window's)."""

    check_order = ("rows", "send")

    period: Annotated[Any, WithJsonSchema(PERIOD_SCHEMA)] = None
    send: Annotated[
        bool, BeforeValidator(flag("Поле «send» должно быть true или false."))
    ] = Field(False, description="Сразу «Передать показания в расчёт».")
    rows: Annotated[list[ReadingRowIn], BeforeValidator(_rows)] = Field(
        max_length=MAX_ROWS
    )


class ReadingResultRow(ResponseModel):
    index: int
    meter: str | None
    ok: bool
    error: str
    note: str


@component
class ReadingsResult(ResponseModel):
    period: str
    saved: int
    sent: int
    rows: list[ReadingResultRow]


def _bool_param(raw: Any) -> bool:
    if str(raw).lower() in {"true", "1", "yes"}:
        return True
    if str(raw).lower() in {"false", "0", "no"}:
        return False
    raise refusal("Параметр «{field}»: true или false.")


PERIOD = "Период ГГГГ-ММ (по умолчанию — текущий)."
#: The period, read by the route once the contract is found (``calc.parse_period``).
PeriodParam = Annotated[str, WithJsonSchema(PERIOD_SCHEMA)]


class Period(QueryModel):
    period: PeriodParam = Field("", description=PERIOD)


class RequiredPeriod(QueryModel):
    #: «Укажите период» is the route's to say, after the act's format.
    required_in_document = ("period",)

    period: PeriodParam = Field("", description=PERIOD)


class Prom10Query(QueryModel):
    required_in_document = ("period",)

    period: PeriodParam = Field("", description=PERIOD)
    format: Annotated[
        str,
        choice_param(["pdf", "docx", "xlsx"], "Параметр «format»: pdf, docx или xlsx."),
    ] = Field("pdf", json_schema_extra={"enum": ["pdf", "docx", "xlsx"]})
    filled: Annotated[
        bool,
        BeforeValidator(_bool_param),
        WithJsonSchema({"type": "string", "enum": ["true", "false"]}),
    ] = True
