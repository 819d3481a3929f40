"""Certificates of the key's organisation: registration with its validation
verdict, the list, revocation of a registration."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import jsonify, request

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import UnsupportedMediaTypeError, read_body
from docflow.api.serialize import certificate_json
from docflow.certificates import services as certs
from docflow.db import transaction, utcnow
from docflow.errors import PayloadTooLargeError, ValidationError
from docflow.web import db_session, settings, trust

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
    if request.mimetype == "multipart/form-data":
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


@bp.post("/certificates")
@scope("sign")
def register_certificate() -> Any:
    data = _certificate_bytes()
    s = db_session()
    started = utcnow()
    with transaction(s):
        result = certs.register_certificate(
            s,
            actor=api_actor(),
            data=data,
            trust=trust(),
            revocation=settings().revocation_mode,
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


@bp.get("/certificates")
@scope("read")
def list_certificates() -> Any:
    items = certs.list_certificates(db_session(), actor=api_actor())
    return jsonify({"items": [certificate_json(c) for c in items]})


@bp.get("/certificates/<uuid:certificate_id>")
@scope("read")
def get_certificate(certificate_id: uuid.UUID) -> Any:
    cert = certs.get_certificate(
        db_session(), actor=api_actor(), certificate_id=certificate_id
    )
    return jsonify(certificate_json(cert))


@bp.delete("/certificates/<uuid:certificate_id>")
@scope("sign")
def revoke_certificate(certificate_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        cert = certs.revoke_certificate(
            s, actor=api_actor(), certificate_id=certificate_id
        )
        body = certificate_json(cert)
    return jsonify(body)
