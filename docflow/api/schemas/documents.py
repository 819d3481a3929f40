"""Documents: the answer for a document (with its route, files and
signatures), the page of a search, registration (``meta``), and the bodies of
the transitions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from docflow.api.schemas.common import ContractRef, File, OrganisationRef, example
from docflow.api.schemas.fields import (
    DOCUMENTED,
    UUID_SCHEMA,
    Binary,
    Day,
    OptionalText,
    QueryModel,
    RequestModel,
    ResponseModel,
    Text,
    choice_param,
    component,
    contract_id_value,
    day_param,
    int_param,
    refusal,
    require_contract_number,
)
from docflow.api.schemas.signatures import Signature, SignatureWithReport
from docflow.documents.models import DocStatus, DocType

Party = Literal["customer", "supplier"]
DOC_TYPES = [t.value for t in DocType]
DAY_SCHEMA = {"type": "string", "format": "date"}


@component
class RouteStep(ResponseModel):
    position: int
    party: Party
    status: Literal["waiting", "current", "signed", "refused"]
    completed_at: dt.datetime | None


@component
class Document(ResponseModel):
    id: uuid.UUID
    type: DocType
    type_title: str
    number: str
    date: dt.date
    title: str
    comment: str
    status: DocStatus
    status_label: str
    source: str
    contract: ContractRef
    organisation: OrganisationRef
    route: list[RouteStep]
    files: list[File]
    signatures: list[Signature]
    refusal_reason: str | None
    revocation_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


@component
class DocumentList(ResponseModel):
    items: list[Document]
    next_cursor: str | None = Field(
        description="Передайте как `cursor` за следующей страницей; null — страниц "
        "больше нет."
    )


@component
class FileList(ResponseModel):
    items: list[File]


# -- registration ----------------------------------------------------------------------


def _route(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [p.strip() for p in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise refusal('Поле «route»: список сторон, например ["customer", "supplier"].')
    return value


@component
class DocumentMeta(RequestModel):
    """The ``meta`` part of ``POST /documents``: what the document is. Fields
    are checked in :attr:`check_order`, the contract last (``contract_id``,
    else ``contract_number``)."""

    model_config = {"extra": "forbid"}
    check_order = ("type", "number", "title", "comment", "date", "route")

    type: Annotated[
        Text,
        Field(max_length=40),
        WithJsonSchema({"type": "string", "enum": DOC_TYPES}),
    ]
    number: Text = Field(max_length=100, json_schema_extra=example("П-2026-10"))
    date: Day = Field(json_schema_extra=example("2026-10-31"))
    contract_number: Annotated[
        Any, WithJsonSchema({"type": "string", "maxLength": 50})
    ] = Field(
        None,
        description="Номер договора (или `contract_id`).",
        json_schema_extra=example("77-0001-ЮЛ"),
    )
    contract_id: Annotated[Any, WithJsonSchema(UUID_SCHEMA)] = None
    title: Text = Field(max_length=500)
    comment: OptionalText = Field("", max_length=5000)
    route: Annotated[
        list[str],
        BeforeValidator(_route),
        WithJsonSchema(
            {
                "type": "array",
                "items": {"enum": ["customer", "supplier"], "type": "string"},
            }
        ),
    ] = Field(
        default_factory=lambda: ["customer", "supplier"],
        description="Кто подписывает и в каком порядке; по умолчанию "
        '["customer", "supplier"].',
    )

    @model_validator(mode="after")
    def _one_contract(self) -> DocumentMeta:
        if self.contract_id is not None:
            self.contract_id = contract_id_value(self.contract_id)
            return self
        require_contract_number(self.contract_number)
        return self


class DocumentUpload(RequestModel):
    """``POST /documents`` as multipart (documentation: werkzeug reads it)."""

    file: Binary = Field(description="Документ (PDF, DOCX, XLSX…).")
    attachments: list[Binary] = []
    meta: DocumentMeta


@component
class Reason(RequestModel):
    reason: Text = Field(max_length=2000, json_schema_extra={"minLength": 3})


# -- the search ------------------------------------------------------------------------


def _inn(raw: Any) -> str:
    if not (
        isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 12
    ):
        raise refusal("Параметр «counterparty_inn»: от 1 до 12 цифр.")
    return raw


def _query_uuid(raw: Any) -> str:
    try:
        uuid.UUID(raw)
    except ValueError:
        raise refusal("Параметр «{field}» должен быть UUID.") from None
    return str(raw)


def _longest(limit: int, code: str | None = None) -> BeforeValidator:
    def check(raw: Any) -> Any:
        if len(raw) > limit:
            raise refusal(f"Параметр «{{field}}» длиннее {limit} символов.", code=code)
        return raw

    return BeforeValidator(check)


class DocumentSearch(QueryModel):
    """The filters of the page «Документы»: a malformed one is refused (in
    :attr:`check_order`) rather than forgiven. The search itself reads the same
    arguments (``SearchFilters.from_args``)."""

    check_order = (
        "type",
        "doc_type",
        "status",
        "awaiting_me",
        "contract_id",
        "contract_number",
        "date_from",
        "date_to",
        "counterparty_inn",
        "q",
        "number",
        "signer",
        "cursor",
        "limit",
    )

    q: Annotated[str, _longest(200)] = Field(
        "", max_length=200, description="Полнотекстовый поиск."
    )
    number: Annotated[str, _longest(100)] = Field(
        "", max_length=100, description="Номер или его часть."
    )
    type: Annotated[str, choice_param(sorted(DOC_TYPES))] = Field(
        "", json_schema_extra={"enum": [*DOC_TYPES]}
    )
    doc_type: Annotated[str, choice_param(sorted(DOC_TYPES))] = Field(
        "",
        description="То же, что `type` (имя фильтра страницы «Документы»).",
        json_schema_extra={"enum": [*DOC_TYPES]},
    )
    status: Annotated[str, choice_param(sorted(s.value for s in DocStatus))] = Field(
        "", json_schema_extra={"enum": [s.value for s in DocStatus]}
    )
    contract_id: Annotated[
        str, BeforeValidator(_query_uuid), WithJsonSchema(UUID_SCHEMA)
    ] = ""
    contract_number: Annotated[str, _longest(50)] = Field(
        "",
        max_length=50,
        description="Номер договора (или его начало), без учёта регистра.",
    )
    counterparty_inn: Annotated[str, BeforeValidator(_inn)] = Field(
        "",
        description="ИНН организации-клиента (или его начало).",
        json_schema_extra={"pattern": "^[0-9]{1,12}$"},
    )
    date_from: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = None
    date_to: Annotated[
        dt.date | None, BeforeValidator(day_param), WithJsonSchema(DAY_SCHEMA)
    ] = None
    signer: Annotated[str, _longest(300)] = Field(
        "", max_length=300, description="ФИО подписанта."
    )
    awaiting_me: Annotated[str, choice_param(["false", "true"])] = Field(
        "",
        description="Только ожидающие подписи стороны ключа.",
        json_schema_extra={"enum": ["true", "false"]},
    )
    limit: Annotated[int, int_param(1, 200)] = Field(
        50, ge=1, le=200, json_schema_extra=DOCUMENTED
    )
    cursor: Annotated[str, _longest(200, "invalid_cursor")] = Field(
        "", max_length=200, description="`next_cursor` прошлого ответа."
    )


# -- signing ---------------------------------------------------------------------------


@component
class SigningItem(ResponseModel):
    kind: Literal["cms", "pades"]
    tbs: str = Field(
        description="Байты для подписи ключом (DER подписываемых атрибутов), base64.",
        json_schema_extra={"format": "byte"},
    )
    hash: str = Field(json_schema_extra=example("SHA-256"))
    scheme: str = Field(json_schema_extra=example("pkcs1"))
    algorithm: dict[str, Any]


@component
class PreparedSigning(ResponseModel):
    session_id: uuid.UUID
    expires_at: dt.datetime | None
    items: list[SigningItem]


@component
class SignedResult(ResponseModel):
    signature: SignatureWithReport
    document: Document
