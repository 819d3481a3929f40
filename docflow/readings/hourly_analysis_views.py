"""«Почасовой анализ»: a contract's month as a daily profile, a heat map of
hours, planned (ППП) against actual and the consumption in the plan peak
hours, with an Excel export; the control measurement of June and December
(the form, the upload — its file kept and offered for download —,
«Заполнить из почасовых данных»); the supplier's
pages: the month's plan peak hours and the control days (customers read
them), and every contract's control measurement with an Excel export.

The date «today» (control measurements are submitted after their day) is
the app's ``ANALYSIS_TODAY`` config value if set — tests fix it — else the
Moscow date.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal
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
from flask_babel import gettext
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from docflow.access import hourly_contract_ids, require_hourly_upload
from docflow.context import current_actor, current_runtime, db_session
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.readings import hourly_analysis as ha
from docflow.readings import hourly_analysis_excel as hx
from docflow.readings import hourly_charts as charts
from docflow.readings.hourly_models import CHANNEL_TITLES, CHANNEL_UNITS, Channel
from docflow.readings.models import VOLTAGE_TITLES, VoltageLevel
from docflow.spreadsheets import ImportFailed
from storage import BlobNotFoundError

bp = Blueprint(
    "hourly_analysis",
    __name__,
    url_prefix="/readings/hourly-analysis",
    template_folder="templates",
)

CHANNELS = {"A+": Channel.AP, "A-": Channel.AM, "R+": Channel.RP, "R-": Channel.RM}


class CsrfForm(FlaskForm):
    pass


def _check_csrf() -> None:
    if not CsrfForm().validate_on_submit():
        raise ValidationError("Страница устарела: обновите её и повторите.")


def _today() -> dt.date:
    fixed = current_app.config.get("ANALYSIS_TODAY")
    value = fixed() if callable(fixed) else fixed
    return value or ha.today_msk()


def _uuid(raw: str | None, what: str = "Не найдено.") -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw[:40])
    except ValueError:
        raise NotFoundError(what) from None


def _month(raw: str | None, default: dt.date) -> dt.date:
    if not raw:
        return default
    try:
        month = dt.datetime.strptime(raw[:7], "%Y-%m").date()
    except ValueError:
        raise ValidationError(
            "Месяц указан неверно: ожидается ГГГГ-ММ.", details={"field": "month"}
        ) from None
    if not 2000 <= month.year <= 2100:
        raise ValidationError(
            "Месяц вне допустимого диапазона.", details={"field": "month"}
        )
    return month


def _date(raw: str | None, field: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise ValidationError(
            "Дата указана неверно: выберите её в календаре.", details={"field": field}
        ) from None


def _last_month() -> dt.date:
    return (_today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _filters(source: Any) -> ha.Filters:
    raw_channel = (source.get("channel") or "A+")[:3].replace("−", "-")
    channel = CHANNELS.get(raw_channel)
    if channel is None:
        raise ValidationError("Канал указан неверно.", details={"field": "channel"})
    raw_voltage = source.get("voltage") or ""
    try:
        voltage = VoltageLevel(raw_voltage[:10]) if raw_voltage else None
    except ValueError:
        raise ValidationError(
            "Уровень напряжения указан неверно.", details={"field": "voltage"}
        ) from None
    return ha.Filters(
        month=_month(source.get("month"), _last_month()),
        channel=channel.value,
        object_id=_uuid(source.get("object"), "Объект не найден."),
        point_id=_uuid(source.get("point"), "Точка измерений не найдена."),
        voltage=voltage,
    )


def _threshold(raw: str | None) -> Decimal:
    if not raw:
        return ha.DEFAULT_THRESHOLD
    for value in ha.THRESHOLDS:
        if raw.strip() == str(value):
            return value
    raise ValidationError(
        "Порог отклонения выберите из списка.", details={"field": "threshold"}
    )


def _contracts() -> list[Contract]:
    return list(
        db_session().scalars(
            select(Contract)
            .where(Contract.id.in_(hourly_contract_ids(current_actor())))
            .order_by(Contract.number)
            .limit(500)
        )
    )


def _scope_text(a: ha.Analysis) -> str:
    """What the figures are about, in words: «весь договор (12 точек)», …"""
    f = a.scope.filters
    by_id = {o.id: o for o in a.scope.objects}
    parts = []
    if f.point_id:
        point = next(p for p in a.scope.points if p.id == f.point_id)
        parts.append(f"точка {point.code}" + (f" — {point.name}" if point.name else ""))
    if f.object_id:
        parts.append(f"объект «{by_id[f.object_id].name}»")
    if f.voltage:
        parts.append(f"уровень напряжения {VOLTAGE_TITLES[f.voltage]}")
    chosen = len(a.scope.chosen)
    if not parts:
        return f"весь договор (точек измерений: {chosen})"
    return ", ".join(parts) + f" (точек измерений: {chosen})"


def _args(f: ha.Filters, **extra: Any) -> dict[str, Any]:
    """The query of the page for ``f`` (links keep the choice)."""
    args: dict[str, Any] = {"month": f"{f.month:%Y-%m}", "channel": f.channel}
    if f.object_id:
        args["object"] = str(f.object_id)
    if f.point_id:
        args["point"] = str(f.point_id)
    if f.voltage:
        args["voltage"] = f.voltage.value
    args.update({k: v for k, v in extra.items() if v is not None})
    return args


@bp.get("/")
@login_required
def index() -> Any:
    """The contract choice; one contract opens at once."""
    wanted = _uuid(request.args.get("contract"), "Договор не найден.")
    contracts = _contracts()
    if wanted is None and len(contracts) == 1:
        wanted = contracts[0].id
    if wanted is not None:
        return redirect(url_for("hourly_analysis.page", contract_id=wanted))
    return render_template("readings/hourly_analysis_index.html", contracts=contracts)


def _analysis(contract_id: uuid.UUID) -> tuple[ha.Analysis, Decimal]:
    threshold = _threshold(request.args.get("threshold"))
    analysis = ha.analyse(
        db_session(),
        actor=current_actor(),
        contract_id=contract_id,
        filters=_filters(request.args),
        day=_date(request.args.get("day"), "day"),
        plan_day=_date(request.args.get("plan_day"), "plan_day"),
        threshold=threshold,
        today=_today(),
    )
    return analysis, threshold


@bp.get("/<uuid:contract_id>")
@login_required
def page(contract_id: uuid.UUID) -> Any:
    a, threshold = _analysis(contract_id)
    f = a.scope.filters
    units = CHANNEL_UNITS[Channel(f.channel)]
    power = units.replace("·ч", "")
    profile = a.profile
    peak_marks = (
        frozenset(a.peaks.hours.get(profile.day, [])) if profile.day else frozenset()
    )
    day_text = f"{profile.day:%d.%m.%Y}" if profile.day else ""
    profile_svg = charts.hours_chart(
        element_id="profile-chart",
        title=gettext("Суточный профиль %(day)s, %(units)s", day=day_text, units=units),
        desc=gettext(
            "Столбцы — потребление по часам выбранного дня; линии — средний рабочий "
            "день и средний выходной месяца."
        ),
        units=units,
        bars=charts.Bars(day_text or gettext("День"), profile.values),
        lines=[
            charts.Line(gettext("Средний рабочий день"), profile.workdays, "#1e7d4f"),
            charts.Line(
                gettext("Средний выходной"), profile.weekends, "#d97706", "6 4"
            ),
        ],
        marks=peak_marks,
        mark_label=gettext("Плановый час пиковой нагрузки"),
    )
    plan_day = a.plan.day(a.plan_day) if a.plan_day else None
    plan_svg = None
    if plan_day is not None and plan_day.has_plan:
        plan_svg = charts.hours_chart(
            element_id="plan-chart",
            title=gettext("План и факт %(day)s, кВт·ч", day=f"{plan_day.day:%d.%m.%Y}"),
            desc=gettext(
                "Столбцы — фактическое потребление по договору, линия — заявка ППП; "
                "красным — часы с отклонением больше порога."
            ),
            units="кВт·ч",
            bars=charts.Bars(
                gettext("Факт"),
                [h.fact for h in plan_day.hours],
                highlighted=frozenset(h.hour for h in plan_day.hours if h.is_over),
                highlight_label=gettext("Отклонение больше ±%(t)s %%", t=threshold),
            ),
            lines=[
                charts.Line(
                    gettext("План (ППП)"), [h.plan for h in plan_day.hours], "#1c2430"
                )
            ],
        )
    heat_svg = charts.heat_map(a.grid, a.scale, units=units, peaks=a.peaks)
    first = f.month
    return render_template(
        "readings/hourly_analysis.html",
        a=a,
        f=f,
        contracts=_contracts(),
        units=units,
        power=power,
        threshold=threshold,
        thresholds=ha.THRESHOLDS,
        channels=list(Channel),
        channel_titles=CHANNEL_TITLES,
        voltages=list(VoltageLevel),
        voltage_titles=VOLTAGE_TITLES,
        scope_text=_scope_text(a),
        profile_svg=profile_svg,
        plan_svg=plan_svg,
        plan_day=plan_day,
        heat_svg=heat_svg,
        args=_args(f, threshold=str(threshold)),
        args_of=_args,
        prev_month=(first - dt.timedelta(days=1)).replace(day=1),
        next_month=(first + dt.timedelta(days=32)).replace(day=1),
        weekdays=ha.WEEKDAYS,
        fmt=ha.format_value,
        signed=ha.format_signed,
        hour_title=ha.hour_title,
        month_title=ha.month_title,
        may_set_schedule=ha.may_set_schedule(current_actor()),
    )


@bp.get("/<uuid:contract_id>/export.xlsx")
@login_required
def export(contract_id: uuid.UUID) -> Any:
    a, _threshold_value = _analysis(contract_id)
    data = hx.export_analysis(a, scope_text=_scope_text(a))
    return send_file(
        io.BytesIO(data),
        mimetype=hx.XLSX_TYPE,
        as_attachment=True,
        download_name=(
            f"Почасовой анализ {a.scope.contract.number} {a.month:%Y-%m}.xlsx"
        ),
        max_age=0,
    )


# -- control measurements ----------------------------------------------------------


def _control_day(raw: str | None) -> dt.date:
    chosen = _date(raw, "day")
    return chosen or ha.latest_control_date(db_session(), _today()).day


def _control_page(
    contract_id: uuid.UUID,
    day: dt.date,
    *,
    problems: list[Any] | None = None,
    status: int = 200,
) -> Any:
    s = db_session()
    actor = current_actor()
    sheet = ha.control_sheet(s, actor=actor, contract_id=contract_id, day=day)
    today = _today()
    return render_template(
        "readings/hourly_analysis_control.html",
        sheet=sheet,
        contracts=_contracts(),
        dates=ha.recent_control_dates(s, today),
        is_open=day < today,
        may_submit=sheet.rights.submit_readings,
        problems=problems or [],
        fmt=ha.format_value,
        hour_title=ha.hour_title,
        form=CsrfForm(),
        sources={
            "excel": gettext("из файла Excel"),
            "hourly": gettext("из почасовых данных"),
            "demo": gettext("демонстрационные данные"),
        },
    ), status


@bp.get("/<uuid:contract_id>/control")
@login_required
def control(contract_id: uuid.UUID) -> Any:
    return _control_page(contract_id, _control_day(request.args.get("day")))


@bp.get("/<uuid:contract_id>/control/form.xlsx")
@login_required
def control_form(contract_id: uuid.UUID) -> Any:
    day = _control_day(request.args.get("day"))
    sheet = ha.control_sheet(
        db_session(), actor=current_actor(), contract_id=contract_id, day=day
    )
    return send_file(
        io.BytesIO(hx.build_control_form(sheet)),
        mimetype=hx.XLSX_TYPE,
        as_attachment=True,
        download_name=f"Контрольный замер {sheet.contract.number} {day:%Y-%m-%d}.xlsx",
        max_age=0,
    )


@bp.get("/<uuid:contract_id>/control/file")
@login_required
def control_file(contract_id: uuid.UUID) -> Any:
    """«Скачать загруженный файл»: the form the measurement was uploaded in,
    for whoever sees the contract's control data (another organisation: 404)."""
    day = _control_day(request.args.get("day"))
    measurement = ha.control_file(
        db_session(), actor=current_actor(), contract_id=contract_id, day=day
    )
    assert measurement.blob_key is not None  # control_file answered 404 otherwise
    try:
        reader = current_runtime().storage.open(measurement.blob_key)
    except BlobNotFoundError:
        raise NotFoundError(
            "Файл контрольного замера не найден в хранилище: обратитесь к поставщику."
        ) from None
    return send_file(
        reader,
        mimetype=reader.info.content_type or hx.XLSX_TYPE,
        as_attachment=True,
        download_name=measurement.filename or f"Контрольный замер {day:%Y-%m-%d}.xlsx",
        max_age=0,
    )


def _posted_control_day() -> dt.date:
    day = _date(request.form.get("day"), "day")
    if day is None:
        raise ValidationError("Не указан день контрольного замера.")
    return day


@bp.post("/<uuid:contract_id>/control/upload")
@login_required
def control_upload(contract_id: uuid.UUID) -> Any:
    _check_csrf()
    s = db_session()
    actor = current_actor()
    require_hourly_upload(s, actor, contract_id)  # 404 / 403 before the file is read
    day = _posted_control_day()
    sheet = ha.control_sheet(s, actor=actor, contract_id=contract_id, day=day)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(gettext("Выберите заполненную форму контрольного замера."), "error")
        return _control_page(contract_id, day, status=422)
    data = file.stream.read(hx.MAX_FILE_BYTES + 1)
    filename = "".join(c for c in file.filename if c.isprintable())[:255]
    try:
        values = hx.parse_control_form(
            filename,
            data,
            contract_number=sheet.contract.number,
            day=day,
            meters={r.meter.number: r.meter.id for r in sheet.rows},
        )
        with transaction(s):
            ha.submit_control(
                s,
                actor=actor,
                contract_id=contract_id,
                day=day,
                values=values,
                source="excel",
                filename=filename,
                file=data,
                storage=current_runtime().storage,
                today=_today(),
            )
    except ImportFailed as exc:
        flash(exc.message, "error")
        return _control_page(contract_id, day, problems=exc.problems, status=422)
    except ValidationError as exc:
        flash(exc.message, "error")
        return _control_page(contract_id, day, status=422)
    flash(
        gettext(
            "Контрольный замер за %(day)s передан: счётчиков — %(count)s.",
            day=f"{day:%d.%m.%Y}",
            count=len(values),
        ),
        "success",
    )
    return redirect(
        url_for("hourly_analysis.control", contract_id=contract_id, day=day)
    )


@bp.post("/<uuid:contract_id>/control/fill")
@login_required
def control_fill(contract_id: uuid.UUID) -> Any:
    _check_csrf()
    s = db_session()
    day = _posted_control_day()
    try:
        with transaction(s):
            filled = ha.control_from_hourly(
                s,
                actor=current_actor(),
                contract_id=contract_id,
                day=day,
                today=_today(),
                storage=current_runtime().storage,
            )
            taken, skipped = filled.taken, filled.skipped
    except ValidationError as exc:
        flash(exc.message, "error")
        return _control_page(contract_id, day, status=422)
    flash(
        gettext(
            "Контрольный замер за %(day)s заполнен из почасовых данных и передан: "
            "счётчиков — %(count)s.",
            day=f"{day:%d.%m.%Y}",
            count=len(taken),
        ),
        "success",
    )
    if skipped:
        flash(
            gettext(
                "Без полных почасовых данных за день (не заполнены): %(meters)s.",
                meters=", ".join(f"№ {n}" for n in skipped[:20])
                + ("…" if len(skipped) > 20 else ""),
            ),
            "warning",
        )
    return redirect(
        url_for("hourly_analysis.control", contract_id=contract_id, day=day)
    )


# -- the supplier's pages ---------------------------------------------------------------


@bp.get("/control")
@login_required
def control_all() -> Any:
    """Every contract's control measurement of a day (the supplier's list)."""
    s = db_session()
    actor = current_actor()
    if not ha.may_set_schedule(actor):
        raise NotFoundError("Страница не найдена.")
    day = _control_day(request.args.get("day"))
    status = request.args.get("status", "")[:10]
    status = status if status in ("submitted", "missing") else ""
    number = request.args.get("number", "")[:50].strip()
    rows = ha.control_list(s, actor=actor, day=day, status=status, number=number)
    if request.args.get("format") == "xlsx":
        numbers = ha.meter_numbers(s, [r.contract.id for r in rows])
        data = hx.export_control_list(rows, day=day, numbers=numbers)
        return send_file(
            io.BytesIO(data),
            mimetype=hx.XLSX_TYPE,
            as_attachment=True,
            download_name=f"Контрольные замеры {day:%Y-%m-%d}.xlsx",
            max_age=0,
        )
    return render_template(
        "readings/hourly_analysis_control_all.html",
        rows=rows,
        day=day,
        status=status,
        number=number,
        dates=ha.recent_control_dates(s, _today()),
        fmt=ha.format_value,
        submitted=sum(1 for r in rows if r.measurement is not None),
    )


@bp.get("/schedule")
@login_required
def schedule() -> Any:
    """The month's plan peak hours and the year's control days: the supplier
    sets them, customers see them."""
    s = db_session()
    month = _month(request.args.get("month"), _today().replace(day=1))
    peaks = ha.peak_hours(s, month)
    return render_template(
        "readings/hourly_analysis_schedule.html",
        month=month,
        days=ha.month_days(month),
        peaks=peaks,
        peak_count=sum(len(h) for h in peaks.values()),
        set_by=ha.peak_set_by(s, month),
        control_dates=ha.control_dates(s, [month.year]),
        may_set=ha.may_set_schedule(current_actor()),
        days_off=ha.days_off(month, peaks),
        weekdays=ha.WEEKDAYS,
        hour_title=ha.hour_title,
        month_title=ha.month_title,
        prev_month=(month - dt.timedelta(days=1)).replace(day=1),
        next_month=(month + dt.timedelta(days=32)).replace(day=1),
        form=CsrfForm(),
    )


def _posted_month() -> dt.date:
    raw = request.form.get("month")
    if not raw:
        raise ValidationError("Не указан месяц.", details={"field": "month"})
    return _month(raw, _today())


def _hours(raw: list[str]) -> list[int]:
    try:
        return [int(h[:2]) for h in raw]
    except ValueError:
        raise ValidationError("Час указан неверно: от 0 до 23.") from None


@bp.post("/schedule/peak")
@login_required
def save_peak_hours() -> Any:
    """The days × hours grid of the month as posted (each checked cell)."""
    _check_csrf()
    s = db_session()
    month = _posted_month()
    if request.form.get("action") == "rule":
        cells = ha.rule_cells(month, _hours(request.form.getlist("hours")))
    else:
        cells = ha.parse_cells(month, request.form.getlist("cell"))
    with transaction(s):
        count = ha.set_peak_hours(s, actor=current_actor(), month=month, cells=cells)
    flash(
        gettext(
            "Плановые часы пиковой нагрузки на %(month)s сохранены: часов — %(count)s.",
            month=ha.month_title(month),
            count=count,
        ),
        "success",
    )
    return redirect(url_for("hourly_analysis.schedule", month=f"{month:%Y-%m}"))


@bp.post("/schedule/control-day")
@login_required
def save_control_day() -> Any:
    _check_csrf()
    s = db_session()
    month = _posted_month()
    day = _date(request.form.get("day"), "day")
    with transaction(s):
        chosen = ha.set_control_day(s, actor=current_actor(), month=month, day=day)
    flash(
        gettext("День контрольного замера: %(day)s.", day=f"{chosen.day:%d.%m.%Y}"),
        "success",
    )
    return redirect(url_for("hourly_analysis.schedule", month=f"{month:%Y-%m}"))
