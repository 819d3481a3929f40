"""Powers of attorney (МЧД) of the key's organisation: upload of the XML with
its detached signature, the list, one МЧД (JSON or its XML), its signature,
and its revocation here.

Every refusal of the service keeps its stable code ``power_of_attorney_*``
(:mod:`docflow.powers.services`); the body is read here with the limits of
the format: the XML up to 1 MiB, its signature up to 256 KiB.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.exc import IntegrityError

from docflow.api.base import (
    BINARY,
    BODY_ERRORS,
    JSON,
    MULTIPART,
    Answer,
    Body,
    Inline,
    api_actor,
    json_answer,
    operation,
)
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    read_body,
    read_json,
    validated,
)
from docflow.api.schemas import powers as out
from docflow.api.serialize import power_json
from docflow.certificates import services as certs
from docflow.certificates.models import CertificateStatus
from docflow.context import current_runtime, db_session
from docflow.db import transaction
from docflow.errors import NotFoundError, PayloadTooLargeError, ValidationError
from docflow.inputs import LARGER_BODIES
from docflow.powers import services as powers

POWERS = "Доверенности (МЧД)"
#: The JSON form carries both files in base64 (4/3 of their size) and a key.
MAX_JSON_BYTES = 2 * 1024 * 1024
#: A multipart body: both parts, a certificate id and the boundaries.
MAX_MULTIPART_BYTES = out.MAX_XML_BYTES + out.MAX_SIGNATURE_BYTES + 64 * 1024
MAX_REASON_BODY = 16 * 1024

# The JSON edge (docflow.inputs) caps bodies at 1 MiB unless a route takes more.
LARGER_BODIES.setdefault("api.upload_power_of_attorney", MAX_JSON_BYTES)


def _too_large(name: str) -> PayloadTooLargeError:
    label, limit = out.PARTS[name]
    return PayloadTooLargeError(
        f"{label} больше {limit // 1024} КБ.",
        details={"field": name, "max_bytes": limit},
    )


def _missing(name: str) -> ValidationError:
    label, _ = out.PARTS[name]
    return ValidationError(
        f"{label}: приложите его, часть «{name}».", details={"field": name}
    )


def _part(name: str) -> bytes:
    """A part of the multipart body: a file, or a plain field (PEM, base64)."""
    _, limit = out.PARTS[name]
    upload = request.files.get(name)
    if upload is not None:
        data = upload.stream.read(limit + 1)
    else:
        value = request.form.get(name)
        if value is None:
            raise _missing(name)
        data = value.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise _too_large(name)
    if not data.strip():
        raise _missing(name)
    return data


def _posted_power() -> tuple[bytes, bytes, uuid.UUID | None]:
    """(XML, signature, certificate id) from multipart or JSON."""
    if request.mimetype == MULTIPART:
        length = request.content_length
        if length is not None and length > MAX_MULTIPART_BYTES:
            raise PayloadTooLargeError(
                f"Тело запроса больше допустимых {MAX_MULTIPART_BYTES} байт.",
                details={"max_bytes": MAX_MULTIPART_BYTES},
            )
        xml = _part("file")
        sig = _part("signature")
        choice = validated(
            out.CertificateChoice,
            {"certificate_id": request.form.get("certificate_id")},
        )
        return xml, sig, choice.certificate_id
    if request.mimetype == JSON:
        body = read_json(out.PowerOfAttorneyUpload, max_bytes=MAX_JSON_BYTES)
        return body.xml, body.signature, body.certificate_id
    raise UnsupportedMediaTypeError(
        "МЧД передаётся как multipart/form-data (части «file» — XML и «signature» "
        '— .sig) или JSON {"xml": "<base64>", "signature": "<base64>"}.',
        details={"content_type": request.mimetype or None},
    )


def _certificate(certificate_id: uuid.UUID | None) -> Any:
    """The registered certificate the МЧД is uploaded for, when named."""
    if certificate_id is None:
        return None
    try:
        cert = certs.get_certificate(
            db_session(), actor=api_actor(), certificate_id=certificate_id
        )
    except NotFoundError:
        raise ValidationError(
            "Сертификат «certificate_id» не зарегистрирован для организации ключа.",
            code="certificate_not_registered",
            details={"field": "certificate_id"},
        ) from None
    if cert.status != CertificateStatus.ACTIVE:
        raise ValidationError(
            "Регистрация сертификата «certificate_id» отозвана.",
            code="certificate_revoked",
            details={"field": "certificate_id"},
        )
    return cert


def _upload(
    xml: bytes, sig: bytes, certificate_id: uuid.UUID | None
) -> tuple[dict[str, Any], bool]:
    """(the МЧД's JSON, created) — the service's upload in its own transaction."""
    s = db_session()

    def attempt() -> tuple[dict[str, Any], bool]:
        with transaction(s):
            power, created = powers.upload_power(
                s,
                actor=api_actor(),
                xml=xml,
                signature=sig,
                runtime=current_runtime(),
                certificate=_certificate(certificate_id),
            )
            return power_json(power), created

    try:
        return attempt()
    except IntegrityError:
        # The same МЧД posted twice at once: the other request's row won the
        # unique (organisation, number). Asked again, the service finds it: the
        # same file answers 200 with it, other content 409 duplicate.
        return attempt()


@operation(
    "GET",
    "/powers-of-attorney",
    id="listPowersOfAttorney",
    summary="МЧД организации ключа",
    tag=POWERS,
    scopes=("read",),
    answers={200: json_answer(out.PowerOfAttorneyList, "МЧД, новые сверху.")},
)
def list_powers_of_attorney() -> Any:
    items = powers.list_powers(db_session(), actor=api_actor())
    return jsonify({"items": [power_json(p) for p in items]})


@operation(
    "POST",
    "/powers-of-attorney",
    id="uploadPowerOfAttorney",
    summary="Загрузка МЧД (XML и откреплённая подпись руководителя)",
    tag=POWERS,
    scopes=("sign",),
    answers={
        201: json_answer(out.PowerOfAttorney, "МЧД проверена и принята."),
        200: json_answer(out.PowerOfAttorney, "Тот же файл уже загружен: он."),
    },
    errors=(*BODY_ERRORS, "PowerConflict", "Unavailable"),
    body=Body(
        {MULTIPART: Inline(out.PowerOfAttorneyParts), JSON: out.PowerOfAttorneyUpload}
    ),
    description="МЧД в едином формате ФНС, подписанная руководителем "
    "организации-доверителя (ИНН ЮЛ в его сертификате; лицо без "
    "доверенности, названное в МЧД). Проверяются формат и схема, "
    "подпись, доверитель (организация ключа), срок и статус в реестре "
    "ФНС. Отказ — 422 с кодом `power_of_attorney_format`, "
    "`_signature`, `_signer`, `_principal`, `_representative` (при "
    "`certificate_id`), `_expired`, `_revoked`, `_not_registered`; "
    "409 `power_of_attorney_duplicate`; 503 "
    "`power_of_attorney_registry_unavailable`. Нет части — 422 "
    "`validation_error` с `details.field`; `certificate_id` не "
    "зарегистрирован — 422 `certificate_not_registered`.",
)
def upload_power_of_attorney() -> Any:
    xml, sig, certificate_id = _posted_power()
    body, created = _upload(xml, sig, certificate_id)
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response


def _wants_xml() -> bool:
    accept = request.accept_mimetypes
    best = accept.best_match([JSON, "application/xml", "text/xml"])
    return best in ("application/xml", "text/xml") and accept[best] > accept[JSON]


def _file(data: bytes, mimetype: str, filename: str, sha256: str | None) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    if sha256:
        response.headers["X-Content-SHA256"] = sha256
    return response


@operation(
    "GET",
    "/powers-of-attorney/<uuid:power_id>",
    id="getPowerOfAttorney",
    summary="МЧД (или её XML для Accept: application/xml)",
    tag=POWERS,
    scopes=("read",),
    answers={
        200: Answer(
            "МЧД.",
            {JSON: out.PowerOfAttorney, "application/xml": BINARY},
            headers={"X-Content-SHA256": "SHA-256 файла XML (для XML)."},
        )
    },
    errors=("PowerNotFound",),
)
def get_power_of_attorney(power_id: uuid.UUID) -> Any:
    """The МЧД as JSON; the XML file itself for ``Accept: application/xml``."""
    power = powers.get_power(db_session(), actor=api_actor(), power_id=power_id)
    if _wants_xml():
        return _file(
            power.xml, "application/xml", f"mchd-{power.number}.xml", power.xml_sha256
        )
    return jsonify(power_json(power))


@operation(
    "GET",
    "/powers-of-attorney/<uuid:power_id>/signature",
    id="getPowerOfAttorneySignature",
    summary="Откреплённая подпись МЧД (.sig)",
    tag=POWERS,
    scopes=("read",),
    answers={
        200: Answer(
            "Подпись CMS, как загружена.", {"application/pkcs7-signature": BINARY}
        )
    },
    errors=("PowerNotFound",),
)
def get_power_of_attorney_signature(power_id: uuid.UUID) -> Any:
    power = powers.get_power(db_session(), actor=api_actor(), power_id=power_id)
    return _file(
        power.signature,
        "application/pkcs7-signature",
        f"mchd-{power.number}.xml.sig",
        None,
    )


def _revocation_reason() -> str:
    """The optional ``{"reason": "..."}``; no body at all is no reason."""
    if request.mimetype == JSON:
        return read_json(out.PowerRevocation, max_bytes=MAX_REASON_BODY).reason
    if read_body(MAX_REASON_BODY).strip():
        raise UnsupportedMediaTypeError(
            'Причина отзыва передаётся телом application/json {"reason": "..."}.',
            details={"content_type": request.mimetype or None},
        )
    return ""


@operation(
    "DELETE",
    "/powers-of-attorney/<uuid:power_id>",
    id="revokePowerOfAttorney",
    summary="Отзыв МЧД в кабинете",
    tag=POWERS,
    scopes=("sign",),
    answers={200: json_answer(out.PowerOfAttorney, "МЧД отозвана.")},
    errors=("PowerNotFound", *BODY_ERRORS),
    body=Body({JSON: out.PowerRevocation}, required=False),
    description="Подписи по отозванной МЧД больше не принимаются "
    "(`power_of_attorney_revoked`); принятые раньше остаются. Отозвать "
    "может ключ организации-доверителя; доверитель отзывает МЧД и в "
    "реестре ФНС.",
)
def revoke_power_of_attorney(power_id: uuid.UUID) -> Any:
    reason = _revocation_reason()
    s = db_session()
    with transaction(s):
        power = powers.revoke_power(
            s, actor=api_actor(), power_id=power_id, reason=reason
        )
        body = power_json(power)
    return jsonify(body)
