"""Appeals (обращения): the topics, filing with attachments, the list with
filters, one appeal with its answer, and the answer's files."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import jsonify, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import (
    UnsupportedMediaTypeError,
    date_value,
    multipart_meta,
    string_field,
    uuid_field,
)
from docflow.api.serialize import file_json, iso
from docflow.appeals import services as svc
from docflow.appeals.models import Appeal, AppealStatus
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.documents.services import Upload
from docflow.errors import ConflictError, NotFoundError, ValidationError
from docflow.web import blob_store, db_session, settings

META_FIELDS = frozenset(
    {
        "topic_id",
        "contract_id",
        "contract_number",
        "text",
        "contact_name",
        "contact_phone",
    }
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")


def topic_json(topic: Any) -> dict[str, Any]:
    return {
        "id": str(topic.id),
        "title": topic.title,
        "description": topic.description,
        "legally_significant": topic.is_significant,
        "answer_hours": topic.answer_hours,
    }


def appeal_json(
    session: Session, appeal: Appeal, *, full: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(appeal.id),
        "number": appeal.number,
        "status": appeal.status.value,
        "status_title": appeal.status_title,
        "topic": topic_json(appeal.topic),
        "contract": {"id": str(appeal.contract_id), "number": appeal.contract.number},
        "organisation": {
            "id": str(appeal.organisation_id),
            "name": appeal.organisation.name,
            "inn": appeal.organisation.inn,
        },
        "created_at": iso(appeal.created_at),
        "registered_at": iso(appeal.registered_at),
        "due_at": iso(appeal.due_at),
        "overdue": svc.is_overdue(appeal),
        "document_id": str(appeal.document_id) if appeal.document_id else None,
        "answered_at": iso(appeal.answered_at),
        "closed_at": iso(appeal.closed_at),
        "withdrawn_at": iso(appeal.withdrawn_at),
    }
    if full:
        doc, answer = svc.documents_of(session, appeal)
        out["text"] = appeal.text
        out["contact"] = {"name": appeal.contact_name, "phone": appeal.contact_phone}
        out["files"] = [
            file_json(f) for f in ([doc.main_file, *doc.attachments] if doc else [])
        ]
        out["answer"] = (
            None
            if answer is None
            else {
                "text": appeal.answer_text,
                "document_id": str(answer.id),
                "files": [
                    file_json(f) for f in [answer.main_file, *answer.attachments]
                ],
            }
        )
        out["history"] = [
            {
                "status": h.status.value,
                "at": iso(h.created_at),
                "by": h.actor_label,
                "note": h.note,
            }
            for h in appeal.history
        ]
    return out


def _meta() -> dict[str, Any]:
    return multipart_meta(
        META_FIELDS, hint="JSON с тематикой, договором, текстом и контактами"
    )


def _contract(meta: dict[str, Any]) -> uuid.UUID:
    from docflow.contracts.services import normalize_contract_number

    if meta.get("contract_id") is not None:
        return uuid_field(meta, "contract_id")
    number = string_field(meta, "contract_number", max_length=50)
    contract = db_session().scalar(
        select(Contract).where(Contract.number == normalize_contract_number(number))
    )
    if contract is None:
        raise NotFoundError("Договор не найден.", details={"field": "contract_number"})
    return contract.id


def _created(appeal: Appeal, status: int) -> Any:
    response = jsonify(appeal_json(db_session(), appeal, full=True))
    response.status_code = status
    response.headers["Location"] = url_for("api.get_appeal", appeal_id=appeal.id)
    return response


@bp.get("/appeals/topics")
@scope("read")
def list_appeal_topics() -> Any:
    return jsonify({"items": [topic_json(t) for t in svc.list_topics(db_session())]})


@bp.post("/appeals")
@scope("write")
def create_appeal() -> Any:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            "Обращение передаётся как multipart/form-data: часть meta и "
            "(необязательно) attachments.",
            details={"content_type": request.mimetype or None},
        )
    meta = _meta()
    files = request.files.getlist("attachments")
    if any(not f.filename for f in files):
        raise ValidationError(
            "У каждого приложения должно быть имя файла.",
            details={"field": "attachments"},
        )
    topic_id = uuid_field(meta, "topic_id")
    text = string_field(meta, "text", max_length=svc.MAX_TEXT)
    contact_name = string_field(meta, "contact_name", max_length=300)
    contact_phone = string_field(meta, "contact_phone", max_length=30)
    contract_id = _contract(meta)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            "Заголовок Idempotency-Key: от 1 до 64 видимых символов ASCII.",
            details={"field": "Idempotency-Key"},
        )
    s = db_session()
    try:
        with transaction(s):
            appeal = svc.file_appeal(
                s,
                actor=api_actor(),
                storage=blob_store(),
                topic_id=topic_id,
                contract_id=contract_id,
                text=text,
                contact_name=contact_name,
                contact_phone=contact_phone,
                attachments=[
                    Upload(f.filename or "", f.stream, f.mimetype) for f in files
                ],
                max_bytes=settings().max_upload_mb * 1024 * 1024,
                source="api",
                submission_key=f"api:{key}" if key else None,
                base_url=settings().base_url,
            )
            response = _created(appeal, 201)
    except ConflictError as exc:
        if exc.code != "appeal_already_filed":
            raise
        earlier = svc.get_appeal(
            s, actor=api_actor(), appeal_id=uuid.UUID(exc.details["appeal_id"])
        )
        return _created(earlier, 200)
    return response


def _filters() -> svc.AppealFilters:
    """The web's filters, but a malformed value is refused, not forgiven."""
    args = request.args
    status = args.get("status")
    if status is not None and status not in {s.value for s in AppealStatus}:
        raise ValidationError(
            "Параметр «status»: одно из "
            + ", ".join(s.value for s in AppealStatus)
            + ".",
            details={"field": "status"},
        )
    for name in ("date_from", "date_to"):
        if args.get(name) is not None:
            date_value(args[name], name)
    overdue = args.get("overdue")
    if overdue is not None and overdue not in ("true", "false"):
        raise ValidationError(
            "Параметр «overdue»: true или false.", details={"field": "overdue"}
        )
    filters = svc.AppealFilters.from_args(args)
    if filters.problems:
        name = filters.problems[0]
        raise ValidationError(
            f"Параметр «{name}» указан неверно.",
            details={"field": name, "invalid": filters.problems},
        )
    page = args.get("page")
    if page is not None and not (page.isdigit() and 0 < int(page) < 100000):
        raise ValidationError(
            "Параметр «page»: номер страницы от 1.", details={"field": "page"}
        )
    filters.overdue = overdue == "true"
    return filters


@bp.get("/appeals")
@scope("read")
def list_appeals() -> Any:
    filters = _filters()
    s = db_session()
    with transaction(s):
        page = svc.search_appeals(s, actor=api_actor(), filters=filters, per_page=100)
        items = [appeal_json(s, a) for a in page.items]
    return jsonify(
        {"items": items, "total": page.total, "page": page.page, "pages": page.pages}
    )


@bp.get("/appeals/<uuid:appeal_id>")
@scope("read")
def get_appeal(appeal_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        svc.sync_signatures(s)
    appeal = svc.get_appeal(s, actor=api_actor(), appeal_id=appeal_id)
    return jsonify(appeal_json(s, appeal, full=True))


@bp.get("/appeals/<uuid:appeal_id>/answer/files/<uuid:file_id>")
@scope("read")
def get_appeal_answer_file(appeal_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    row = svc.appeal_file(
        db_session(),
        actor=api_actor(),
        appeal_id=appeal_id,
        file_id=file_id,
        answer_only=True,
    )
    return send_file(
        blob_store().open(row.blob_key),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.filename,
        max_age=0,
    )
