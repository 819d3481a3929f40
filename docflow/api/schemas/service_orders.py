"""Commercial services: the catalogue, an order with its documents, ordering,
and the filters of the list."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from docflow.api.schemas.fields import (
    UUID_SCHEMA,
    OptionalText,
    QueryModel,
    RequestModel,
    ResponseModel,
    choice_param,
    component,
    day_param,
    int_param,
    refusal,
)
from docflow.service_orders.models import OrderStatus

DAY_SCHEMA = {"type": "string", "format": "date"}


class ServiceField(ResponseModel):
    key: str
    label: str
    type: Literal["text", "number", "date", "choice"]
    required: bool
    choices: list[str]


@component
class Service(ResponseModel):
    id: uuid.UUID
    name: str
    description: str
    unit: str
    price_kopecks: int
    vat_rate: int
    vat_kopecks: int
    price_without_vat_kopecks: int
    fields: list[ServiceField]


@component
class ServiceList(ResponseModel):
    items: list[Service]


class OrderFieldValue(ResponseModel):
    key: str
    label: str
    value: str


class OrderDocument(ResponseModel):
    id: uuid.UUID
    type: str
    number: str
    status: str


@component
class Order(ResponseModel):
    id: uuid.UUID
    number: str
    service_id: uuid.UUID
    service: str
    contract: str
    contract_id: uuid.UUID
    status: str
    status_title: str
    quantity: int
    unit: str
    price_kopecks: int
    total_kopecks: int
    vat_rate: int
    vat_kopecks: int
    fields: list[OrderFieldValue]
    comment: str
    offer_document_id: uuid.UUID | None
    invoice_document_id: uuid.UUID | None
    payment_reference: str | None
    created_at: dt.datetime | None
    paid_at: dt.datetime | None
    done_at: dt.datetime | None
    documents: list[OrderDocument]


@component
class OrderList(ResponseModel):
    items: list[Order]


def _service_id(value: Any) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise refusal("Поле «service_id» должно быть идентификатором услуги (UUID).")


def _values(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise refusal("Поле «fields» должно быть объектом {поле: значение}.")
    return value


CONTRACT_ID_MESSAGE = "Поле «contract_id» должно быть идентификатором (UUID)."


@component
class OrderRequest(RequestModel):
    """Checked in :attr:`check_order`, then the contract;
    the quantity, comment and contacts are the service's to judge
    (``OrderInput``)."""

    required_in_document = ("fields",)
    check_order = ("service_id", "fields", "idempotency_key")

    service_id: Annotated[
        uuid.UUID, BeforeValidator(_service_id), WithJsonSchema(UUID_SCHEMA)
    ]
    contract_number: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": 50})
    ] = None
    contract_id: Annotated[Any, WithJsonSchema(UUID_SCHEMA)] = None
    fields: Annotated[
        dict[str, Any],
        BeforeValidator(_values),
        WithJsonSchema(
            {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 500},
            }
        ),
    ] = Field(
        default_factory=dict,
        description="Значения полей услуги по ключу (или названию) поля; даты — "
        "ГГГГ-ММ-ДД.",
    )
    quantity: Annotated[
        Any, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 1000})
    ] = 1
    comment: Annotated[Any, WithJsonSchema({"type": "string", "maxLength": 2000})] = ""
    contact_name: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": 200})
    ] = ""
    contact_phone: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": 50})
    ] = ""
    idempotency_key: OptionalText = Field(
        "",
        max_length=64,
        description="Повтор с тем же ключом вернёт первый заказ.",
    )

    @model_validator(mode="after")
    def _one_contract(self) -> OrderRequest:
        if self.contract_id is not None:
            if not isinstance(self.contract_id, str):
                raise refusal(CONTRACT_ID_MESSAGE, field="contract_id")
            try:
                self.contract_id = uuid.UUID(self.contract_id)
            except ValueError:
                raise refusal(CONTRACT_ID_MESSAGE, field="contract_id") from None
            return self
        self.contract_number = contract_number(self.contract_number)
        return self


def contract_number(value: Any) -> str:
    """The number of the contract an order is for (``contract_number`` of the
    body, ``contract`` of the list's filter): a string of at most 50, given."""
    if value is not None and not isinstance(value, str):
        raise refusal(
            "Поле «contract_number» должно быть строкой.", field="contract_number"
        )
    if value is not None and len(value) > 50:
        raise refusal(
            "Поле «contract_number» длиннее 50 символов.", field="contract_number"
        )
    if not value:
        raise refusal(
            "Укажите договор: «contract_number» или «contract_id».",
            field="contract_number",
        )
    return value


def _filter_contract(value: Any) -> str:
    """The list's ``contract`` is checked as an order's ``contract_number``."""
    if value and len(value) > 50:
        raise refusal(
            "Поле «contract_number» длиннее 50 символов.", field="contract_number"
        )
    return str(value)


class OrderFilters(QueryModel):
    status: Annotated[
        str,
        choice_param(
            list(OrderStatus),
            "Параметр «status»: " + ", ".join(s.value for s in OrderStatus) + ".",
        ),
    ] = Field("", json_schema_extra={"enum": [s.value for s in OrderStatus]})
    contract: Annotated[str, BeforeValidator(_filter_contract)] = Field(
        "", description="Номер договора.", json_schema_extra={"maxLength": 50}
    )
    from_: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, alias="from", description="Оформлены не раньше (ГГГГ-ММ-ДД).")
    to: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, description="Оформлены не позже (ГГГГ-ММ-ДД).")
    limit: Annotated[int, int_param(1, 200)] = Field(50, ge=1, le=200)
    offset: Annotated[
        int, int_param(0, 100_000), WithJsonSchema({"type": "integer", "minimum": 0})
    ] = 0
