"""Signatures: a detached CMS posted by the integration, the two-phase PAdES
signature (prepare → sign the bytes elsewhere → complete), and downloads."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    base64_value,
    json_body,
    read_body,
    uuid_field,
)
from docflow.api.serialize import document_json, iso, signature_json
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents import signing_flow as flow
from docflow.documents.models import SigningSession
from docflow.errors import NotFoundError, ValidationError
from docflow.web import (
    blob_store,
    db_session,
    mchd_registry,
    settings,
    timestamper,
    trust,
)

MAX_SIGNATURE_BYTES = 1024 * 1024
SIGNATURE_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pkcs7-mime",
        "application/octet-stream",
    }
)


def _signed(signature: Any) -> Any:
    response = jsonify(
        {
            "signature": signature_json(signature, report=True),
            "document": document_json(signature.document),
        }
    )
    response.status_code = 201
    return response


def _posted_signature() -> bytes:
    if request.mimetype == "application/json":
        payload = json_body(max_bytes=2 * MAX_SIGNATURE_BYTES)
        return base64_value(payload.get("signature"), "signature")
    if request.mimetype in SIGNATURE_TYPES:
        data = read_body(MAX_SIGNATURE_BYTES)
        if not data:
            raise ValidationError(
                "Тело запроса пусто: ожидается подпись CMS (.sig).",
                details={"field": "signature"},
            )
        return data
    raise UnsupportedMediaTypeError(
        "Подпись передаётся телом application/pkcs7-signature (DER) или JSON "
        '{"signature": "<base64>"}.',
        details={"content_type": request.mimetype or None},
    )


@bp.post("/documents/<uuid:document_id>/signatures")
@scope("sign")
def post_signature(document_id: uuid.UUID) -> Any:
    sig = _posted_signature()
    s = db_session()
    with transaction(s):
        signature = flow.accept_cms_signature(
            s,
            actor=api_actor(),
            document_id=document_id,
            signature=sig,
            storage=blob_store(),
            trust=trust(),
            timestamper=timestamper(),
            registry=mchd_registry(),
            revocation=settings().revocation_mode,
            base_url=settings().base_url,
        )
        response = _signed(signature)
    return response


@bp.get("/documents/<uuid:document_id>/signatures")
@scope("read")
def list_signatures(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify({"items": [signature_json(s) for s in doc.signatures]})


@bp.get("/documents/<uuid:document_id>/signatures/<uuid:signature_id>")
@scope("read")
def get_signature(document_id: uuid.UUID, signature_id: uuid.UUID) -> Any:
    """The ``.sig`` file; its verification report for ``Accept: application/json``."""
    from docflow.api.documents import _send_blob

    sig = flow.get_signature(
        db_session(),
        actor=api_actor(),
        document_id=document_id,
        signature_id=signature_id,
    )
    accept = request.accept_mimetypes
    if (
        accept.best_match(["application/pkcs7-signature", "application/json"])
        == ("application/json")
        and accept["application/json"] > accept["application/pkcs7-signature"]
    ):
        return jsonify(signature_json(sig, report=True))
    if sig.sig_file is None:
        raise NotFoundError("Файл подписи не найден.")
    return _send_blob(sig.sig_file)


@bp.post("/documents/<uuid:document_id>/pades/prepare")
@scope("sign")
def prepare_pades(document_id: uuid.UUID) -> Any:
    payload = json_body()
    certificate_id = uuid_field(payload, "certificate_id")
    pades = payload.get("pades", True)
    if not isinstance(pades, bool):
        raise ValidationError(
            "Поле «pades» должно быть true или false.", details={"field": "pades"}
        )
    s = db_session()
    with transaction(s):
        prepared = flow.prepare_signing(
            s,
            actor=api_actor(),
            document_id=document_id,
            certificate_id=certificate_id,
            storage=blob_store(),
            timestamper=timestamper(),
            registry=mchd_registry(),
            pades=pades,
        )
        expires = s.get(SigningSession, prepared.session_id)
        body = {
            "session_id": str(prepared.session_id),
            "expires_at": iso(expires.expires_at) if expires else None,
            "items": prepared.items,
        }
    return jsonify(body)


@bp.post("/documents/<uuid:document_id>/pades/complete")
@scope("sign")
def complete_pades(document_id: uuid.UUID) -> Any:
    payload = json_body(max_bytes=4 * MAX_SIGNATURE_BYTES)
    session_id = uuid_field(payload, "session_id")
    raw = payload.get("signatures")
    if not isinstance(raw, dict) or not raw:
        raise ValidationError(
            'Поле «signatures»: объект {"cms": "<base64>", "pades": "<base64>"}.',
            details={"field": "signatures"},
        )
    values = {
        str(kind): base64_value(value, f"signatures.{kind}")
        for kind, value in raw.items()
        if kind in ("cms", "pades")
    }
    s = db_session()
    prepared = s.get(SigningSession, session_id)
    if prepared is None or prepared.document_id != document_id:
        raise NotFoundError("Сеанс подписания не найден.")
    with transaction(s):
        signature = flow.complete_signing(
            s,
            actor=api_actor(),
            session_id=session_id,
            signatures=values,
            storage=blob_store(),
            trust=trust(),
            timestamper=timestamper(),
            registry=mchd_registry(),
            revocation=settings().revocation_mode,
            base_url=settings().base_url,
        )
        response = _signed(signature)
    return response
