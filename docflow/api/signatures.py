"""Signatures: a detached CMS posted by the integration, the two-phase PAdES
signature (prepare → sign the bytes elsewhere → complete), and downloads."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request

from docflow.api.base import (
    BINARY,
    BODY_ERRORS,
    JSON,
    Answer,
    Body,
    api_actor,
    json_answer,
    json_request,
    operation,
)
from docflow.api.documents import SIGNING, send_stored_file
from docflow.api.errors import UnsupportedMediaTypeError, read_body, read_json
from docflow.api.schemas import documents as docs
from docflow.api.schemas import signatures as out
from docflow.api.schemas.powers import SIGNING_UNDER_POWER
from docflow.api.serialize import document_json, iso, signature_json
from docflow.context import current_runtime, db_session
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents import signing_flow as flow
from docflow.documents.models import SigningSession
from docflow.errors import NotFoundError, ValidationError

MAX_SIGNATURE_BYTES = 1024 * 1024
PKCS7 = "application/pkcs7-signature"
SIGNATURE_TYPES = frozenset(
    {
        PKCS7,
        "application/x-pkcs7-signature",
        "application/pkcs7-mime",
        "application/octet-stream",
    }
)
SIGNING_ERRORS = ("NotFound", "Conflict", *BODY_ERRORS, "Unavailable")


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
    if request.mimetype == JSON:
        return read_json(out.SignatureJson, max_bytes=2 * MAX_SIGNATURE_BYTES).signature
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


@operation(
    "GET",
    "/documents/<uuid:document_id>/signatures",
    id="listSignatures",
    summary="Подписи документа",
    tag=SIGNING,
    scopes=("read",),
    answers={200: json_answer(out.SignatureList, "Подписи.")},
    errors=("NotFound",),
)
def list_signatures(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify({"items": [signature_json(s) for s in doc.signatures]})


@operation(
    "POST",
    "/documents/<uuid:document_id>/signatures",
    id="postSignature",
    summary="Откреплённая подпись CMS (CAdES-BES) над оригиналом",
    tag=SIGNING,
    scopes=("sign",),
    answers={201: json_answer(docs.SignedResult, "Подпись проверена и принята.")},
    errors=SIGNING_ERRORS,
    body=Body({PKCS7: BINARY, JSON: out.SignatureJson}),
    description="Подпись проверяется сразу: целостность, сертификат "
    "зарегистрирован для организации и действителен на время подписи, "
    "цепочка, отзыв. Отказ — 422 с кодом причины. " + SIGNING_UNDER_POWER,
)
def post_signature(document_id: uuid.UUID) -> Any:
    sig = _posted_signature()
    s = db_session()
    with transaction(s):
        signature = flow.accept_cms_signature(
            s,
            actor=api_actor(),
            document_id=document_id,
            signature=sig,
            runtime=current_runtime(),
        )
        response = _signed(signature)
    return response


@operation(
    "GET",
    "/documents/<uuid:document_id>/signatures/<uuid:signature_id>",
    id="getSignature",
    summary="Файл подписи .sig (или протокол проверки для Accept: application/json)",
    tag=SIGNING,
    scopes=("read",),
    answers={200: Answer("Подпись.", {PKCS7: BINARY, JSON: out.SignatureWithReport})},
    errors=("NotFound",),
)
def get_signature(document_id: uuid.UUID, signature_id: uuid.UUID) -> Any:
    """The ``.sig`` file; its verification report for ``Accept: application/json``."""
    sig = flow.get_signature(
        db_session(),
        actor=api_actor(),
        document_id=document_id,
        signature_id=signature_id,
    )
    accept = request.accept_mimetypes
    if accept.best_match([PKCS7, JSON]) == JSON and accept[JSON] > accept[PKCS7]:
        return jsonify(signature_json(sig, report=True))
    if sig.sig_file is None:
        raise NotFoundError("Файл подписи не найден.")
    return send_stored_file(sig.sig_file)


@operation(
    "POST",
    "/documents/<uuid:document_id>/pades/prepare",
    id="preparePades",
    summary="Двухфазная подпись: байты для подписи ключом",
    tag=SIGNING,
    scopes=("sign",),
    answers={200: json_answer(docs.PreparedSigning, "Что подписать.")},
    errors=SIGNING_ERRORS,
    body=json_request(out.PrepareRequest),
    description="Для PDF — подпись CMS над оригиналом и PAdES с видимым "
    "штампом; закрытый ключ остаётся у подписанта. " + SIGNING_UNDER_POWER,
)
def prepare_pades(document_id: uuid.UUID) -> Any:
    body = read_json(out.PrepareRequest)
    s = db_session()
    with transaction(s):
        prepared = flow.prepare_signing(
            s,
            actor=api_actor(),
            document_id=document_id,
            certificate_id=body.certificate_id,
            runtime=current_runtime(),
            pades=body.pades,
        )
        expires = s.get(SigningSession, prepared.session_id)
        answer = {
            "session_id": str(prepared.session_id),
            "expires_at": iso(expires.expires_at) if expires else None,
            "items": prepared.items,
        }
    return jsonify(answer)


@operation(
    "POST",
    "/documents/<uuid:document_id>/pades/complete",
    id="completePades",
    summary="Двухфазная подпись: значения подписи",
    tag=SIGNING,
    scopes=("sign",),
    answers={201: json_answer(docs.SignedResult, "Новая ревизия подписана.")},
    errors=SIGNING_ERRORS,
    body=json_request(out.CompleteRequest),
    description=SIGNING_UNDER_POWER,
)
def complete_pades(document_id: uuid.UUID) -> Any:
    body = read_json(out.CompleteRequest, max_bytes=4 * MAX_SIGNATURE_BYTES)
    s = db_session()
    prepared = s.get(SigningSession, body.session_id)
    if prepared is None or prepared.document_id != document_id:
        raise NotFoundError("Сеанс подписания не найден.")
    with transaction(s):
        signature = flow.complete_signing(
            s,
            actor=api_actor(),
            session_id=body.session_id,
            signatures=body.signatures,
            runtime=current_runtime(),
        )
        response = _signed(signature)
    return response
