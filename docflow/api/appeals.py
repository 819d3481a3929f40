"""Appeals (обращения): the topics, filing with attachments, the list with
filters, one appeal with its answer, and the answer's files."""

from __future__ import annotations

import re
import uuid
from typing import IO, Any, cast

from flask import jsonify, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    read_meta,
    read_query,
    validated,
)
from docflow.api.schemas import appeals as out
from docflow.api.serialize import file_json, iso
from docflow.appeals import services as svc
from docflow.appeals.models import Appeal
from docflow.context import current_runtime, db_session, settings
from docflow.contracts.common import normalize_contract_number
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.documents.services import Upload
from docflow.errors import ConflictError, NotFoundError, ValidationError

APPEALS = "Обращения"
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
    out_: dict[str, Any] = {
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
        out_["text"] = appeal.text
        out_["contact"] = {"name": appeal.contact_name, "phone": appeal.contact_phone}
        out_["files"] = [
            file_json(f) for f in ([doc.main_file, *doc.attachments] if doc else [])
        ]
        out_["answer"] = (
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
        out_["history"] = [
            {
                "status": h.status.value,
                "at": iso(h.created_at),
                "by": h.actor_label,
                "note": h.note,
            }
            for h in appeal.history
        ]
    return out_


def _contract(meta: out.AppealRequest) -> uuid.UUID:
    if meta.contract_id is not None:
        return meta.contract_id  # type: ignore[no-any-return]
    contract = db_session().scalar(
        select(Contract).where(
            Contract.number == normalize_contract_number(meta.contract_number)
        )
    )
    if contract is None:
        raise NotFoundError("Договор не найден.", details={"field": "contract_number"})
    return contract.id


def _created(appeal: Appeal, status: int) -> Any:
    response = jsonify(appeal_json(db_session(), appeal, full=True))
    response.status_code = status
    response.headers["Location"] = url_for("api.get_appeal", appeal_id=appeal.id)
    return response


@operation(
    "GET",
    "/appeals/topics",
    id="listAppealTopics",
    summary="Тематики обращений (срок ответа, юридическая значимость)",
    tag=APPEALS,
    scopes=("read",),
    answers={200: json_answer(out.AppealTopicList, "Доступные тематики.")},
)
def list_appeal_topics() -> Any:
    return jsonify({"items": [topic_json(t) for t in svc.list_topics(db_session())]})


@operation(
    "GET",
    "/appeals",
    id="listAppeals",
    summary="Обращения по видимым договорам (новые первыми)",
    tag=APPEALS,
    scopes=("read",),
    answers={200: json_answer(out.AppealList, "Обращения.")},
    errors=("Unprocessable",),
    query=out.AppealFilters,
)
def list_appeals() -> Any:
    filters = _filters()
    s = db_session()
    with transaction(s):
        page = svc.search_appeals(
            s,
            actor=api_actor(),
            filters=filters,
            per_page=100,
            runtime=current_runtime(),
        )
        items = [appeal_json(s, a) for a in page.items]
    return jsonify(
        {"items": items, "total": page.total, "page": page.page, "pages": page.pages}
    )


@operation(
    "POST",
    "/appeals",
    id="createAppeal",
    summary="Подать обращение: номер, PDF обращения и приложения в документообороте",
    tag=APPEALS,
    scopes=("write",),
    answers={
        201: json_answer(out.Appeal, "Обращение подано."),
        200: json_answer(out.Appeal, "Обращение с тем же Idempotency-Key уже подано."),
    },
    errors=("NotFound", "Conflict", *BODY_ERRORS),
    body=Body(
        {MULTIPART: Inline(out.AppealUpload)},
        encoding={MULTIPART: {"meta": {"contentType": JSON}}},
    ),
    description="Обращение по юридически значимой тематике регистрируется "
    "после подписи клиента: документ `document_id` подписывается через "
    "`POST /documents/{document_id}/signatures` (нужно право подписи). "
    "Заголовок `Idempotency-Key` (до 64 символов) защищает от повтора.",
)
def create_appeal() -> Any:
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaTypeError(
            "Обращение передаётся как multipart/form-data: часть meta и "
            "(необязательно) attachments.",
            details={"content_type": request.mimetype or None},
        )
    raw = read_meta(
        out.AppealRequest, hint="JSON с тематикой, договором, текстом и контактами"
    )
    files = request.files.getlist("attachments")
    if any(not f.filename for f in files):
        raise ValidationError(
            "У каждого приложения должно быть имя файла.",
            details={"field": "attachments"},
        )
    meta = validated(out.AppealRequest, raw)
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
                runtime=current_runtime(),
                topic_id=meta.topic_id,
                contract_id=contract_id,
                text=meta.text,
                contact_name=meta.contact_name,
                contact_phone=meta.contact_phone,
                attachments=[
                    Upload(f.filename or "", f.stream, f.mimetype) for f in files
                ],
                max_bytes=settings().web.max_upload_mb * 1024 * 1024,
                source="api",
                submission_key=f"api:{key}" if key else None,
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
    """The web's filters, but a malformed value is refused, not forgiven: the
    model's checks first, then what the search's own reading found wrong."""
    query = read_query(out.AppealFilters)
    filters = svc.AppealFilters.from_args(request.args)
    if filters.problems:
        name = filters.problems[0]
        raise ValidationError(
            f"Параметр «{name}» указан неверно.",
            details={"field": name, "invalid": filters.problems},
        )
    page = query.page
    if page is not None and not (page.isdigit() and 0 < int(page) < 100000):
        raise ValidationError(
            "Параметр «page»: номер страницы от 1.", details={"field": "page"}
        )
    filters.overdue = query.overdue == "true"
    return filters


@operation(
    "GET",
    "/appeals/<uuid:appeal_id>",
    id="getAppeal",
    summary="Обращение: текст, файлы, история статусов и ответ",
    tag=APPEALS,
    scopes=("read",),
    answers={200: json_answer(out.Appeal, "Обращение.")},
    errors=("NotFound",),
)
def get_appeal(appeal_id: uuid.UUID) -> Any:
    s = db_session()
    with transaction(s):
        svc.sync_signatures(s, runtime=current_runtime())
    appeal = svc.get_appeal(s, actor=api_actor(), appeal_id=appeal_id)
    return jsonify(appeal_json(s, appeal, full=True))


@operation(
    "GET",
    "/appeals/<uuid:appeal_id>/answer/files/<uuid:file_id>",
    id="getAppealAnswerFile",
    summary="Файл ответа на обращение (PDF ответа или приложение)",
    tag=APPEALS,
    scopes=("read",),
    answers={200: Answer("Файл (потоком).", {"*/*": BINARY})},
    errors=("NotFound",),
    path={"file_id": "Идентификатор файла ответа."},
)
def get_appeal_answer_file(appeal_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    row = svc.appeal_file(
        db_session(),
        actor=api_actor(),
        appeal_id=appeal_id,
        file_id=file_id,
        answer_only=True,
    )
    return send_file(
        # A BlobReader is an io.RawIOBase, a binary file in all but typeshed's
        # name (typing.IO is no base of io's classes); send_file reads and
        # closes it.
        cast(IO[bytes], current_runtime().storage.open(row.blob_key)),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.filename,
        max_age=0,
    )
