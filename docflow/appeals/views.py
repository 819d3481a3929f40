"""Appeals: the customer's wizard, history and card; the clerk's queue,
answer and close; the administrator's topics."""

from __future__ import annotations

import uuid
from typing import Any

from celery.result import EagerResult
from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from docflow.access import handles_appeals, manages_appeal_topics
from docflow.access.web import admin_required, staff_required
from docflow.appeals import services as svc
from docflow.appeals.forms import AnswerForm, AppealForm, TopicForm, WithdrawForm
from docflow.appeals.models import APPEAL_STATUS_TITLES
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.db import transaction
from docflow.documents.services import Upload, status_label
from docflow.documents.tasks import countersign_document
from docflow.errors import ConflictError, DocflowError, PermissionDeniedError
from docflow.profile.services import declare_sent_kinds
from notifications import EventKind

bp = Blueprint("appeals", __name__, url_prefix="/appeals", template_folder="templates")


def _max_bytes() -> int:
    return int(settings().web.max_upload_mb) * 1024 * 1024


def _uploads(files: Any) -> list[Upload]:
    return [
        Upload(f.filename, f.stream, f.mimetype)
        for f in files or []
        if f and f.filename
    ]


def _supplier_key_configured() -> bool:
    st = settings()
    return bool(
        st.supplier.signer_p12 or st.supplier.signer_key or st.supplier.pkcs11_lib
    )


def _synced() -> None:
    """Appeals whose documents were signed (or refused) since: moved on."""
    s = db_session()
    with transaction(s):
        svc.sync_signatures(s, runtime=current_runtime())


def _list_context(queue: bool) -> dict[str, Any]:
    s = db_session()
    actor = current_actor()
    filters = svc.AppealFilters.from_args(request.args)
    with transaction(s):
        page = svc.search_appeals(
            s, actor=actor, filters=filters, queue=queue, runtime=current_runtime()
        )
    contracts = svc.filing_contracts(s, actor=actor)
    return {
        "page": page,
        "filters": filters,
        "statuses": APPEAL_STATUS_TITLES,
        "topics": svc.list_topics(s, active_only=False),
        "contracts": contracts,
        "is_overdue": svc.is_overdue,
    }


@bp.get("/", strict_slashes=False)
@login_required
def index() -> Any:
    if handles_appeals(current_actor()):
        return redirect(url_for("appeals.queue"))
    return render_template("appeals/index.html", **_list_context(False))


@bp.get("/queue")
@staff_required
def queue() -> Any:
    return render_template("appeals/queue.html", **_list_context(True))


def _wizard_choices(form: AppealForm) -> tuple[list[Any], set[uuid.UUID]]:
    s = db_session()
    actor = current_actor()
    topics = svc.list_topics(s)
    contracts = svc.filing_contracts(s, actor=actor)
    form.topic_id.choices = [("", "— выберите тематику —")] + [
        (str(t.id), t.title + (" (юридически значимое)" if t.is_significant else ""))
        for t in topics
    ]
    form.contract_id.choices = [
        (str(c.id), f"№ {c.number} — {c.organisation.name}") for c in contracts
    ]
    return topics, svc.signable_contract_ids(s, actor=actor)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    actor = current_actor()
    if handles_appeals(actor):
        raise PermissionDeniedError(
            "Обращения подают клиенты; сотрудники поставщика отвечают на них в "
            "очереди «Обращения клиентов»."
        )
    form = AppealForm()
    topics, signable = _wizard_choices(form)
    if request.method == "GET":
        form.submission_key.data = uuid.uuid4().hex
        form.contact_name.data = current_user.full_name
        form.contact_phone.data = current_user.phone or ""
        if request.args.get("contract"):
            form.contract_id.data = request.args["contract"]

    def page(status: int) -> Any:
        return render_template(
            "appeals/new.html",
            form=form,
            topics=topics,
            signable=signable,
            max_mb=settings().web.max_upload_mb,
            max_files=svc.MAX_FILES,
        ), status

    if not form.contract_id.choices:
        return page(200)
    if not form.validate_on_submit():
        return page(200 if request.method == "GET" else 422)
    s = db_session()
    try:
        topic_id = uuid.UUID(form.topic_id.data or "")
        contract_id = uuid.UUID(form.contract_id.data or "")
    except ValueError:
        form.topic_id.errors = ["Выберите тематику и договор из списка."]
        return page(422)
    key = (form.submission_key.data or "").strip()[:64] or None
    try:
        with transaction(s):
            appeal = svc.file_appeal(
                s,
                actor=actor,
                runtime=current_runtime(),
                topic_id=topic_id,
                contract_id=contract_id,
                text=form.text.data or "",
                contact_name=form.contact_name.data or "",
                contact_phone=form.contact_phone.data or "",
                attachments=_uploads(form.attachments.data),
                max_bytes=_max_bytes(),
                submission_key=key,
            )
            appeal_id, number = appeal.id, appeal.number
            document_id, significant = appeal.document_id, appeal.is_significant
    except ConflictError as exc:
        if exc.code != "appeal_already_filed":
            raise
        flash(exc.message, "info")
        return redirect(url_for("appeals.card", appeal_id=exc.details["appeal_id"]))
    except DocflowError as exc:
        if exc.status in (403, 404):
            raise
        target = {
            "text": form.text,
            "contact_name": form.contact_name,
            "contact_phone": form.contact_phone,
            "topic_id": form.topic_id,
            "contract_id": form.contract_id,
        }.get(str(exc.details.get("field", "")), form.attachments)
        target.errors = [exc.message]
        return page(exc.status)
    if significant:
        flash(
            f"Номер обращения – {number}. Обращение юридически значимое: подпишите "
            "его электронной подписью — после подписания оно будет "
            "зарегистрировано.",
            "info",
        )
        return redirect(url_for("documents.sign_page", document_id=document_id))
    flash(f"Номер обращения – {number}. С Вами свяжутся в ближайшее время!", "success")
    return redirect(url_for("appeals.card", appeal_id=appeal_id))


@bp.get("/<uuid:appeal_id>")
@login_required
def card(appeal_id: uuid.UUID) -> Any:
    _synced()
    s = db_session()
    actor = current_actor()
    appeal = svc.get_appeal(s, actor=actor, appeal_id=appeal_id)
    doc, answer = svc.documents_of(s, appeal)
    return render_template(
        "appeals/card.html",
        appeal=appeal,
        doc=doc,
        answer=answer,
        offers=svc.offers(s, actor=actor, appeal=appeal),
        overdue=svc.is_overdue(appeal),
        answer_form=AnswerForm(),
        withdraw_form=WithdrawForm(),
        doc_status=status_label,
        supplier_key=_supplier_key_configured(),
        max_files=svc.MAX_FILES,
        max_mb=settings().web.max_upload_mb,
    )


@bp.get("/<uuid:appeal_id>/files/<uuid:appeal_file_id>")
@login_required
def download(appeal_id: uuid.UUID, appeal_file_id: uuid.UUID) -> Any:
    s = db_session()
    row = svc.appeal_file(
        s, actor=current_actor(), appeal_id=appeal_id, file_id=appeal_file_id
    )
    return send_file(
        current_runtime().storage.open(row.blob_key),
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.filename,
    )


def _transition(appeal_id: uuid.UUID, action: str) -> Any:
    s = db_session()
    actor = current_actor()
    runtime = current_runtime()
    try:
        with transaction(s):
            receipt = None
            if action == "take":
                taken = svc.take_into_work(
                    s, actor=actor, appeal_id=appeal_id, runtime=runtime
                )
                message = "Обращение взято в работу."
                if not taken.is_significant:
                    receipt = taken.document_id
            elif action == "close":
                svc.close_appeal(s, actor=actor, appeal_id=appeal_id, runtime=runtime)
                message = "Обращение закрыто."
            else:
                form = WithdrawForm()
                if not form.validate_on_submit():
                    flash(
                        "; ".join(e for errs in form.errors.values() for e in errs)
                        or "Форма устарела: обновите страницу.",
                        "error",
                    )
                    return redirect(url_for("appeals.card", appeal_id=appeal_id))
                svc.withdraw_appeal(
                    s,
                    actor=actor,
                    appeal_id=appeal_id,
                    reason=form.reason.data or "",
                    runtime=runtime,
                )
                message = "Обращение отозвано."
    except DocflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(exc.message, "warning")
        return redirect(url_for("appeals.card", appeal_id=appeal_id))
    flash(message, "success")
    if receipt is not None and _supplier_key_configured():
        # The appeal's document waits for the supplier: its signature, made
        # by the same task that countersigns documents, acknowledges receipt.
        countersign_document.delay(str(receipt), str(current_user.id))
    return redirect(url_for("appeals.card", appeal_id=appeal_id))


@bp.post("/<uuid:appeal_id>/take")
@staff_required
def take(appeal_id: uuid.UUID) -> Any:
    return _transition(appeal_id, "take")


@bp.post("/<uuid:appeal_id>/close")
@staff_required
def close(appeal_id: uuid.UUID) -> Any:
    return _transition(appeal_id, "close")


@bp.post("/<uuid:appeal_id>/withdraw")
@login_required
def withdraw(appeal_id: uuid.UUID) -> Any:
    return _transition(appeal_id, "withdraw")


@bp.post("/<uuid:appeal_id>/answer")
@staff_required
def answer(appeal_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(
            "; ".join(e for errs in form.errors.values() for e in errs)
            or "Форма устарела: обновите страницу.",
            "error",
        )
        return redirect(url_for("appeals.card", appeal_id=appeal_id))
    try:
        with transaction(s):
            appeal = svc.answer_appeal(
                s,
                actor=actor,
                runtime=current_runtime(),
                appeal_id=appeal_id,
                text=form.text.data or "",
                files=_uploads(form.files.data),
                max_bytes=_max_bytes(),
            )
            answer_doc = appeal.answer_document_id
    except DocflowError as exc:
        if exc.status in (403, 404):
            raise
        flash(exc.message, "error")
        return redirect(url_for("appeals.card", appeal_id=appeal_id))
    flash("Ответ направлен клиенту.", "success")
    if _supplier_key_configured():
        # The answer's route is the supplier's signature: the same task that
        # countersigns documents signs it with the supplier's key.
        result = countersign_document.delay(str(answer_doc), str(current_user.id))
        if isinstance(result, EagerResult) and result.failed():
            flash(
                "Ответ не удалось подписать ключом поставщика: подпишите его на "
                "странице документа.",
                "warning",
            )
    return redirect(url_for("appeals.card", appeal_id=appeal_id))


# -- topics --------------------------------------------------------------------------


@bp.get("/topics")
@staff_required
def topics() -> Any:
    s = db_session()
    return render_template(
        "appeals/topics.html",
        topics=svc.list_topics(s, active_only=False),
        can_edit=manages_appeal_topics(current_actor()),
    )


@bp.route("/topics/new", methods=["GET", "POST"])
@bp.route("/topics/<uuid:topic_id>", methods=["GET", "POST"])
@admin_required
def topic(topic_id: uuid.UUID | None = None) -> Any:
    s = db_session()
    current = svc.get_topic(s, topic_id) if topic_id else None
    form = TopicForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with transaction(s):
                svc.save_topic(
                    s,
                    actor=current_actor(),
                    topic_id=topic_id,
                    title=form.title.data or "",
                    description=form.description.data or "",
                    is_significant=bool(form.is_significant.data),
                    answer_hours=int(form.answer_hours.data or 0),
                    is_active=bool(form.is_active.data),
                    position=int(form.position.data or 0),
                )
        except DocflowError as exc:
            if exc.status in (403, 404):
                raise
            field = {
                "title": form.title,
                "description": form.description,
                "answer_hours": form.answer_hours,
            }.get(str(exc.details.get("field", "")), form.title)
            field.errors = [exc.message]
            return render_template(
                "appeals/topic_form.html", form=form, topic=current
            ), exc.status
        flash("Тематика сохранена.", "success")
        return redirect(url_for("appeals.topics"))
    status = 200 if request.method == "GET" else 422
    return render_template("appeals/topic_form.html", form=form, topic=current), status


@bp.record_once
def _on_register(_state: object) -> None:
    # This module answers appeals: the switch for that message is offered.
    declare_sent_kinds(EventKind.APPEAL_ANSWERED)
