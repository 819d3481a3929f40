"""«Заявка на плановое почасовое потребление» (ППП): choose a contract and a
day, fill the 24 hours on the page or from the Excel template, save a draft or
submit before the deadline; the history of the contract's requests; the
supplier's list of all requests with an Excel export and «Принять».

The clock is the app's ``PLANNED_NOW`` config value (an aware datetime or a
callable returning one) if set — tests and demonstrations fix it — else now.
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
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select, true
from sqlalchemy.orm import selectinload

from docflow.access import (
    accepts_planned,
    may_file_planned,
    planned_contract_ids,
    planned_rights,
    require_planned_filing,
)
from docflow.context import current_actor, db_session, settings
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from docflow.readings import planned_excel as px
from docflow.readings import planned_services as ps
from docflow.readings.planned_models import PlannedRequest

bp = Blueprint(
    "planned", __name__, url_prefix="/readings/planned", template_folder="templates"
)


class CsrfForm(FlaskForm):
    pass


def now() -> dt.datetime:
    fixed = current_app.config.get("PLANNED_NOW")
    value = fixed() if callable(fixed) else fixed
    return value or ps.utcnow()


def deadline() -> ps.Deadline:
    st = settings()
    return ps.Deadline(st.readings.ppp_deadline_hour, st.readings.ppp_days_ahead)


def _uuid(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw[:40])
    except ValueError:
        raise NotFoundError("Не найдено.") from None


def _date(raw: str | None, field: str = "day") -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise ValidationError(
            "Дата указана неверно: выберите её в календаре.", details={"field": field}
        ) from None


def _contract(contract_id: uuid.UUID | None) -> Contract | None:
    if contract_id is None:
        return None
    s = db_session()
    planned_rights(s, current_actor(), contract_id)
    contract = s.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("Договор не найден.")
    return contract


def _check_csrf() -> None:
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")


def _page(
    contract_id: uuid.UUID | None,
    day: dt.date | None,
    *,
    values: list[Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    s = db_session()
    actor = current_actor()
    clock, dl = now(), deadline()
    contracts = list(
        s.scalars(
            select(Contract)
            .where(Contract.id.in_(planned_contract_ids(actor)))
            .order_by(Contract.number)
            .limit(500)
        )
    )
    contract = _contract(contract_id)
    if contract is None and len(contracts) == 1:
        contract = contracts[0]
    day = day or dl.first_open_day(clock)
    ctx: dict[str, Any] = {
        "contracts": contracts,
        "contract": contract,
        "day": day,
        "staff": accepts_planned(actor),
        "hour_titles": [ps.hour_title(h) for h in range(24)],
        "status_titles": ps.STATUS_TITLES,
        "errors": errors or {},
        "deadline_at": ps.deadline_text(dl, day),
        "is_open": dl.is_open(day, clock),
        "first_open": dl.first_open_day(clock),
        "dl": dl,
        "form": CsrfForm(),
    }
    if contract is not None:
        req = ps.find(s, contract.id, day)
        key = ps.status_key(req, day, dl, clock)
        shown = (
            values
            if values is not None
            else [
                ps.format_kwh(v) if v else ""
                for v in (req.hours if req else [None] * 24)
            ]
        )
        filters = _filters(contract_number="")
        history = ps.list_requests(
            s,
            PlannedRequest.contract_id == contract.id,
            filters,
            deadline=dl,
            now=clock,
            limit=200,
        )
        ctx.update(
            request_=req,
            status_key=key if req or key == "overdue" else "",
            values=shown,
            total=ps.format_kwh(ps.total(req.hours if req else [])),
            may_file=may_file_planned(s, actor, contract.id)
            and dl.is_open(day, clock)
            and not (req and req.status == "accepted"),
            may_file_at_all=may_file_planned(s, actor, contract.id),
            versions=list(req.versions) if req else [],
            history=history,
            filters=filters,
        )
    return render_template("readings/planned.html", **ctx), status


def _filters(**override: Any) -> ps.Filters:
    status = request.args.get("status", "")[:20]
    values = {
        "day_from": _date(request.args.get("from"), "from"),
        "day_to": _date(request.args.get("to"), "to"),
        "status": status if status in ps.STATUS_TITLES else "",
        "contract_number": request.args.get("number", "")[:50].strip(),
    }
    values.update(override)
    return ps.Filters(**values)


@bp.get("/")
@login_required
def index() -> Any:
    return _page(_uuid(request.args.get("contract")), _date(request.args.get("day")))


@bp.post("/")
@login_required
def save() -> Any:
    _check_csrf()
    s = db_session()
    actor = current_actor()
    contract_id = _uuid(request.form.get("contract"))
    day = _date(request.form.get("day"))
    if contract_id is None or day is None:
        raise ValidationError("Выберите договор и дату.")
    require_planned_filing(s, actor, contract_id)
    contract = s.get(Contract, contract_id)
    assert contract is not None
    values = [request.form.get(f"h{h}", "") for h in range(1, 25)]
    action = request.form.get("action", "")
    try:
        with transaction(s):
            if action == "submit":
                req, made = ps.submit(
                    s,
                    contract,
                    day,
                    values,
                    user=actor.user,
                    deadline=deadline(),
                    now=now(),
                )
            else:
                req = ps.save_draft(
                    s,
                    contract,
                    day,
                    values,
                    user=actor.user,
                    deadline=deadline(),
                    now=now(),
                )
                made = False
    except (ValidationError, ConflictError) as exc:
        flash(exc.message, "error")
        errors = (
            (exc.details or {}).get("hours", {})
            if isinstance(exc, ValidationError)
            else {}
        )
        return _page(
            contract_id,
            day,
            values=[v[: ps.MAX_TEXT] for v in values],
            errors=errors,
            status=422,
        )
    if action == "submit":
        flash(
            f"Заявка на {day:%d.%m.%Y} передана (версия {req.version})."
            if made
            else "Заявка уже подана с этими значениями: ничего не изменилось.",
            "success",
        )
    else:
        flash(
            "Черновик сохранён. Не забудьте нажать «Передать данные» до "
            f"{ps.deadline_text(deadline(), day)} МСК.",
            "success",
        )
    return redirect(url_for("planned.index", contract=contract_id, day=day.isoformat()))


@bp.get("/template")
@login_required
def template() -> Any:
    """«Выгрузить шаблон» / «Выгрузить заявку на ППП»: the template with the
    request's current values, if any."""
    contract = _contract(_uuid(request.args.get("contract")))
    day = _date(request.args.get("day"))
    if contract is None or day is None:
        return redirect(url_for("planned.index"))
    req = ps.find(db_session(), contract.id, day)
    data = px.build_template(
        contract_number=contract.number, day=day, hours=list(req.hours) if req else []
    )
    return send_file(
        io.BytesIO(data),
        mimetype=px.XLSX_TYPE,
        as_attachment=True,
        download_name=f"ППП_{contract.number}_{day:%Y-%m-%d}.xlsx",
    )


@bp.post("/upload")
@login_required
def upload() -> Any:
    """«Загрузить ППП из файла»: fill the page from the file; nothing is saved
    until «Сохранить черновик» or «Передать данные»."""
    _check_csrf()
    s = db_session()
    contract_id = _uuid(request.form.get("contract"))
    day = _date(request.form.get("day"))
    if contract_id is None or day is None:
        raise ValidationError("Выберите договор и дату.")
    require_planned_filing(s, current_actor(), contract_id)
    contract = s.get(Contract, contract_id)
    assert contract is not None
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Выберите заполненный файл шаблона ППП.", "error")
        return _page(contract_id, day, status=422)
    data = file.stream.read(px.MAX_FILE_BYTES + 1)
    try:
        raw = px.parse_template(
            file.filename, data, contract_number=contract.number, day=day
        )
        ps.parse_hours(raw, complete=False)
    except px.PlannedFileError as exc:
        flash(f"Файл не загружен: {exc.message}", "error")
        return _page(contract_id, day, status=422)
    except ValidationError as exc:
        flash(f"Файл не загружен: {exc.message}", "error")
        return _page(
            contract_id,
            day,
            values=[_cell(v) for v in raw],
            errors=(exc.details or {}).get("hours", {}),
            status=422,
        )
    flash(
        "Значения из файла подставлены в заявку: проверьте их и нажмите «Передать данные».",
        "success",
    )
    return _page(
        contract_id,
        day,
        values=[ps.format_kwh(_cell(v)) if _cell(v) else "" for v in raw],
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)[: ps.MAX_TEXT]


# -- the supplier ------------------------------------------------------------------


def _require_staff() -> None:
    if not accepts_planned(current_actor()):
        raise NotFoundError("Страница не найдена.")  # as the other staff pages


@bp.get("/all")
@login_required
def all_requests() -> Any:
    _require_staff()
    s = db_session()
    filters = _filters()
    rows = ps.list_requests(
        s, true(), filters, deadline=deadline(), now=now(), limit=1000
    )
    if request.args.get("format") == "xlsx":
        for req, _key in rows:
            _ = req.contract.organisation
        data = px.export_requests(rows)
        return send_file(
            io.BytesIO(data),
            mimetype=px.XLSX_TYPE,
            as_attachment=True,
            download_name="Заявки_ППП.xlsx",
        )
    s.execute(
        select(Contract)
        .options(selectinload(Contract.organisation))
        .where(Contract.id.in_({r.contract_id for r, _ in rows}))
    ).all()
    return render_template(
        "readings/planned_all.html",
        rows=rows,
        filters=filters,
        status_titles=ps.STATUS_TITLES,
        form=CsrfForm(),
        args={k: v for k, v in request.args.items() if k != "format"},
    )


@bp.post("/<uuid:request_id>/accept")
@login_required
def accept(request_id: uuid.UUID) -> Any:
    _require_staff()
    _check_csrf()
    s = db_session()
    with transaction(s):
        req = ps.accept(s, request_id, user=current_actor().user, now=now())
        day = req.day
    flash(f"Заявка на {day:%d.%m.%Y} принята.", "success")
    return redirect(
        request.form.get("next")
        if (request.form.get("next") or "").startswith("/readings/planned")
        else url_for("planned.all_requests")
    )


@bp.app_template_filter("planned_total")
def _planned_total(hours: Any) -> str:
    return ps.format_kwh(ps.total(hours or []))
