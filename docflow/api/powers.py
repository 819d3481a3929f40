"""Powers of attorney (МЧД) of the key's organisation: upload of the XML with
its detached signature, the list, one МЧД (JSON or its XML), its signature,
and its revocation here.

Every refusal of the service keeps its stable code ``power_of_attorney_*``
(:mod:`docflow.powers.services`); the body is read here with the limits of
the format: the XML up to 1 MiB, its signature up to 256 KiB.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.exc import IntegrityError

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    base64_value,
    json_body,
    read_body,
    string_field,
    uuid_field,
)
from docflow.api.serialize import power_json
from docflow.certificates import services as certs
from docflow.certificates.models import CertificateStatus
from docflow.db import transaction
from docflow.errors import NotFoundError, PayloadTooLargeError, ValidationError
from docflow.inputs import CONTROL_CHARACTERS, LARGER_BODIES
from docflow.powers import services as powers
from docflow.web import db_session, mchd_registry, settings, trust

MAX_XML_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = powers.MAX_SIGNATURE_BYTES  # 256 KiB
#: The JSON form carries both files in base64 (4/3 of their size) and a key.
MAX_JSON_BYTES = 2 * 1024 * 1024
#: A multipart body: both parts, a certificate id and the boundaries.
MAX_MULTIPART_BYTES = MAX_XML_BYTES + MAX_SIGNATURE_BYTES + 64 * 1024
MAX_REASON_BODY = 16 * 1024
MAX_REASON_LENGTH = 500

# The JSON edge (docflow.inputs) caps bodies at 1 MiB unless a route takes more.
LARGER_BODIES.setdefault("api.upload_power_of_attorney", MAX_JSON_BYTES)

_PARTS = {
    "file": ("Файл МЧД (XML)", MAX_XML_BYTES),
    "signature": ("Файл подписи МЧД (.sig)", MAX_SIGNATURE_BYTES),
}


def _too_large(name: str) -> PayloadTooLargeError:
    label, limit = _PARTS[name]
    return PayloadTooLargeError(
        f"{label} больше {limit // 1024} КБ.",
        details={"field": name, "max_bytes": limit},
    )


def _missing(name: str, json_name: str | None = None) -> ValidationError:
    label, _ = _PARTS[name]
    field = json_name or name
    where = f"поле «{field}» (base64)" if json_name else f"часть «{field}»"
    return ValidationError(
        f"{label}: приложите его, {where}.", details={"field": field}
    )


def _part(name: str) -> bytes:
    """A part of the multipart body: a file, or a plain field (PEM, base64)."""
    _, limit = _PARTS[name]
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


def _decoded(payload: dict[str, Any], name: str, json_name: str) -> bytes:
    _, limit = _PARTS[name]
    value = payload.get(json_name)
    if value is None or value == "":
        raise _missing(name, json_name)
    data = base64_value(value, json_name)
    if len(data) > limit:
        raise _too_large(name)
    if not data.strip():
        raise _missing(name, json_name)
    return data


def _optional_uuid(payload: Mapping[str, Any], name: str) -> uuid.UUID | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    return uuid_field({name: value}, name)


def _posted_power() -> tuple[bytes, bytes, uuid.UUID | None]:
    """(XML, signature, certificate id) from multipart or JSON."""
    if request.mimetype == "multipart/form-data":
        length = request.content_length
        if length is not None and length > MAX_MULTIPART_BYTES:
            raise PayloadTooLargeError(
                f"Тело запроса больше допустимых {MAX_MULTIPART_BYTES} байт.",
                details={"max_bytes": MAX_MULTIPART_BYTES},
            )
        xml = _part("file")
        sig = _part("signature")
        return xml, sig, _optional_uuid(request.form, "certificate_id")
    if request.mimetype == "application/json":
        payload = json_body(max_bytes=MAX_JSON_BYTES)
        xml = _decoded(payload, "file", "xml")
        sig = _decoded(payload, "signature", "signature")
        return xml, sig, _optional_uuid(payload, "certificate_id")
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
                trust=trust(),
                registry=mchd_registry(),
                revocation=settings().revocation_mode,
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


@bp.post("/powers-of-attorney")
@scope("sign")
def upload_power_of_attorney() -> Any:
    xml, sig, certificate_id = _posted_power()
    body, created = _upload(xml, sig, certificate_id)
    response = jsonify(body)
    response.status_code = 201 if created else 200
    return response


@bp.get("/powers-of-attorney")
@scope("read")
def list_powers_of_attorney() -> Any:
    items = powers.list_powers(db_session(), actor=api_actor())
    return jsonify({"items": [power_json(p) for p in items]})


def _wants_xml() -> bool:
    accept = request.accept_mimetypes
    best = accept.best_match(["application/json", "application/xml", "text/xml"])
    return (
        best in ("application/xml", "text/xml")
        and accept[best] > accept["application/json"]
    )


def _file(data: bytes, mimetype: str, filename: str, sha256: str | None) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    if sha256:
        response.headers["X-Content-SHA256"] = sha256
    return response


@bp.get("/powers-of-attorney/<uuid:power_id>")
@scope("read")
def get_power_of_attorney(power_id: uuid.UUID) -> Any:
    """The МЧД as JSON; the XML file itself for ``Accept: application/xml``."""
    power = powers.get_power(db_session(), actor=api_actor(), power_id=power_id)
    if _wants_xml():
        return _file(
            power.xml, "application/xml", f"mchd-{power.number}.xml", power.xml_sha256
        )
    return jsonify(power_json(power))


@bp.get("/powers-of-attorney/<uuid:power_id>/signature")
@scope("read")
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
    if request.mimetype == "application/json":
        payload = json_body(max_bytes=MAX_REASON_BODY)
        reason = string_field(
            payload, "reason", required=False, max_length=MAX_REASON_LENGTH
        )
        if found := CONTROL_CHARACTERS.search(reason):
            raise ValidationError(
                f"Поле «reason» содержит управляющий символ U+{ord(found.group()):04X}.",
                details={"field": "reason"},
            )
        return reason
    if read_body(MAX_REASON_BODY).strip():
        raise UnsupportedMediaTypeError(
            'Причина отзыва передаётся телом application/json {"reason": "..."}.',
            details={"content_type": request.mimetype or None},
        )
    return ""


@bp.delete("/powers-of-attorney/<uuid:power_id>")
@scope("sign")
def revoke_power_of_attorney(power_id: uuid.UUID) -> Any:
    reason = _revocation_reason()
    s = db_session()
    with transaction(s):
        power = powers.revoke_power(
            s, actor=api_actor(), power_id=power_id, reason=reason
        )
        body = power_json(power)
    return jsonify(body)
