"""Powers of attorney (МЧД): the answer for one, what a signature shows of
the МЧД it was made under, and the bodies of upload and revocation."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.common import OrganisationRef, example
from docflow.api.schemas.fields import (
    UUID_SCHEMA,
    Binary,
    OptionalText,
    RequestModel,
    ResponseModel,
    component,
    optional_uuid,
    refusal,
)
from docflow.errors import PayloadTooLargeError
from docflow.inputs import CONTROL_CHARACTERS
from docflow.powers import services as powers

MAX_XML_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = powers.MAX_SIGNATURE_BYTES  # 256 KiB
#: The parts of an upload: what a message calls each, and its limit.
PARTS = {
    "file": ("Файл МЧД (XML)", MAX_XML_BYTES),
    "signature": ("Файл подписи МЧД (.sig)", MAX_SIGNATURE_BYTES),
}


class Principal(ResponseModel):
    name: str
    inn: str
    ogrn: str | None
    kpp: str | None


class PowerSigner(ResponseModel):
    name: str
    serial: str
    inn_le: str | None
    qualified: bool = Field(
        description="Квалифицированный сертификат (аккредитованный УЦ)."
    )


class Person(ResponseModel):
    last_name: str
    first_name: str
    patronymic: str | None
    snils: str | None = Field(description="СНИЛС, 11 цифр.")
    inn: str | None = Field(description="ИНН физического лица.")


class SignaturePower(ResponseModel):
    """What a signature's JSON shows of its МЧД (``signature_power``)."""

    id: uuid.UUID
    number: str
    internal_number: str | None
    label: str
    issued_on: dt.date
    valid_until: dt.date
    principal: Principal
    signer: PowerSigner
    xml_sha256: str
    status_source: str = Field(description="Кто подтвердил статус МЧД при подписи.")
    status_checked_at: dt.datetime
    valid_at: dt.datetime = Field(
        description="Момент подписи, на который проверена МЧД."
    )


class Power(ResponseModel):
    code: str | None = Field(
        description="Код полномочия по классификатору ФНС; null — текстовое полномочие."
    )
    text: str


@component
class PowerOfAttorney(ResponseModel):
    id: uuid.UUID
    number: str = Field(description="Номер МЧД (GUID, НомДовер) в нижнем регистре.")
    internal_number: str | None = Field(description="Внутренний номер.")
    label: str = Field(json_schema_extra=example("№ МЧД-7/2026 (4f1c…) от 15.01.2026"))
    format_version: str = Field(json_schema_extra=example("EMCHD_1"))
    issued_on: dt.date
    valid_until: dt.date
    principal: Principal = Field(description="Доверитель, как записан в МЧД.")
    organisation: OrganisationRef
    representatives: list[Person]
    powers: list[Power]
    redelegation: Literal["1", "2", "3"] = Field(
        description="1 — без права передоверия, 2 — однократное, 3 — последующее."
    )
    head: Person | None = Field(description="Лицо без доверенности.")
    signer: PowerSigner
    status: Literal["active", "revoked"]
    status_label: str = Field(json_schema_extra=example("действует"))
    status_source: Literal["registry", "local"] = Field(
        description="registry — статус проверен в реестре ФНС, local — реестр не "
        "подключён, статус кабинета."
    )
    status_checked_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    certificate_id: uuid.UUID | None = Field(
        description="Сертификат, для которого загружена МЧД."
    )
    xml_sha256: str
    created_at: dt.datetime


@component
class PowerOfAttorneyList(ResponseModel):
    items: list[PowerOfAttorney]


# -- upload ----------------------------------------------------------------------------


def _file(part: str, json_name: str) -> BeforeValidator:
    """A file sent in base64 (``xml``, ``signature``): present, base64, not
    past the part's limit (413), not blank."""
    label, limit = PARTS[part]
    missing = f"{label}: приложите его, поле «{json_name}» (base64)."

    def check(value: Any) -> bytes:
        if value is None or value == "":
            raise refusal(missing)
        if not isinstance(value, str):
            raise refusal("Поле «{field}» должно быть строкой base64.")
        try:
            data = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise refusal("Поле «{field}» не является корректным base64.") from None
        if len(data) > limit:
            raise refusal(
                f"{label} больше {limit // 1024} КБ.",
                error=PayloadTooLargeError,
                field=part,
                max_bytes=limit,
            )
        if not data.strip():
            raise refusal(missing)
        return data

    return BeforeValidator(check)


#: The certificate an МЧД is uploaded for: none, or a registered one's id.
CertificateId = Annotated[uuid.UUID | None, BeforeValidator(optional_uuid)]


@component
class PowerOfAttorneyUpload(RequestModel):
    xml: Annotated[
        bytes,
        _file("file", "xml"),
        WithJsonSchema({"type": "string", "format": "byte"}),
    ] = Field(description="Файл МЧД (XML) в base64, до 1 МБ.")
    signature: Annotated[
        bytes,
        _file("signature", "signature"),
        WithJsonSchema({"type": "string", "format": "byte"}),
    ] = Field(description="Откреплённая подпись МЧД (.sig, CMS) в base64, до 256 КБ.")
    certificate_id: CertificateId = Field(
        None,
        description="Зарегистрированный сертификат, владелец которого — "
        "представитель в МЧД.",
    )


class CertificateChoice(RequestModel):
    """The ``certificate_id`` of a multipart upload, checked as the JSON one."""

    certificate_id: CertificateId = None


class PowerOfAttorneyParts(RequestModel):
    """The multipart form of the upload (documentation: werkzeug reads it)."""

    file: Binary = Field(description="Файл МЧД (XML), до 1 МБ.")
    signature: Binary = Field(description="Откреплённая подпись МЧД (.sig), до 256 КБ.")
    certificate_id: Annotated[str, WithJsonSchema(UUID_SCHEMA)] = Field(
        "",
        description="Зарегистрированный сертификат, владелец которого — "
        "представитель в МЧД.",
    )


# -- revocation ------------------------------------------------------------------------

MAX_REASON_LENGTH = 500


def _no_control(value: str) -> str:
    if found := CONTROL_CHARACTERS.search(value):
        raise refusal(
            f"Поле «reason» содержит управляющий символ U+{ord(found.group()):04X}."
        )
    return value


@component
class PowerRevocation(RequestModel):
    reason: Annotated[
        OptionalText,
        Field(max_length=MAX_REASON_LENGTH),
        AfterValidator(_no_control),
        WithJsonSchema(
            {
                "type": "string",
                "maxLength": MAX_REASON_LENGTH,
                "nullable": True,
                "example": "Сотрудник уволен",
            }
        ),
    ] = ""


#: What the operations that sign say of a personal certificate.
SIGNING_UNDER_POWER = (
    "Личный сертификат (без ИНН организации) подписывает только по МЧД, "
    "загруженной в `POST /powers-of-attorney` и действующей на время подписи: "
    "иначе 422 `power_of_attorney_required`, `_representative`, `_principal`, "
    "`_expired`, `_revoked`, `_not_registered`, `_power` или 503 "
    "`power_of_attorney_registry_unavailable`. Принятая подпись называет МЧД в "
    "поле `power_of_attorney`."
)
