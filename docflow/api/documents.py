"""Documents: registration, search with a cursor, content, package, deletion,
and the transitions (refusal, revocation)."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from flask import jsonify, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from docflow.access import contract_rights
from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    date_value,
    int_arg,
    json_body,
    multipart_meta,
    string_field,
)
from docflow.api.serialize import document_json, file_json
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents.models import DocStatus, DocType, Document
from docflow.errors import NotFoundError, ValidationError
from docflow.web import blob_store, db_session, settings

META_FIELDS = frozenset(
    {
        "type",
        "number",
        "date",
        "contract_number",
        "contract_id",
        "title",
        "comment",
        "route",
    }
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _meta() -> dict[str, Any]:
    return multipart_meta(
        META_FIELDS, hint="JSON с типом, номером, датой, договором и названием"
    )


def _route(meta: dict[str, Any]) -> list[str]:
    route = meta.get("route", ["customer", "supplier"])
    if isinstance(route, str):
        route = [p.strip() for p in route.split(",")]
    if not isinstance(route, list) or not all(isinstance(p, str) for p in route):
        raise ValidationError(
            'Поле «route»: список сторон, например ["customer", "supplier"].',
            details={"field": "route"},
        )
    return route


def _contract(meta: dict[str, Any]) -> Contract:
    from docflow.contracts.services import normalize_contract_number

    s = db_session()
    # With its organisation: the document's answer names it.
    found = select(Contract).options(joinedload(Contract.organisation))
    if meta.get("contract_id") is not None:
        try:
            contract_id = uuid.UUID(str(meta["contract_id"]))
        except ValueError:
            raise ValidationError(
                "Поле «contract_id» должно быть идентификатором (UUID).",
                details={"field": "contract_id"},
            ) from None
        found = found.where(Contract.id == contract_id)
    else:
        number = string_field(meta, "contract_number", max_length=50)
        found = found.where(Contract.number == normalize_contract_number(number))
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


@bp.post("/documents")
@scope("write")
def create_document() -> Any:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            "Документ передаётся как multipart/form-data: части file, meta и "
            "(необязательно) attachments.",
            details={"content_type": request.mimetype or None},
        )
    meta = _meta()
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
    doc_type = string_field(meta, "type", max_length=40)
    number = string_field(meta, "number", max_length=100)
    title = string_field(meta, "title", max_length=500)
    comment = string_field(meta, "comment", required=False, max_length=5000)
    doc_date = date_value(meta.get("date"), "date")
    route = _route(meta)
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
                storage=blob_store(),
                contract_id=contract.id,
                doc_type=doc_type,
                number=number,
                doc_date=doc_date,
                title=title,
                comment=comment,
                route=route,
                main_file=svc.Upload(main.filename, main.stream, main.mimetype),
                attachments=[
                    svc.Upload(f.filename or "", f.stream, f.mimetype)
                    for f in attachments
                ],
                source="api",
                idempotency_key=key,
                max_bytes=settings().max_upload_mb * 1024 * 1024,
                base_url=settings().base_url,
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


def _check_choice(name: str, allowed: set[str]) -> None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise ValidationError(
            f"Параметр «{name}»: одно из {', '.join(sorted(allowed))}.",
            details={"field": name},
        )


def _check_search_args() -> None:
    """The web form forgives a malformed filter; an integration is told."""
    _check_choice("type", {t.value for t in DocType})
    _check_choice("doc_type", {t.value for t in DocType})
    _check_choice("status", {s.value for s in DocStatus})
    _check_choice("awaiting_me", {"true", "false"})
    value = request.args.get("contract_id")
    if value is not None:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValidationError(
                "Параметр «contract_id» должен быть UUID.",
                details={"field": "contract_id"},
            ) from None
    for name in ("date_from", "date_to"):
        value = request.args.get(name)
        if value is not None:
            date_value(value, name)
    inn = request.args.get("counterparty_inn")
    if inn is not None and not re.fullmatch(r"[0-9]{1,12}", inn):
        raise ValidationError(
            "Параметр «counterparty_inn»: от 1 до 12 цифр.",
            details={"field": "counterparty_inn"},
        )
    for name, limit in (("q", 200), ("number", 100), ("signer", 300), ("cursor", 200)):
        if len(request.args.get(name, "")) > limit:
            raise ValidationError(
                f"Параметр «{name}» длиннее {limit} символов.",
                code="invalid_cursor" if name == "cursor" else "validation_error",
                details={"field": name},
            )


@bp.get("/documents")
@scope("read")
def list_documents() -> Any:
    from docflow.documents.search import SearchFilters, iter_documents_after

    _check_search_args()
    limit = int_arg("limit", 50, 1, 200)
    cursor = request.args.get("cursor") or None
    filters = SearchFilters.from_args(request.args)
    items, next_cursor = iter_documents_after(
        db_session(), actor=api_actor(), filters=filters, after=cursor, limit=limit
    )
    return jsonify(
        {"items": [document_json(d) for d in items], "next_cursor": next_cursor}
    )


@bp.get("/documents/<uuid:document_id>")
@scope("read")
def get_document(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify(document_json(doc))


def _send_blob(f: Any) -> Any:
    reader = blob_store().open(f.blob_key)
    response = send_file(
        reader,
        mimetype=f.content_type,
        as_attachment=True,
        download_name=f.filename,
        max_age=0,
        etag=f.sha256,
    )
    response.headers["X-Content-SHA256"] = f.sha256
    return response


@bp.get("/documents/<uuid:document_id>/content")
@scope("read")
def document_content(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return _send_blob(doc.main_file)


@bp.get("/documents/<uuid:document_id>/files")
@scope("read")
def document_files(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    return jsonify({"items": [file_json(f) for f in doc.files]})


@bp.get("/documents/<uuid:document_id>/files/<uuid:file_id>")
@scope("read")
def document_file(document_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=api_actor(), document_id=document_id)
    f = next((f for f in doc.files if f.id == file_id), None)
    if f is None:
        raise NotFoundError("Файл не найден.")
    return _send_blob(f)


@bp.get("/documents/<uuid:document_id>/package")
@scope("read")
def document_package(document_id: uuid.UUID) -> Any:
    from docflow.documents.package import write_package

    s = db_session()
    doc = svc.get_document(s, actor=api_actor(), document_id=document_id)
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    write_package(s, docs=[doc], storage=blob_store(), out=spool)
    spool.seek(0)
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"document-{doc.id.hex[:8]}.zip",
        max_age=0,
    )


@bp.delete("/documents/<uuid:document_id>")
@scope("write")
def delete_document(document_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        svc.delete_document(s, actor=api_actor(), document_id=document_id)
    return "", 204


def _reason() -> str:
    return string_field(json_body(), "reason", max_length=2000)


def _answer(doc: Document) -> Any:
    return jsonify(document_json(doc))


def _answer_with_reason(
    document_id: uuid.UUID, transition: Callable[..., Document]
) -> Any:
    """Refusal and a request to revoke: the same body («reason»), the same answer."""
    reason = _reason()
    s = db_session()
    with transaction(s):
        doc = transition(
            s,
            actor=api_actor(),
            document_id=document_id,
            reason=reason,
            base_url=settings().base_url,
        )
        body = _answer(doc)
    return body


@bp.post("/documents/<uuid:document_id>/refuse")
@scope("sign")
def refuse_document(document_id: uuid.UUID) -> Any:
    return _answer_with_reason(document_id, svc.refuse)


@bp.post("/documents/<uuid:document_id>/revocation")
@scope("sign")
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
            base_url=settings().base_url,
        )
        body = _answer(doc)
    return body


@bp.post("/documents/<uuid:document_id>/revocation/accept")
@scope("sign")
def accept_revocation(document_id: uuid.UUID) -> Any:
    return _answer_revocation(document_id, True)


@bp.post("/documents/<uuid:document_id>/revocation/decline")
@scope("sign")
def decline_revocation(document_id: uuid.UUID) -> Any:
    return _answer_revocation(document_id, False)
