"""Certificates of the key's organisation: registration with its validation
verdict, the list, revocation of a registration."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import jsonify, request

from docflow.api.base import (
    BINARY,
    BODY_ERRORS,
    MULTIPART,
    Body,
    Inline,
    api_actor,
    json_answer,
    operation,
)
from docflow.api.errors import UnsupportedMediaTypeError, read_body
from docflow.api.schemas import certificates as out
from docflow.api.serialize import certificate_json
from docflow.certificates import services as certs
from docflow.context import current_runtime, db_session
from docflow.db import transaction, utcnow
from docflow.errors import PayloadTooLargeError, ValidationError

CERTIFICATES = "Сертификаты"
MAX_CERTIFICATE_BYTES = 64 * 1024
CERTIFICATE_TYPES = frozenset(
    {
        "application/pkix-cert",
        "application/x-x509-ca-cert",
        "application/x-x509-user-cert",
        "application/x-pem-file",
        "application/pkcs7-signature",
        "application/octet-stream",
        "text/plain",
    }
)


def _certificate_bytes() -> bytes:
    if request.mimetype == MULTIPART:
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError(
                "Приложите сертификат в части «file».", details={"field": "file"}
            )
        data = upload.stream.read(MAX_CERTIFICATE_BYTES + 1)
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise PayloadTooLargeError(
                "Файл сертификата больше 64 КБ.",
                details={"max_bytes": MAX_CERTIFICATE_BYTES},
            )
    elif request.mimetype in CERTIFICATE_TYPES:
        data = read_body(MAX_CERTIFICATE_BYTES)
    else:
        raise UnsupportedMediaTypeError(
            "Сертификат передаётся телом application/pkix-cert (DER), "
            "application/x-pem-file (PEM) или multipart/form-data с частью «file».",
            details={"content_type": request.mimetype or None},
        )
    if not data.strip():
        raise ValidationError("Файл сертификата пуст.", details={"field": "file"})
    return data


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@operation(
    "GET",
    "/certificates",
    id="listCertificates",
    summary="Сертификаты организации ключа",
    tag=CERTIFICATES,
    scopes=("read",),
    answers={200: json_answer(out.CertificateList, "Сертификаты.")},
)
def list_certificates() -> Any:
    items = certs.list_certificates(db_session(), actor=api_actor())
    return jsonify({"items": [certificate_json(c) for c in items]})


@operation(
    "POST",
    "/certificates",
    id="registerCertificate",
    summary="Регистрация сертификата (DER, PEM или multipart file)",
    tag=CERTIFICATES,
    scopes=("sign",),
    answers={
        201: json_answer(out.CertificateRegistration, "Зарегистрирован."),
        200: json_answer(out.CertificateRegistration, "Уже был зарегистрирован."),
    },
    errors=(*BODY_ERRORS, "Unavailable"),
    body=Body(
        {
            "application/pkix-cert": BINARY,
            "application/x-pem-file": {"type": "string"},
            MULTIPART: Inline(out.CertificateFile),
        }
    ),
    description="422 `certificate_invalid` (не сертификат, цепочка, срок, "
    "отзыв) или `certificate_refused` (ИНН не организации ключа) — с "
    "причинами в `details.problems`. Личный сертификат сотрудника (без "
    "ИНН организации) регистрируется, только когда загружена МЧД, "
    "называющая его владельца представителем: иначе "
    "`power_of_attorney_required`, `power_of_attorney_representative` "
    "или `power_of_attorney_principal`.",
)
def register_certificate() -> Any:
    data = _certificate_bytes()
    s = db_session()
    started = utcnow()
    with transaction(s):
        result = certs.register_certificate(
            s,
            actor=api_actor(),
            data=data,
            runtime=current_runtime(),
        )
        if result.certificate is not None:
            created = _aware(result.certificate.registered_at) >= started
            body = {
                "certificate": certificate_json(result.certificate),
                "validation": result.validation.to_json(),
            }
    if result.certificate is None:
        valid = result.validation.verdict.value == "valid"
        raise ValidationError(
            "Сертификат не зарегистрирован: " + "; ".join(result.problems),
            code=result.code
            or ("certificate_refused" if valid else "certificate_invalid"),
            details={
                "problems": list(result.problems),
                "certificate": result.info.to_json(),
                "validation": result.validation.to_json(),
            },
        )
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response


@operation(
    "GET",
    "/certificates/<uuid:certificate_id>",
    id="getCertificate",
    summary="Сертификат",
    tag=CERTIFICATES,
    scopes=("read",),
    answers={200: json_answer(out.Certificate, "Сертификат.")},
    errors=("NotFound",),
)
def get_certificate(certificate_id: uuid.UUID) -> Any:
    cert = certs.get_certificate(
        db_session(), actor=api_actor(), certificate_id=certificate_id
    )
    return jsonify(certificate_json(cert))


@operation(
    "DELETE",
    "/certificates/<uuid:certificate_id>",
    id="revokeCertificate",
    summary="Отзыв регистрации сертификата",
    tag=CERTIFICATES,
    scopes=("sign",),
    answers={200: json_answer(out.Certificate, "Регистрация отозвана.")},
    errors=("NotFound",),
)
def revoke_certificate(certificate_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        cert = certs.revoke_certificate(
            s, actor=api_actor(), certificate_id=certificate_id
        )
        body = certificate_json(cert)
    return jsonify(body)
