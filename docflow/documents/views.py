"""Documents: the registry, the card, signing in the browser, downloads."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import tempfile
import uuid
from typing import Any

from celery.result import EagerResult
from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_datetime, gettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from docflow.access import (
    Action,
    Right,
    may,
    party_of,
    registrable_contract_ids,
    visible_contract_ids,
)
from docflow.access.web import current_is_staff
from docflow.audit.services import history
from docflow.certificates.services import usable_certificates
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.documents import services as svc
from docflow.documents import signing_flow as flow
from docflow.documents.evidence import latest_recheck, reverify_signatures
from docflow.documents.forms import DocumentForm, ReasonForm
from docflow.documents.models import (
    DOC_TYPE_TITLES,
    DocStatus,
    DocumentFile,
    FileRole,
    Party,
)
from docflow.documents.package import safe_name, write_package
from docflow.documents.search import SearchFilters, export_xlsx, search_documents
from docflow.documents.tasks import countersign_document
from docflow.errors import (
    DocflowError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.inputs import json_route

bp = Blueprint(
    "documents", __name__, url_prefix="/documents", template_folder="templates"
)


def _contract_choices(*, to_register: bool = False) -> list[tuple[str, str]]:
    """The contracts to choose from: those the actor sees (to filter by), or
    those it may register documents on (the view right alone is read-only)."""
    s = db_session()
    actor = current_actor()
    ids = (
        registrable_contract_ids(actor)
        if to_register
        else visible_contract_ids(actor, Right.VIEW)
    )
    stmt = select(Contract).where(Contract.id.in_(ids)).order_by(Contract.number)
    return [
        (str(c.id), f"№ {c.number} — {c.organisation.name}") for c in s.scalars(stmt)
    ]


#: Up to this many contracts the search form offers a list to pick from;
#: beyond (the supplier's staff see every contract) it asks for a number.
CONTRACT_LIST_LIMIT = 200


def _contract_filter_choices() -> list[tuple[str, str]] | None:
    """The contracts to pick from in the search form, or None when there are
    too many for a list."""
    actor = current_actor()
    ids = visible_contract_ids(actor, Right.VIEW)
    many = db_session().scalar(
        select(func.count()).select_from(ids.limit(CONTRACT_LIST_LIMIT + 1).subquery())
    )
    return None if (many or 0) > CONTRACT_LIST_LIMIT else _contract_choices()


def _may_register() -> bool:
    contracts = registrable_contract_ids(current_actor())
    return bool(db_session().scalar(select(contracts.exists())))


def _page_links(page: Any) -> tuple[str | None, str | None]:
    """The links to the previous and the next page: after or before a row of
    this page (keyset), so a deep page costs what the first one does."""
    args = {
        k: v for k, v in request.args.items() if k not in ("page", "after", "before")
    }
    prev_url = next_url = None
    if page.has_prev:
        if page.page > 2 and page.prev_cursor:
            args_prev = {**args, "before": page.prev_cursor, "page": page.page - 1}
            prev_url = url_for("documents.index", **args_prev)
        else:
            prev_url = url_for("documents.index", **args)
    if page.next_cursor:
        args_next = {**args, "after": page.next_cursor, "page": page.page + 1}
        next_url = url_for("documents.index", **args_next)
    return prev_url, next_url


@bp.get("/")
@login_required
def index() -> Any:
    filters = SearchFilters.from_args(request.args)
    s = db_session()
    page = search_documents(s, actor=current_actor(), filters=filters)
    prev_url, next_url = _page_links(page)
    return render_template(
        "documents/index.html",
        page=page,
        filters=filters,
        contracts=_contract_filter_choices(),
        can_register=_may_register(),
        types=DOC_TYPE_TITLES,
        statuses=svc.STATUS_TITLES,
        status_label=svc.status_label,
        prev_url=prev_url,
        next_url=next_url,
    )


@bp.get("/export.xlsx")
@login_required
def export() -> Any:
    data = export_xlsx(
        db_session(),
        actor=current_actor(),
        filters=SearchFilters.from_args(request.args),
    )
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"documents-{dt.date.today():%Y%m%d}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    form = DocumentForm()
    form.contract_id.choices = _contract_choices(to_register=True)
    if not form.contract_id.choices:
        raise PermissionDeniedError(
            "Нет договоров, по которым вам разрешено регистрировать документы: нужно "
            "право подписи или управления доступом."
        )
    if request.method == "GET" and request.args.get("contract"):
        form.contract_id.data = request.args["contract"]
    if form.validate_on_submit():
        s = db_session()
        try:
            with transaction(s):
                doc = svc.register_document(
                    s,
                    actor=current_actor(),
                    runtime=current_runtime(),
                    contract_id=uuid.UUID(form.contract_id.data or ""),
                    doc_type=form.doc_type.data or "other",
                    number=form.number.data or "",
                    doc_date=form.doc_date.data or dt.date.today(),
                    title=form.title.data or "",
                    comment=form.comment.data or "",
                    route=(form.route.data or "customer,supplier").split(","),
                    main_file=svc.Upload(
                        form.main_file.data.filename,
                        form.main_file.data.stream,
                        form.main_file.data.mimetype,
                    ),
                    attachments=[
                        svc.Upload(f.filename, f.stream, f.mimetype)
                        for f in (form.attachments.data or [])
                        if f and f.filename
                    ],
                    max_bytes=settings().web.max_upload_mb * 1024 * 1024,
                )
        except DocflowError as exc:
            target = {
                "number": form.number,
                "title": form.title,
                "route": form.route,
            }.get(str(exc.details.get("field", "")), form.main_file)
            target.errors = [exc.message]
            return render_template("documents/new.html", form=form), exc.status
        flash("Документ зарегистрирован и направлен на подпись.", "success")
        return redirect(url_for("documents.card", document_id=doc.id))
    return render_template(
        "documents/new.html", form=form
    ), 200 if request.method == "GET" else 422


def _my_turn(doc: Any) -> bool:
    step = doc.current_step
    if step is None or doc.status not in (DocStatus.AWAITING, DocStatus.PARTLY_SIGNED):
        return False
    actor = current_actor()
    return step.party == party_of(actor) and may(db_session(), actor, Action.SIGN, doc)


@bp.get("/<uuid:document_id>")
@login_required
def card(document_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    try:
        doc = svc.get_document(s, actor=actor, document_id=document_id)
    except NotFoundError:
        # A link from a notification or an e-mail about a document deleted
        # since, or one the user no longer has access to: say so.
        gone = svc.unavailable_reason(s, actor=actor, document_id=document_id)
        if gone is None:
            raise
        return render_template("documents/gone.html", gone=gone), (
            410 if gone.reason == "deleted" else 403
        )
    records = history(s, object_type="document", object_id=doc.id)
    # The signatures' reports as made at receipt, and the latest check asked
    # for since: opening the card verifies nothing.
    return render_template(
        "documents/card.html",
        doc=doc,
        status_label=svc.status_label(doc),
        my_turn=_my_turn(doc),
        history=records,
        recheck=latest_recheck(records),
        reason_form=ReasonForm(),
        supplier_key=_supplier_key_configured(),
        my_party=party_of(actor).value,
    )


def _recheck_verdict(verdict: str) -> str:
    """A re-verification's verdict, as the flash message says it."""
    if verdict == "valid":
        return gettext("все подписи действительны")
    if verdict == "invalid":
        return gettext("есть недействительные подписи")
    return gettext("статус части подписей не определён")


@bp.post("/<uuid:document_id>/reverify")
@login_required
def reverify(document_id: uuid.UUID) -> Any:
    """«Проверить заново»: the stored signatures verified again, now."""
    s = db_session()
    try:
        with transaction(s):
            result = reverify_signatures(
                s,
                actor=current_actor(),
                document_id=document_id,
                runtime=current_runtime(),
            )
    except (NotFoundError, PermissionDeniedError):
        raise
    except DocflowError as exc:
        flash(exc.message, "error")
        return redirect(url_for("documents.card", document_id=document_id))
    flash(
        gettext(
            "Подписи проверены заново %(moment)s (МСК): %(verdict)s.",
            moment=format_datetime(result.checked_at, "dd.MM.yyyy HH:mm:ss"),
            verdict=_recheck_verdict(result.verdict),
        ),
        "success" if result.verdict == "valid" else "warning",
    )
    return redirect(url_for("documents.card", document_id=document_id) + "#recheck")


@bp.get("/<uuid:document_id>/sign")
@login_required
def sign_page(document_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    doc = svc.get_document(s, actor=actor, document_id=document_id)
    if not _my_turn(doc):
        flash("Сейчас вы не можете подписать этот документ.", "warning")
        return redirect(url_for("documents.card", document_id=doc.id))
    step = doc.current_step
    assert step is not None
    org_id = flow.party_organisation_id(s, doc, step.party)
    certs = usable_certificates(s, actor=actor, organisation_id=org_id)
    return render_template(
        "documents/sign.html",
        doc=doc,
        certs=certs,
        reason_form=ReasonForm(),
        cadesplugin_api_url=settings().web.cadesplugin_api_url,
    )


def _json_error(exc: DocflowError) -> Any:
    resp = jsonify(
        {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "details": {k: v for k, v in exc.details.items() if k != "report"},
            }
        }
    )
    resp.status_code = exc.status
    return resp


def _json_object() -> dict[str, Any]:
    """The request's JSON object; anything else (no JSON, ``[1, 2]``, ``true``)
    reads as an empty one, whose missing fields the route then refuses."""
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


@bp.post("/<uuid:document_id>/sign/prepare")
@login_required
@json_route
def sign_prepare(document_id: uuid.UUID) -> Any:
    payload = _json_object()
    s = db_session()
    try:
        certificate_id = uuid.UUID(str(payload.get("certificate_id", "")))
    except ValueError:
        return _json_error(
            ValidationError("Выберите сертификат.", code="validation_error")
        )
    try:
        with transaction(s):
            prepared = flow.prepare_signing(
                s,
                actor=current_actor(),
                document_id=document_id,
                certificate_id=certificate_id,
                runtime=current_runtime(),
            )
    except DocflowError as exc:
        return _json_error(exc)
    return jsonify({"session_id": str(prepared.session_id), "items": prepared.items})


@bp.post("/<uuid:document_id>/sign/complete")
@login_required
@json_route
def sign_complete(document_id: uuid.UUID) -> Any:
    payload = _json_object()
    s = db_session()
    try:
        session_id = uuid.UUID(str(payload.get("session_id", "")))
        values = {
            str(k): base64.b64decode(str(v), validate=True)
            for k, v in dict(payload.get("signatures") or {}).items()
        }
    except (ValueError, TypeError, binascii.Error):
        return _json_error(
            ValidationError("Некорректные данные подписи.", code="validation_error")
        )
    try:
        with transaction(s):
            signature = flow.complete_signing(
                s,
                actor=current_actor(),
                session_id=session_id,
                signatures=values,
                runtime=current_runtime(),
            )
            doc = signature.document
            label = svc.status_label(doc)
    except DocflowError as exc:
        s.rollback()
        return _json_error(exc)
    flash(f"Документ подписан. Статус: {label}.", "success")
    return jsonify(
        {
            "ok": True,
            "status": doc.status.value,
            "message": label,
            "redirect": url_for("documents.card", document_id=doc.id),
        }
    )


def _transition(document_id: uuid.UUID, action: str) -> Any:
    s = db_session()
    form = ReasonForm()
    actor = current_actor()
    try:
        with transaction(s):
            if action == "refuse":
                if not form.validate_on_submit():
                    raise ValidationError(
                        "Укажите причину отказа (не короче 3 символов)."
                    )
                svc.refuse(
                    s,
                    actor=actor,
                    document_id=document_id,
                    reason=form.reason.data or "",
                    runtime=current_runtime(),
                )
                message = "Вы отказались подписывать документ."
            elif action == "revocation":
                if not form.validate_on_submit():
                    raise ValidationError("Укажите причину аннулирования.")
                svc.request_revocation(
                    s,
                    actor=actor,
                    document_id=document_id,
                    reason=form.reason.data or "",
                    runtime=current_runtime(),
                )
                message = "Запрос на аннулирование направлен другой стороне."
            elif action in ("revocation-accept", "revocation-decline"):
                accept = action == "revocation-accept"
                svc.answer_revocation(
                    s,
                    actor=actor,
                    document_id=document_id,
                    accept=accept,
                    runtime=current_runtime(),
                )
                message = (
                    "Документ аннулирован." if accept else "Аннулирование отклонено."
                )
            elif action == "delete":
                svc.delete_document(s, actor=actor, document_id=document_id)
                message = "Документ удалён."
            else:
                abort(404)
    except (NotFoundError, PermissionDeniedError):
        raise  # 404: not visible; 403: visible, but not this actor's to do
    except DocflowError as exc:
        flash(exc.message, "error")
        return redirect(url_for("documents.card", document_id=document_id))
    flash(message, "success")
    if action == "delete":
        return redirect(url_for("documents.index"))
    return redirect(url_for("documents.card", document_id=document_id))


@bp.post("/<uuid:document_id>/refuse")
@login_required
def refuse(document_id: uuid.UUID) -> Any:
    return _transition(document_id, "refuse")


@bp.post("/<uuid:document_id>/revocation")
@login_required
def revocation(document_id: uuid.UUID) -> Any:
    return _transition(document_id, "revocation")


@bp.post("/<uuid:document_id>/revocation/accept")
@login_required
def revocation_accept(document_id: uuid.UUID) -> Any:
    return _transition(document_id, "revocation-accept")


@bp.post("/<uuid:document_id>/revocation/decline")
@login_required
def revocation_decline(document_id: uuid.UUID) -> Any:
    return _transition(document_id, "revocation-decline")


@bp.post("/<uuid:document_id>/delete")
@login_required
def delete(document_id: uuid.UUID) -> Any:
    return _transition(document_id, "delete")


def _supplier_key_configured() -> bool:
    st = settings()
    return bool(
        st.supplier.signer_p12 or st.supplier.signer_key or st.supplier.pkcs11_lib
    )


@bp.post("/<uuid:document_id>/countersign")
@login_required
def countersign(document_id: uuid.UUID) -> Any:
    if not current_is_staff():
        abort(403)  # the customer sees the document; the supplier's key is not theirs

    s = db_session()
    doc = svc.get_document(s, actor=current_actor(), document_id=document_id)
    step = doc.current_step
    if step is None or step.party != Party.SUPPLIER:
        flash("Сейчас не очередь подписи поставщика.", "warning")
        return redirect(url_for("documents.card", document_id=document_id))
    result = countersign_document.delay(str(document_id), str(current_user.id))
    # Eager (the embedded mode) the task has run by now and its outcome is
    # known; with a broker it is only queued, and a worker's result need not
    # be stored (no result backend), so it is not asked for.
    if not isinstance(result, EagerResult):
        flash(
            "Подписание ключом поставщика поставлено в очередь: статус документа "
            "изменится, когда подпись будет готова. Обновите страницу через минуту.",
            "info",
        )
    elif result.failed():
        flash("Не удалось подписать ключом поставщика: подробности в журнале.", "error")
    elif result.result == "signed":
        flash("Документ подписан ключом поставщика.", "success")
    else:
        flash(
            "Документ уже не ожидает подписи поставщика: ключом поставщика он не "
            "подписан.",
            "warning",
        )
    return redirect(url_for("documents.card", document_id=document_id))


def _file(doc: Any, file_id: uuid.UUID) -> DocumentFile:
    f = next((f for f in doc.files if f.id == file_id), None)
    if f is None:
        abort(404)
    return f


@bp.get("/<uuid:document_id>/files/<uuid:file_id>")
@login_required
def download_file(document_id: uuid.UUID, file_id: uuid.UUID) -> Any:
    s = db_session()
    doc = svc.get_document(s, actor=current_actor(), document_id=document_id)
    f = _file(doc, file_id)
    reader = current_runtime().storage.open(f.blob_key)
    return send_file(
        reader,
        mimetype=f.content_type,
        as_attachment=True,
        download_name=f.filename,
        max_age=0,
    )


@bp.get("/<uuid:document_id>/printable.pdf")
@login_required
def printable(document_id: uuid.UUID) -> Any:
    # printable imports pypdf, ~0.25 s on top of the app's start: paid when needed.
    from docflow.documents.printable import printable_pdf  # noqa: PLC0415 - loaded on first use: pypdf is heavy

    s = db_session()
    doc = svc.get_document(s, actor=current_actor(), document_id=document_id)
    data = printable_pdf(s, doc=doc, storage=current_runtime().storage)
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=f"{safe_name(doc.number, fallback='document')}-print.pdf",
    )


def _package_response(docs: list[Any], name: str) -> Any:
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    write_package(db_session(), docs=docs, storage=current_runtime().storage, out=spool)
    spool.seek(0)
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        # A number may hold anything a person typed (CR/LF breaks a header).
        download_name=safe_name(name, fallback="documents.zip"),
    )


@bp.get("/<uuid:document_id>/package.zip")
@login_required
def package(document_id: uuid.UUID) -> Any:
    doc = svc.get_document(db_session(), actor=current_actor(), document_id=document_id)
    return _package_response([doc], f"document-{doc.number}.zip")


@bp.post("/package.zip")
@login_required
def package_many() -> Any:
    s = db_session()
    actor = current_actor()
    docs = []
    for raw in request.form.getlist("ids")[:200]:
        try:
            docs.append(svc.get_document(s, actor=actor, document_id=uuid.UUID(raw)))
        except (ValueError, DocflowError):
            continue
    if not docs:
        flash("Отметьте документы для скачивания.", "warning")
        return redirect(url_for("documents.index"))
    return _package_response(docs, f"documents-{dt.date.today():%Y%m%d}.zip")


FILE_ROLE_TITLES = {
    FileRole.MAIN: "Оригинал",
    FileRole.ATTACHMENT: "Приложение",
    FileRole.REVISION: "PDF с подписями",
    FileRole.SIGNATURE: "Подпись (.sig) со штампами времени",
    FileRole.RECEIVED: "Подпись в том виде, как получена",
    FileRole.POWER_OF_ATTORNEY: "Машиночитаемая доверенность (МЧД) и её подпись",
}


#: The evidence levels, as people read them.
EVIDENCE_LEVELS = {
    "CAdES-LTA": "CAdES-LTA (подпись .sig со штампами времени и данными для проверки)",
    "CAdES-LTA + PAdES B-LTA": "CAdES-LTA и PAdES B-LTA (подпись .sig и подпись в "
    "PDF со штампами времени и данными для проверки)",
}


@bp.app_template_filter("evidence_level")
def evidence_level_title(level: str) -> str:
    return EVIDENCE_LEVELS.get(level, level)


@bp.app_template_filter("file_role")
def file_role_title(role: FileRole) -> str:
    return FILE_ROLE_TITLES[role]


#: Where a document came from (Document.source), as the card says it.
SOURCE_TITLES = {
    "web": "веб-кабинет",
    "api": "API учётной системы",
    "readings": "раздел «Показания» (акт ПРОМ10)",
    "excel": "файл Excel",
    "cli": "командная строка",
    "demo": "демонстрационные данные",
}


@bp.app_template_filter("document_source")
def document_source_title(source: str) -> str:
    return SOURCE_TITLES.get(source, "другая система")
