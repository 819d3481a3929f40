"""Documents: registration, search with a cursor, content, package, deletion,
and the transitions (refusal, revocation)."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from typing import IO, Any, cast

from flask import jsonify, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from docflow.access import contract_rights
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
    json_request,
    operation,
)
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    read_json,
    read_meta,
    read_query,
    validated,
)
from docflow.api.schemas import documents as out
from docflow.api.serialize import document_json, file_json
from docflow.context import current_runtime, db_session, settings
from docflow.contracts.common import normalize_contract_number
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents.models import Document
from docflow.documents.package import write_package
from docflow.documents.search import SearchFilters, iter_documents_after
from docflow.errors import NotFoundError, ValidationError

DOCUMENTS = "Документы"
SIGNING = "Подписание"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

#: A stored file, streamed as it was registered.
STORED_FILE = Answer(
    "Файл (потоком).",
    {"*/*": BINARY},
    headers={"X-Content-SHA256": "SHA-256 файла, записанный при регистрации."},
)
DOCUMENT = {200: json_answer(out.Document, "Документ.")}
TRANSITION_ERRORS = ("NotFound", "Conflict", *BODY_ERRORS)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Повтор запроса с тем же ключом вернёт тот же документ.",
}


def _contract(meta: out.DocumentMeta) -> Contract:
    s = db_session()
    # With its organisation: the document's answer names it.
    found = select(Contract).options(joinedload(Contract.organisation))
    if meta.contract_id is not None:
        found = found.where(Contract.id == meta.contract_id)
    else:
        number = normalize_contract_number(meta.contract_number)
        found = found.where(Contract.number == number)
    contract = s.scalar(found)
    if contract is None or not contract_rights(s, api_actor(), contract.id).view:
        raise NotFoundError("Договор не найден.", details={"field": "contract_number"})
    return contract


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            "Заголовок Idempotency-Key: от 1 до 200 видимых символов ASCII.",
            details={"field": "Idempotency-Key"},
        )
    return key


def _existing(contract: Contract, key: str | None) -> Document | None:
    if key is None:
        return None
    return db_session().scalar(
        select(Document).where(
            Document.organisation_id == contract.organisation_id,
            Document.idempotency_key == key,
        )
    )


def _created(doc: Document, status: int) -> Any:
    response = jsonify(document_json(doc))
    response.status_code = status
    response.headers["Location"] = url_for(
        "api.get_document", document_id=doc.id, _external=False
    )
    return response


@operation(
    "GET",
    "/documents",
    id="listDocuments",
    summary="Поиск документов с постраничным курсором",
    tag=DOCUMENTS,
    scopes=("read",),
    answers={200: json_answer(out.DocumentList, "Страница документов.")},
    errors=("Unprocessable",),
    query=out.DocumentSearch,
    description="Новые сверху. Фильтры — как на странице «Документы».",
)
def list_documents() -> Any:
    # The web form forgives a malformed filter; an integration is told.
    query = read_query(out.DocumentSearch)
    filters = SearchFilters.from_args(request.args)
    items, next_cursor = iter_documents_after(
        db_session(),
        actor=api_actor(),
        filters=filters,
        after=query.cursor or None,
        limit=query.limit,
    )
    return jsonify(
        {"items": [document_json(d) for d in items], "next_cursor": next_cursor}
    )


@operation(
    "POST",
    "/documents",
    id="createDocument",
    summary="Регистрация документа на подпись",
    tag=DOCUMENTS,
    scopes=("write",),
    answers={
        201: json_answer(out.Document, "Документ зарегистрирован."),
        200: json_answer(
            out.Document, "Повтор с тем же Idempotency-Key: прежний документ."
        ),
    },
    errors=("NotFound", *BODY_ERRORS),
    body=Body(
        {MULTIPART: Inline(out.DocumentUpload)},
        encoding={MULTIPART: {"meta": {"contentType": JSON}}},
    ),
    parameters=(IDEMPOTENCY_HEADER,),
)
def create_document() -> Any:
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaTypeError(
            "Документ передаётся как multipart/form-data: части file, meta и "
            "(необязательно) attachments.",
            details={"content_type": request.mimetype or None},
        )
    raw = read_meta(
        out.DocumentMeta, hint="JSON с типом, номером, датой, договором и названием"
    )
    main = request.files.get("file")
    if main is None or not main.filename:
        raise ValidationError(
            "Приложите файл документа (часть «file» с именем файла).",
            details={"field": "file"},
        )
    attachments = request.files.getlist("attachments")
    if any(not f.filename for f in attachments):
        raise ValidationError(
            "У каждого приложения должно быть имя файла.",
            details={"field": "attachments"},
        )
    meta = validated(out.DocumentMeta, raw)
    contract = _contract(meta)
    key = _idempotency_key()
    s = db_session()
    earlier = _existing(contract, key)
    if earlier is not None:
        return _created(earlier, 200)
    actor = api_actor()
    try:
        with transaction(s):
            doc = svc.register_document(
                s,
                actor=actor,
                runtime=current_runtime(),
                contract_id=contract.id,
                doc_type=meta.type,
                number=meta.number,
                doc_date=meta.date,
                title=meta.title,
                comment=meta.comment,
                route=meta.route,
                main_file=svc.Upload(main.filename, main.stream, main.mimetype),
                attachments=[
                    svc.Upload(f.filename or "", f.stream, f.mimetype)
                    for f in attachments
                ],
                source="api",
                idempotency_key=key,
                max_bytes=settings().web.max_upload_mb * 1024 * 1024,
            )
            response = _created(doc, 201)
    except IntegrityError:
        # The same Idempotency-Key posted twice at once: the other request's
        # document won the unique constraint; this one answers with it.
        earlier = _existing(contract, key)
        if earlier is None:
            raise
        return _created(earlier, 200)
    return response


@operation(
    "GET",
    "/documents/<uuid:document_id>",
    id="getDocument",
    summary="Документ",
    tag=DOCUMENTS,
    scopes=("read",),
    answers=DOCUMENT,
    errors=("NotFound",),
)
def get_document(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify(document_json(doc))


def send_stored_file(f: Any) -> Any:
    """A document's stored file (``DocumentFile``) as the answer: streamed, with
    its SHA-256 recorded at registration as the ETag and ``X-Content-SHA256``."""
    reader = current_runtime().storage.open(f.blob_key)
    response = send_file(
        # A BlobReader is an io.RawIOBase, a binary file in all but typeshed's
        # name (typing.IO is no base of io's classes); send_file reads and
        # closes it.
        cast(IO[bytes], reader),
        mimetype=f.content_type,
        as_attachment=True,
        download_name=f.filename,
        max_age=0,
        etag=f.sha256,
    )
    response.headers["X-Content-SHA256"] = f.sha256
    return response


@operation(
    "GET",
    "/documents/<uuid:document_id>/content",
    id="getDocumentContent",
    summary="Оригинал документа (байт в байт)",
    tag=DOCUMENTS,
    scopes=("read",),
    answers={200: STORED_FILE},
    errors=("NotFound",),
)
def document_content(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return send_stored_file(doc.main_file)


@operation(
    "GET",
    "/documents/<uuid:document_id>/files",
    id="listDocumentFiles",
    summary="Файлы документа: оригинал, приложения, ревизии PDF, подписи",
    tag=DOCUMENTS,
    scopes=("read",),
    answers={200: json_answer(out.FileList, "Файлы.")},
    errors=("NotFound",),
)
def document_files(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify({"items": [file_json(f) for f in doc.files]})


@operation(
    "GET",
    "/documents/<uuid:document_id>/files/<uuid:file_id>",
    id="getDocumentFile",
    summary="Один файл документа",
    tag=DOCUMENTS,
    scopes=("read",),
    answers={200: STORED_FILE},
    errors=("NotFound",),
)
def document_file(document_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    f = next((f for f in doc.files if f.id == file_id), None)
    if f is None:
        raise NotFoundError("Файл не найден.")
    return send_stored_file(f)


@operation(
    "GET",
    "/documents/<uuid:document_id>/package",
    id="getDocumentPackage",
    summary="ZIP: документ, подписи, протокол проверки, печатная форма",
    tag=DOCUMENTS,
    scopes=("read",),
    answers={200: Answer("Архив.", {"application/zip": BINARY})},
    errors=("NotFound",),
)
def document_package(document_id: uuid.UUID) -> Any:
    s = db_session()
    doc = svc.get_document(s, actor=api_actor(), document_id=document_id)
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    write_package(s, docs=[doc], storage=current_runtime().storage, out=spool)
    spool.seek(0)
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"document-{doc.id.hex[:8]}.zip",
        max_age=0,
    )


@operation(
    "DELETE",
    "/documents/<uuid:document_id>",
    id="deleteDocument",
    summary="Удаление документа, который никто не подписал",
    tag=DOCUMENTS,
    scopes=("write",),
    answers={204: Answer("Удалён.")},
    errors=("NotFound", "Conflict"),
)
def delete_document(document_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        svc.delete_document(s, actor=api_actor(), document_id=document_id)
    return "", 204


def _answer_with_reason(
    document_id: uuid.UUID, transition: Callable[..., Document]
) -> Any:
    """Refusal and a request to revoke: the same body («reason»), the same answer."""
    reason = read_json(out.Reason).reason
    s = db_session()
    with transaction(s):
        doc = transition(
            s,
            actor=api_actor(),
            document_id=document_id,
            reason=reason,
            runtime=current_runtime(),
        )
        body = jsonify(document_json(doc))
    return body


@operation(
    "POST",
    "/documents/<uuid:document_id>/refuse",
    id="refuseDocument",
    summary="Отказ в подписании",
    tag=SIGNING,
    scopes=("sign",),
    answers=DOCUMENT,
    errors=TRANSITION_ERRORS,
    body=json_request(out.Reason),
)
def refuse_document(document_id: uuid.UUID) -> Any:
    return _answer_with_reason(document_id, svc.refuse)


@operation(
    "POST",
    "/documents/<uuid:document_id>/revocation",
    id="requestRevocation",
    summary="Предложить аннулировать подписанный документ",
    tag=SIGNING,
    scopes=("sign",),
    answers=DOCUMENT,
    errors=TRANSITION_ERRORS,
    body=json_request(out.Reason),
)
def request_revocation(document_id: uuid.UUID) -> Any:
    return _answer_with_reason(document_id, svc.request_revocation)


def _answer_revocation(document_id: uuid.UUID, accept: bool) -> Any:
    s = db_session()
    with transaction(s):
        doc = svc.answer_revocation(
            s,
            actor=api_actor(),
            document_id=document_id,
            accept=accept,
            runtime=current_runtime(),
        )
        body = jsonify(document_json(doc))
    return body


@operation(
    "POST",
    "/documents/<uuid:document_id>/revocation/accept",
    id="acceptRevocation",
    summary="Согласиться с аннулированием",
    tag=SIGNING,
    scopes=("sign",),
    answers=DOCUMENT,
    errors=("NotFound", "Conflict"),
)
def accept_revocation(document_id: uuid.UUID) -> Any:
    return _answer_revocation(document_id, True)


@operation(
    "POST",
    "/documents/<uuid:document_id>/revocation/decline",
    id="declineRevocation",
    summary="Отклонить аннулирование",
    tag=SIGNING,
    scopes=("sign",),
    answers=DOCUMENT,
    errors=("NotFound", "Conflict"),
)
def decline_revocation(document_id: uuid.UUID) -> Any:
    return _answer_revocation(document_id, False)
