"""«Показания»: submitting readings, the Excel form, history, the consumption
chart, the ПРОМ10 act (print, send to the document flow), and the supplier's
pages (loading meters, accepting readings).

The moment the submission window is judged at is the clock, or the app's
``READINGS_NOW`` config value (a datetime or a callable returning one): tests
and demonstrations set it.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from docflow.access import (
    Actor,
    Right,
    acts_for_supplier,
    is_staff,
    visible_contract_ids,
)
from docflow.access.web import staff_required
from docflow.context import current_actor, current_runtime, db_session, settings
from docflow.contracts.models import Contract
from docflow.contracts.sections import ContractSection, register_section
from docflow.dashboard.widgets import register_widget
from docflow.db import transaction
from docflow.documents.services import status_label
from docflow.errors import (
    DocflowError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.extensions import N_
from docflow.inputs import json_route
from docflow.readings import (
    calc,
    excel,
    tasks,  # noqa: F401 - every app knows the task (beat: worker.BEAT_SCHEDULE)
)
from docflow.readings import services as svc
from docflow.readings.chart import render_svg
from docflow.readings.forms import CsrfForm, DecideForm, FormUploadForm, ImportForm
from docflow.readings.models import Meter, ReadingKind
from docflow.spreadsheets import ImportFailed

bp = Blueprint(
    "readings", __name__, url_prefix="/readings", template_folder="templates"
)


def _now() -> dt.datetime | None:
    fixed = current_app.config.get("READINGS_NOW")
    return fixed() if callable(fixed) else fixed


def _days() -> svc.WindowDays:
    st = settings()
    return svc.WindowDays(st.readings.window_start, st.readings.window_end)


def _period_arg(source: Any = None) -> dt.date | None:
    raw = (source or request.values).get("period")
    if not raw:
        return None
    period = calc.parse_period(raw)
    if period is None:
        raise ValidationError(
            "Период указан неверно: ожидается ГГГГ-ММ.", details={"field": "period"}
        )
    return period


def _check_csrf() -> None:
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")


def _required_period(source: Any = None) -> dt.date:
    period = _period_arg(source)
    if period is None:
        raise ValidationError("Не указан период.", details={"field": "period"})
    return period


def _sheet_url(
    contract_id: uuid.UUID, period: dt.date | None = None, **extra: Any
) -> str:
    args = {"period": calc.period_key(period)} if period else {}
    return url_for("readings.sheet", contract_id=contract_id, **args, **extra)


@bp.app_template_filter("kwh")
def _kwh(value: Any) -> str:
    return calc.format_kwh(value)


@bp.app_template_filter("period_title")
def _period_title(value: dt.date) -> str:
    return calc.period_title(value)


@bp.app_template_filter("period_key")
def _period_key(value: dt.date) -> str:
    return calc.period_key(value)


@bp.app_template_global("render_consumption_chart")
def _render_consumption_chart(
    chart: svc.ConsumptionChart, element_id: str = "chart"
) -> Any:
    return render_svg(chart, element_id=element_id)


@bp.get("/")
@login_required
def index() -> Any:
    s = db_session()
    actor = current_actor()
    wanted = request.args.get("contract")
    if wanted:
        try:
            contract_id = uuid.UUID(wanted)
        except ValueError:
            raise NotFoundError(svc.CONTRACT_NOT_FOUND) from None
        return redirect(_sheet_url(contract_id, _period_arg()))
    contracts = svc.contracts_for_readings(s, actor=actor)
    if not contracts and not acts_for_supplier(actor):
        raise PermissionDeniedError(
            "Нет договоров, по которым вам разрешена передача показаний. Привяжите договор "
            "или попросите его администратора дать право «передача показаний»."
        )
    if len(contracts) == 1 and not acts_for_supplier(actor):
        return redirect(_sheet_url(contracts[0].id))
    window, overview = svc.readings_overview(
        s, actor=actor, now=_now(), window_days=_days()
    )
    return render_template(
        "readings/index.html",
        contracts=contracts,
        window=window,
        overview={o.contract.id: o for o in overview},
    )


def _contracts_menu() -> list[Any]:
    return svc.contracts_for_readings(db_session(), actor=current_actor())


@bp.get("/<uuid:contract_id>")
@login_required
def sheet(contract_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    sheet = svc.list_meters(
        s,
        actor=actor,
        contract_id=contract_id,
        period=_period_arg(),
        now=_now(),
        window_days=_days(),
    )
    return _render_sheet(sheet)


def _render_sheet(
    sheet: svc.Sheet,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    s = db_session()
    actor = current_actor()
    acts = [
        (a, d)
        for a, d in svc.acts_of_contract(s, actor=actor, contract_id=sheet.contract.id)
        if a.period == sheet.period
    ]

    uploads = svc.list_uploads(s, actor=actor, contract_id=sheet.contract.id, limit=10)
    return render_template(
        "readings/sheet.html",
        sheet=sheet,
        contracts=_contracts_menu(),
        show_calc=request.args.get("calc") == "1" or request.form.get("calc") == "1",
        show_start=request.args.get("start") == "1" or request.form.get("start") == "1",
        errors=errors or {},
        typed=typed or {},
        form=CsrfForm(),
        upload_form=FormUploadForm(),
        uploads=uploads,
        upload_result=_upload_result(uploads),
        acts=acts,
        doc_status=status_label,
        chart=svc.consumption_by_month(s, contract_ids=[sheet.contract.id], now=_now()),
        render_chart=render_svg,
    ), status


def _upload_result(uploads: list[Any]) -> Any:
    """The upload named by ``?upload=`` (just made: the page shows its result)."""
    wanted = request.args.get("upload", "")
    return next((u for u in uploads if str(u.id) == wanted), None)


@bp.post("/<uuid:contract_id>")
@login_required
def save_all(contract_id: uuid.UUID) -> Any:
    """Without JavaScript the page posts every value at once (and «Передать
    показания в расчёт» posts them too, then sends)."""
    _check_csrf()
    s = db_session()
    actor = current_actor()
    period = _required_period(request.form)
    rows: list[svc.ReadingRow] = []
    typed: dict[str, str] = {}
    for key, value in request.form.items():
        prefix, _, raw_id = key.partition("-")
        if prefix not in ("v", "s") or not raw_id:
            continue
        try:
            meter_id = uuid.UUID(raw_id)
        except ValueError:
            continue
        typed[key] = value
        rows.append(
            svc.ReadingRow(
                value,
                meter_id=meter_id,
                kind=ReadingKind.END if prefix == "v" else ReadingKind.START,
            )
        )
    errors: dict[str, str] = {}
    sent = 0
    try:
        with transaction(s):
            result = svc.submit_readings(
                s,
                actor=actor,
                contract_id=contract_id,
                period=period,
                rows=rows,
                now=_now(),
                window_days=_days(),
            )
            for r in result.errors:
                prefix = "v" if r.row.kind == ReadingKind.END else "s"
                errors[f"{prefix}-{r.row.meter_id}"] = (
                    r.error[0].upper() + r.error[1:] + "."
                )
            notes = [r.note for r in result.results if r.note]
            saved = len(
                [
                    r
                    for r in result.results
                    if r.reading is not None and r.ok and not r.cleared
                ]
            )
            if request.form.get("action") == "send" and not errors:
                sent = svc.send_readings(
                    s,
                    actor=actor,
                    contract_id=contract_id,
                    period=period,
                    now=_now(),
                    window_days=_days(),
                )
    except ValidationError as exc:
        if exc.code not in ("nothing_to_send", "window_closed"):
            raise
        flash(exc.message, "error")
        return redirect(_sheet_url(contract_id, period))
    for note in notes:
        flash(note, "warning")
    if errors:
        flash("Не все показания сохранены: исправьте отмеченные значения.", "error")
        sheet = svc.list_meters(
            s,
            actor=actor,
            contract_id=contract_id,
            period=period,
            now=_now(),
            window_days=_days(),
        )
        return _render_sheet(sheet, errors=errors, typed=typed, status=422)
    if sent:
        flash(f"Показания переданы в расчёт: {sent}. Статус — «Передано».", "success")
    elif saved:
        flash(
            f"Показания сохранены: {saved}. Статус — «Готово к передаче»; не забудьте "
            "нажать «Передать показания в расчёт».",
            "info",
        )
    return redirect(_sheet_url(contract_id, period))


@bp.post("/<uuid:contract_id>/value")
@login_required
@json_route
def save_value(contract_id: uuid.UUID) -> Any:
    """One value, saved when its field loses focus (readings.js; JSON, with the
    CSRF token in ``X-CSRFToken``)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError("Ожидается JSON.")
    try:
        meter_id = uuid.UUID(str(payload.get("meter_id", "")))
        kind = ReadingKind(str(payload.get("kind", "end")))
    except ValueError:
        raise ValidationError("Счётчик не указан.") from None
    period = calc.parse_period(str(payload.get("period", "")))
    if period is None:
        raise ValidationError("Период указан неверно.", details={"field": "period"})
    s = db_session()
    actor = current_actor()
    with transaction(s):
        row = svc.save_reading(
            s,
            actor=actor,
            contract_id=contract_id,
            meter_id=meter_id,
            period=period,
            value=payload.get("value"),
            kind=kind,
            now=_now(),
            window_days=_days(),
        )
        reading = row.reading
        body = {
            "ok": True,
            "meter_id": str(meter_id),
            "kind": kind.value,
            "status": reading.status.value
            if reading is not None and not row.cleared
            else "",
            "status_title": (
                reading.status_title if reading is not None and not row.cleared else ""
            ),
            "padded": (
                calc.pad(reading.value, reading.meter.digits)
                if reading is not None and not row.cleared
                else ""
            ),
            "note": row.note,
        }
    sheet = svc.list_meters(
        s,
        actor=actor,
        contract_id=contract_id,
        period=period,
        now=_now(),
        window_days=_days(),
    )
    body["unsent"] = sheet.unsent
    return jsonify(body)


@bp.post("/<uuid:contract_id>/send")
@login_required
def send(contract_id: uuid.UUID) -> Any:
    _check_csrf()
    period = _required_period(request.form)
    s = db_session()
    try:
        with transaction(s):
            sent = svc.send_readings(
                s,
                actor=current_actor(),
                contract_id=contract_id,
                period=period,
                now=_now(),
                window_days=_days(),
            )
    except ValidationError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Показания переданы в расчёт: {sent}. Статус — «Передано».", "success")
    return redirect(_sheet_url(contract_id, period))


@bp.get("/<uuid:contract_id>/history")
@login_required
def history(contract_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    contract = svc.get_contract(s, actor=actor, contract_id=contract_id)
    periods = svc.reading_history(
        s, actor=actor, contract_id=contract.id, period=_period_arg()
    )
    return render_template(
        "readings/history.html",
        contract=contract,
        periods=periods,
        contracts=_contracts_menu(),
        selected=_period_arg(),
    )


@bp.get("/<uuid:contract_id>/analysis")
@login_required
def analysis(contract_id: uuid.UUID) -> Any:
    s = db_session()
    actor = current_actor()
    contract = svc.get_contract(s, actor=actor, contract_id=contract_id)
    chart = svc.consumption_by_month(s, contract_ids=[contract.id], now=_now())
    return render_template(
        "readings/analysis.html",
        contract=contract,
        chart=chart,
        svg=render_svg(chart),
        contracts=_contracts_menu(),
    )


@bp.get("/<uuid:contract_id>/form.xlsx")
@login_required
def form_template(contract_id: uuid.UUID) -> Any:
    rendered = svc.form_template(
        db_session(),
        actor=current_actor(),
        contract_id=contract_id,
        period=_period_arg(),
        now=_now(),
        window_days=_days(),
    )
    return _download(rendered)


def _download(rendered: svc.RenderedAct, inline: bool = False) -> Any:
    return send_file(
        io.BytesIO(rendered.data),
        mimetype=rendered.content_type,
        as_attachment=not inline,
        download_name=rendered.filename,
        max_age=0,
    )


@bp.post("/<uuid:contract_id>/form")
@login_required
def upload_form(contract_id: uuid.UUID) -> Any:
    svc.get_contract(db_session(), actor=current_actor(), contract_id=contract_id)
    form = FormUploadForm()
    period = _required_period(request.form)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(_sheet_url(contract_id, period) + "#excel")
    file = form.file.data
    s = db_session()
    try:
        with transaction(s):
            upload = svc.upload_form(
                s,
                actor=current_actor(),
                storage=current_runtime().storage,
                contract_id=contract_id,
                period=period,
                filename=file.filename or "",
                data=file.read(),
                now=_now(),
                window_days=_days(),
            )
    except ValidationError as exc:
        # Nothing kept: the message is shown at the top of the page, where it opens.
        flash(exc.message, "error")
        return redirect(_sheet_url(contract_id, period))
    # The result (and every bad row) is shown in the Excel card, and the page
    # opens scrolled to the card (its top, under the sticky header, is its
    # title; the result follows): the user sees it where the file was chosen.
    return redirect(_sheet_url(contract_id, period, upload=str(upload.id)) + "#excel")


@bp.get("/<uuid:contract_id>/form/<uuid:upload_id>")
@login_required
def download_upload(contract_id: uuid.UUID, upload_id: uuid.UUID) -> Any:
    upload = svc.get_upload(
        db_session(),
        actor=current_actor(),
        contract_id=contract_id,
        upload_id=upload_id,
    )
    reader = current_runtime().storage.open(upload.blob_key)
    return send_file(
        reader,
        mimetype=reader.info.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=upload.filename,
        max_age=0,
    )


@bp.get("/<uuid:contract_id>/act")
@login_required
def act(contract_id: uuid.UUID) -> Any:
    """«Печатать ведомость»: ``format`` pdf | docx | xlsx, ``filled`` 0 | 1."""
    period = _required_period()
    rendered = svc.render_act(
        db_session(),
        actor=current_actor(),
        contract_id=contract_id,
        period=period,
        fmt=request.args.get("format", "pdf"),
        filled=request.args.get("filled", "1") != "0",
        now=_now(),
        supplier_name=settings().supplier.name,
    )
    return _download(rendered)


@bp.post("/<uuid:contract_id>/act/send")
@login_required
def send_act(contract_id: uuid.UUID) -> Any:
    _check_csrf()
    period = _required_period(request.form)
    s = db_session()
    try:
        with transaction(s):
            doc = svc.send_act_to_docflow(
                s,
                actor=current_actor(),
                runtime=current_runtime(),
                contract_id=contract_id,
                period=period,
                now=_now(),
                supplier_name=settings().supplier.name,
            )
            doc_id, number, replaced = doc.id, doc.number, doc.supersedes_id
    except DocflowError as exc:
        if exc.status not in (409, 422):
            raise
        flash(exc.message, "error")
        return redirect(_sheet_url(contract_id, period))
    flash(
        f"Акт ПРОМ10 за {calc.period_title(period)} передан в ЮЗДО: документ № {number} "
        "ожидает подписи клиента."
        + (" Предыдущая неподписанная версия заменена." if replaced else ""),
        "success",
    )
    return redirect(url_for("documents.card", document_id=doc_id))


# -- the supplier's pages ------------------------------------------------------------


@bp.get("/admin")
@staff_required
def admin() -> Any:
    s = db_session()
    return render_template(
        "readings/admin.html",
        import_form=ImportForm(),
        decide_form=DecideForm(),
        groups=svc.pending_decisions(s, actor=current_actor()),
        meter_columns=_columns("meters"),
        transit_columns=_columns("transit"),
    )


def _columns(kind: str) -> list[Any]:
    return list(excel.METER_COLUMNS if kind == "meters" else excel.TRANSIT_COLUMNS)


@bp.post("/admin/import")
@staff_required
def admin_import() -> Any:
    form = ImportForm()
    s = db_session()
    if form.validate_on_submit():
        file = form.file.data
        run = (
            excel.import_meters if form.kind.data == "meters" else excel.import_transit
        )
        try:
            with transaction(s):
                summary = run(
                    s,
                    filename=file.filename or "",
                    data=file.read(),
                    user=current_user._get_current_object(),
                    request_info=current_actor().request_info,
                )
        except ImportFailed as exc:
            flash(exc.message, "error")
            return render_template(
                "readings/admin.html",
                import_form=form,
                decide_form=DecideForm(),
                problems=exc.problems,
                groups=svc.pending_decisions(s, actor=current_actor()),
                meter_columns=_columns("meters"),
                transit_columns=_columns("transit"),
            ), 422
        flash(f"Файл загружен: {summary}.", "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("readings.admin"))


@bp.get("/admin/template/<any(meters, transit):kind>.xlsx")
@staff_required
def admin_template(kind: str) -> Any:
    data = excel.meters_template() if kind == "meters" else excel.transit_template()
    name = "Приборы-учёта.xlsx" if kind == "meters" else "Транзит.xlsx"
    return _download(svc.RenderedAct(name, excel.XLSX_TYPE, data))


@bp.post("/admin/decide")
@staff_required
def admin_decide() -> Any:
    form = DecideForm()
    if not form.validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")
    ids = []
    for raw in request.form.getlist("reading_id"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    if not ids:
        flash("Отметьте показания.", "error")
        return redirect(url_for("readings.admin"))
    accept = request.form.get("decision") == "accept"
    s = db_session()
    try:
        with transaction(s):
            count = svc.decide_readings(
                s,
                actor=current_actor(),
                reading_ids=ids,
                accept=accept,
                reason=form.reason.data or "",
            )
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("readings.admin"))
    flash(f"{'Приняты в расчёт' if accept else 'Не приняты'}: {count}.", "success")
    return redirect(url_for("readings.admin"))


# -- the main page's widgets -----------------------------------------------------------


def register_widgets() -> None:
    def readings_data(s: Any, user: Any) -> dict[str, Any]:
        window, overview = svc.readings_overview(
            s, actor=Actor.for_user(user), now=_now(), window_days=_days()
        )
        return {"window": window, "overview": overview}

    def consumption_data(s: Any, user: Any) -> dict[str, Any]:

        actor = Actor.for_user(user)
        contracts = list(
            s.scalars(
                select(Contract)
                .where(
                    Contract.id.in_(visible_contract_ids(actor, Right.SUBMIT_READINGS)),
                    Contract.id.in_(select(Meter.contract_id)),
                )
                .order_by(Contract.number)
                .limit(20)
            )
        )
        if not contracts:
            return {"contract": None, "contracts": []}
        # Half a year: readable in a narrow widget; the page shows twelve months.
        chart = svc.consumption_by_month(
            s, contract_ids=[contracts[0].id], now=_now(), months=6
        )
        return {
            "contract": contracts[0],
            "contracts": contracts,
            "chart": chart,
            "svg": render_svg(
                chart,
                width=400,
                height=250,
                font_size=13,
                element_id="widget-consumption",
            ),
        }

    register_widget(
        "readings",
        N_("Показания"),
        "readings/_widget.html",
        readings_data,
        order=20,
        visible_for=lambda user: not is_staff(user),
    )
    register_widget(
        "consumption",
        N_("Анализ расходов"),
        "readings/_consumption_widget.html",
        consumption_data,
        order=30,
        visible_for=lambda user: not is_staff(user),
    )


@bp.record_once
def _on_register(_state: object) -> None:
    register_widgets()
    register_section(
        ContractSection(
            key="objects",
            title=N_("Объекты и приборы учёта"),
            template="readings/_contract_objects.html",
            rows=svc.list_objects_for_contract,
            order=30,
        )
    )
