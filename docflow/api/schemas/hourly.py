"""Hourly volumes: an upload of a file and its verdict, and the values read
back."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, WithJsonSchema

from docflow.api.schemas.fields import (
    Binary,
    QueryModel,
    RequestModel,
    ResponseModel,
    component,
)

DAY_SCHEMA = {"type": "string", "format": "date"}


class HourlyFileError(ResponseModel):
    file: str
    row: int
    point: str
    message: str


@component
class HourlyUpload(ResponseModel):
    id: uuid.UUID
    filename: str
    format: str
    accepted: bool
    values: int
    points: int
    first_day: str | None
    last_day: str | None
    errors: list[HourlyFileError]
    created_at: str | None
    sha256: str
    file_kept: bool


@component
class HourlyUploadList(ResponseModel):
    items: list[HourlyUpload]


class HourlyValue(ResponseModel):
    day: str
    hour: int
    value: str
    status: int
    version: int


class HourlyPoint(ResponseModel):
    code: str
    name: str
    meter_id: str | None


@component
class HourlyValues(ResponseModel):
    """The values of a point's channel; without ``point``, the list of the
    contract's points."""

    contract: str
    point: str = ""
    channel: str = ""
    from_: str = Field("", alias="from")
    to: str = ""
    values: list[HourlyValue] = []
    points: list[HourlyPoint] = []


class HourlyFile(RequestModel):
    file: Binary = Field(
        description="XML 80020 (windows-1251), Excel (.xlsx: дни × 24 часа по точке и "
        "каналу) или CSV «Точка;Канал;Дата;Час;Значение;Статус», до 20 МБ."
    )


class HourlyQuery(QueryModel):
    """Read by the route once the contract and the point are found: the channel
    (``channel_of`` takes «a+» and a Cyrillic «А»), then the period."""

    point: str = Field(
        "", description="Код точки.", json_schema_extra={"maxLength": 30}
    )
    channel: str = Field(
        "",
        description="Канал (по умолчанию A+).",
        json_schema_extra={"enum": ["A+", "A-", "R+", "R-"]},
    )
    from_: Annotated[str, WithJsonSchema(DAY_SCHEMA)] = Field(
        "", alias="from", description="Первый день периода."
    )
    to: Annotated[str, WithJsonSchema(DAY_SCHEMA)] = Field(
        "", description="Последний день периода."
    )
