"""Appeals (обращения): topics, an appeal with its answer and history, the
filing (``meta``) and the filters of the list."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from docflow.api.schemas.common import ContractRef, File, OrganisationRef
from docflow.api.schemas.fields import (
    UUID_SCHEMA,
    Binary,
    QueryModel,
    RequestModel,
    ResponseModel,
    Text,
    Uuid,
    choice_param,
    component,
    contract_id_value,
    day_param,
    require_contract_number,
)
from docflow.appeals.models import AppealStatus
from docflow.appeals.services import MAX_TEXT

DAY_SCHEMA = {"type": "string", "format": "date"}


@component
class AppealTopic(ResponseModel):
    id: uuid.UUID
    title: str
    description: str
    legally_significant: bool
    answer_hours: int


@component
class AppealTopicList(ResponseModel):
    items: list[AppealTopic]


class Contact(ResponseModel):
    name: str
    phone: str


class AppealAnswer(ResponseModel):
    text: str | None
    document_id: uuid.UUID
    files: list[File]


class AppealEvent(ResponseModel):
    status: str
    at: dt.datetime | None
    by: str
    note: str


@component
class Appeal(ResponseModel):
    """An appeal; ``text``, ``contact``, ``files``, ``answer`` and ``history``
    are in the answer for one appeal, not in the list."""

    id: uuid.UUID
    number: str
    status: str
    status_title: str
    topic: AppealTopic
    contract: ContractRef
    organisation: OrganisationRef
    created_at: dt.datetime | None
    registered_at: dt.datetime | None
    due_at: dt.datetime | None
    overdue: bool
    document_id: uuid.UUID | None
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    text: str
    contact: Contact
    files: list[File]
    answer: AppealAnswer | None
    history: list[AppealEvent]


@component
class AppealList(ResponseModel):
    items: list[Appeal]
    total: int
    page: int
    pages: int


@component
class AppealRequest(RequestModel):
    """The ``meta`` part of ``POST /appeals``, checked in this order, the
    contract last (``contract_id``, else ``contract_number``)."""

    topic_id: Uuid
    contract_number: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": 50})
    ] = None
    contract_id: Annotated[Any, WithJsonSchema(UUID_SCHEMA)] = None
    text: Text = Field(max_length=MAX_TEXT, json_schema_extra={"minLength": 10})
    contact_name: Text = Field(max_length=300)
    contact_phone: Text = Field(max_length=30)

    @model_validator(mode="after")
    def _one_contract(self) -> AppealRequest:
        if self.contract_id is not None:
            self.contract_id = contract_id_value(self.contract_id)
            return self
        require_contract_number(self.contract_number)
        return self


class AppealUpload(RequestModel):
    """``POST /appeals`` as multipart (documentation: werkzeug reads it)."""

    meta: AppealRequest
    attachments: list[Binary] = Field(
        [],
        max_length=5,
        description="До 5 файлов, каждый в пределах ограничения на файлы документов.",
    )


class AppealFilters(QueryModel):
    """The list's filters. A malformed status, day or ``overdue`` is refused
    here; the text filters, the identifiers and the page are judged by the
    search's own reading of the arguments (``AppealFilters.from_args``) and by
    the route, after these."""

    q: str = Field(
        "",
        description="Номер или текст обращения.",
        json_schema_extra={"maxLength": 200},
    )
    status: Annotated[str, choice_param(list(AppealStatus))] = Field(
        "", json_schema_extra={"enum": [s.value for s in AppealStatus]}
    )
    topic_id: Annotated[str, WithJsonSchema(UUID_SCHEMA)] = ""
    contract_id: Annotated[str, WithJsonSchema(UUID_SCHEMA)] = ""
    organisation: str = Field(
        "",
        description="Название или ИНН организации (для ключа поставщика).",
        json_schema_extra={"maxLength": 300},
    )
    date_from: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, description="Поданы не раньше (ГГГГ-ММ-ДД).")
    date_to: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = Field(None, description="Поданы не позже (ГГГГ-ММ-ДД).")
    overdue: Annotated[
        str, choice_param(["true", "false"], "Параметр «overdue»: true или false.")
    ] = Field(
        "",
        description="Только просроченные (срок ответа истёк).",
        json_schema_extra={"enum": ["true", "false"]},
    )
    page: Annotated[str | None, WithJsonSchema({"type": "integer", "minimum": 1})] = (
        None
    )
