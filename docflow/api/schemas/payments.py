"""Online payments: one payment, the list and its filters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.fields import (
    QueryModel,
    ResponseModel,
    choice_param,
    component,
    day_param,
    int_param,
    refusal,
)
from docflow.payments.models import OnlinePaymentStatus

PAYMENT_STATUSES = [s.value for s in OnlinePaymentStatus]
DAY_SCHEMA = {"type": "string", "format": "date"}


@component
class OnlinePayment(ResponseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    contract_number: str
    amount_kopecks: int
    purpose: str
    status: OnlinePaymentStatus
    status_title: str
    provider: Literal["tbank", "fake"]
    provider_payment_id: str | None
    kind: str | None
    reference: str | None
    created_at: dt.datetime
    paid_at: dt.datetime | None


@component
class OnlinePaymentList(ResponseModel):
    items: list[OnlinePayment]


def _contract(value: Any) -> str:
    if not 0 < len(value) <= 50:
        raise refusal("Параметр «contract»: номер договора до 50 символов.")
    return str(value)


class PaymentFilters(QueryModel):
    status: Annotated[
        str,
        choice_param(
            PAYMENT_STATUSES, "Параметр «status»: " + ", ".join(PAYMENT_STATUSES) + "."
        ),
    ] = Field("", json_schema_extra={"enum": [*PAYMENT_STATUSES]})
    contract: Annotated[str, BeforeValidator(_contract)] = Field(
        "",
        description="Номер договора (или его часть).",
        json_schema_extra={"minLength": 1, "maxLength": 50},
    )
    from_: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, alias="from", description="Созданы не раньше (ГГГГ-ММ-ДД, МСК).")
    to: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, description="Созданы не позже (ГГГГ-ММ-ДД, МСК).")
    limit: Annotated[int, int_param(1, 200)] = Field(50, ge=1, le=200)
