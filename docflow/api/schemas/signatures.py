"""Signatures: the answer for one (with its verification report), the bodies
that post one (a detached CMS, the two phases of PAdES), and the verdict of
``POST /verify``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.fields import (
    DOCUMENTED,
    Base64,
    FreeObject,
    OptionalBinary,
    RequestModel,
    ResponseModel,
    Uuid,
    component,
    decode_base64,
    flag,
    refusal,
)
from docflow.api.schemas.powers import SignaturePower

Verdict = Literal["valid", "invalid", "indeterminate"]


class SignatureTimestamp(ResponseModel):
    time: dt.datetime
    serial: str
    tsa: str | None


@component
class Signature(ResponseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    party: Literal["customer", "supplier"]
    signer_name: str
    signer_organisation: str | None
    certificate_id: uuid.UUID | None
    certificate_serial: str
    certificate_not_before: dt.datetime
    certificate_not_after: dt.datetime
    signing_time: dt.datetime
    signing_time_source: Literal["timestamp", "receipt", "validation_time"] = Field(
        description="What proves signing_time: the signature's RFC 3161 time-stamp, "
        "else the moment the service received it. Never the signer's own claim "
        "(claimed_time)."
    )
    received_at: dt.datetime | None
    claimed_time: dt.datetime | None
    timestamp: SignatureTimestamp | None
    evidence_level: str | None
    archive_until: dt.datetime | None
    verdict: Verdict
    has_pades: bool
    power_of_attorney: SignaturePower | None = Field(
        description="МЧД, по которой подписал личный сертификат (null — подпись "
        "сертификатом организации)."
    )
    created_at: dt.datetime


@component
class SignatureWithReport(Signature):
    report: FreeObject


@component
class SignatureList(ResponseModel):
    items: list[Signature]


@component
class SignatureJson(RequestModel):
    signature: Base64 = Field(description="Откреплённая подпись CMS (DER) в base64.")


@component
class PrepareRequest(RequestModel):
    certificate_id: Uuid
    pades: Annotated[
        bool, BeforeValidator(flag("Поле «pades» должно быть true или false."))
    ] = Field(
        True,
        description="Для PDF — ещё и подпись PAdES с видимым штампом.",
        json_schema_extra=DOCUMENTED,
    )


def _signature_values(raw: Any) -> dict[str, bytes]:
    if not isinstance(raw, dict) or not raw:
        raise refusal(
            'Поле «signatures»: объект {"cms": "<base64>", "pades": "<base64>"}.'
        )
    return {
        str(kind): decode_base64(value, f"signatures.{kind}")
        for kind, value in raw.items()
        if kind in ("cms", "pades")
    }


@component
class CompleteRequest(RequestModel):
    session_id: Uuid
    signatures: Annotated[
        dict[str, bytes],
        BeforeValidator(_signature_values),
        WithJsonSchema(
            {
                "type": "object",
                "properties": {
                    "cms": {"type": "string", "format": "byte"},
                    "pades": {"type": "string", "format": "byte"},
                },
            }
        ),
    ] = Field(description="Значения подписи (base64) для каждого `items[].kind`.")


# -- verification ----------------------------------------------------------------------


@component
class VerifyResult(ResponseModel):
    kind: Literal["cms", "pdf"]
    verdict: Verdict
    summary: str
    report: FreeObject


class VerifyParts(RequestModel):
    """``POST /verify`` (documentation: werkzeug reads the parts)."""

    file: OptionalBinary = Field(None, description="Подписанные данные или PDF.")
    signature: OptionalBinary = Field(None, description="Подпись CMS (.sig).")
