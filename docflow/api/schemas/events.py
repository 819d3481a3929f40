"""Webhook endpoints and the event feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.common import example
from docflow.api.schemas.fields import (
    DOCUMENTED,
    FreeObject,
    OptionalText,
    QueryModel,
    RequestModel,
    ResponseModel,
    Text,
    component,
    int_param,
    refusal,
)


@component
class Webhook(ResponseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str
    created_at: dt.datetime


@component
class WebhookCreated(Webhook):
    secret: str = Field(
        description="Секрет подписи X-Signature; показывается один раз."
    )


@component
class WebhookList(ResponseModel):
    items: list[Webhook]


def _kinds(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise refusal("Поле «events»: список типов событий (пустой — все события).")
    return value


def _secret(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise refusal("Поле «secret» должно быть строкой.")
    return value


@component
class WebhookRequest(RequestModel):
    """Checked in this order; the address, the kinds of events and the secret's
    length are the service's to judge (``create_webhook``)."""

    url: Text = Field(
        max_length=1000,
        json_schema_extra=example("https://erp.example.ru/hooks/docflow"),
    )
    events: Annotated[list[str], BeforeValidator(_kinds)] = Field(
        default_factory=list, description="Типы событий; пусто — все."
    )
    secret: Annotated[
        str | None,
        BeforeValidator(_secret),
        WithJsonSchema({"type": "string", "minLength": 16, "maxLength": 200}),
    ] = None
    description: OptionalText = Field("", max_length=200)


@component
class Event(ResponseModel):
    id: str = Field(description="Курсор события (возрастает).")
    kind: str = Field(json_schema_extra=example("document.signed"))
    organisation_id: uuid.UUID | None
    created_at: dt.datetime
    data: FreeObject


@component
class EventList(ResponseModel):
    items: list[Event]
    next_cursor: str
    has_more: bool


def _cursor(raw: Any) -> int:
    if not (
        isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18
    ):
        raise refusal(
            "Параметр «after»: курсор из прошлого ответа (next_cursor).",
            code="invalid_cursor",
        )
    return int(raw)


class EventFeed(QueryModel):
    after: Annotated[
        int,
        BeforeValidator(_cursor),
        WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,18}$"}),
    ] = Field(0, description="`next_cursor` прошлого ответа (0 — с начала).")
    limit: Annotated[int, int_param(1, 500)] = Field(
        100, ge=1, le=500, json_schema_extra=DOCUMENTED
    )
