"""The hourly analysis («Почасовой анализ», scope ``read``): a contract's month
as the page shows it — the totals, the grid of days and hours, the daily
profile beside the average working day and day off, the consumption in the
plan peak hours, and planned (ППП) against actual with the deviations beyond
the threshold. Every figure is :func:`docflow.readings.hourly_analysis.analyse`'s,
written out; nothing is computed here."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app, jsonify
from sqlalchemy import select

from docflow.access import hourly_rights
from docflow.api.base import api_actor, contract_by_number, json_answer, operation
from docflow.api.errors import read_query
from docflow.api.schemas import hourly_analysis as out
from docflow.context import db_session
from docflow.errors import NotFoundError, ValidationError
from docflow.readings import hourly_analysis as ha
from docflow.readings.hourly_models import CHANNEL_UNITS, Channel, HourlyPoint

READINGS = "Показания"
PLACES = Decimal("0.0001")  # the precision of the stored values (Numeric(16, 4))


def _today() -> dt.date:
    """The page's «today» (``ANALYSIS_TODAY`` when the tests fix it)."""
    fixed = current_app.config.get("ANALYSIS_TODAY")
    value = fixed() if callable(fixed) else fixed
    return value or ha.today_msk()


def _num(value: Decimal | None) -> str | None:
    """A decimal as a string of at most four decimals, without trailing zeros."""
    if value is None:
        return None
    shown = value.quantize(PLACES, rounding=ROUND_HALF_UP) + 0  # no «-0»
    return format(shown.normalize(), "f")


def _nums(values: list[Decimal | None] | list[Decimal]) -> list[str | None]:
    return [_num(v) for v in values]


def _plan_day(a: ha.Analysis, d: ha.DayComparison) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        "workday": not a.is_day_off(d.day),
        "status": d.status,
        "status_title": d.status_title,
        "version": d.version,
        "plan_total": _num(d.plan_total),
        "fact_total": _num(d.fact_total),
        "hours_with_fact": d.hours_with_fact,
        "deviation": _num(d.deviation),
        "percent": _num(d.percent),
        "hours_over": d.hours_over,
        "over_threshold": d.hours_over > 0,
        "hours": [
            {
                "hour": h.hour,
                "plan": _num(h.plan),
                "fact": _num(h.fact),
                "deviation": _num(h.deviation),
                "percent": _num(h.percent),
                "over_threshold": h.is_over,
            }
            for h in d.hours
        ],
    }


def analysis_json(a: ha.Analysis, *, point: str | None) -> dict[str, Any]:
    """The answer for ``a`` (``point``: the code the filter named)."""
    grid, profile, peaks, plan = a.grid, a.profile, a.peaks, a.plan
    top = grid.maximum
    day_totals = grid.day_totals()
    return {
        "contract": a.scope.contract.number,
        "month": f"{a.month:%Y-%m}",
        "channel": a.scope.filters.channel,
        "units": CHANNEL_UNITS[Channel(a.scope.filters.channel)],
        "point": point,
        "points": len(a.scope.chosen),
        "totals": {
            "total": _num(grid.total),
            "days_with_data": grid.days_with_data,
            "maximum": (
                {"day": top[0].isoformat(), "hour": top[1], "value": _num(top[2])}
                if top
                else None
            ),
            "mean": _num(grid.mean),
        },
        "hour_totals": _nums(grid.hour_totals()),
        "days": [
            {
                "day": d.isoformat(),
                "workday": not a.is_day_off(d),
                "total": _num(day_totals.get(d)),
                "hours": [_num(grid.get(d, h)) for h in range(ha.HOURS)],
                "peak_hours": peaks.hours.get(d, []),
            }
            for d in grid.days
        ],
        "profile": {
            "day": profile.day.isoformat() if profile.day else None,
            "values": _nums(profile.values),
            "day_total": _num(profile.day_total),
            "workdays": _nums(profile.workdays),
            "weekends": _nums(profile.weekends),
            "workday_count": profile.workday_count,
            "weekend_count": profile.weekend_count,
        },
        "peaks": {
            "is_set": peaks.is_set,
            "count": peaks.count,
            "with_data": peaks.with_data,
            "missing": peaks.missing,
            "total": _num(peaks.total),
            "average": _num(peaks.average),
            "maximum": _num(peaks.maximum),
            "hours": [
                {
                    "day": d.isoformat(),
                    "hour": h,
                    "value": _num(peaks.values.get((d, h))),
                }
                for d, hours in sorted(peaks.hours.items())
                for h in hours
            ],
        },
        "plan": {
            "threshold": _num(plan.threshold),
            "has_plan": plan.has_plan,
            "compared_hours": plan.compared_hours,
            "plan_total": _num(plan.plan_total),
            "fact_total": _num(plan.fact_total),
            "deviation": _num(plan.deviation),
            "percent": _num(plan.percent),
            "hours_over": plan.hours_over,
            "days": [_plan_day(a, d) for d in plan.planned_days],
        },
    }


@operation(
    "GET",
    "/contracts/<number>/hourly/analysis",
    id="getHourlyAnalysis",
    summary="Почасовой анализ потребления договора за месяц",
    tag=READINGS,
    scopes=("read",),
    answers={200: json_answer(out.HourlyAnalysis, "Показатели месяца.")},
    errors=("NotFound", "Unprocessable"),
    query=out.HourlyAnalysisQuery,
    description="Те же показатели, что на странице «Почасовой анализ»: итоги "
    "месяца, потребление по дням и часам, суточный профиль (выбранный день, "
    "средний рабочий и средний нерабочий день в смысле `workday`), средняя "
    "мощность в плановые часы пиковой нагрузки, план ППП и "
    "факт с отклонениями по дням и часам (`over_threshold` — отклонение больше "
    "порога `threshold`). `workday` — рабочий день, как его отмечает "
    "страница: не суббота и не воскресенье, а если поставщик установил "
    "плановые часы пиковой нагрузки на месяц — день с такими часами. "
    "План сравнивается с фактом всех точек договора по "
    "каналу A+ при любых фильтрах. Значения — десятичные строки, не больше "
    "четырёх знаков после точки; час 0 — с 00:00 до 01:00 МСК.",
)
def get_hourly_analysis(number: str) -> Any:
    query = read_query(out.HourlyAnalysisQuery)
    contract = contract_by_number(number)
    s = db_session()
    actor = api_actor()
    hourly_rights(s, actor, contract.id)  # 404 before the point is looked for
    code = query.point.strip()
    point_id = None
    if code:
        point_id = s.scalar(
            select(HourlyPoint.id).where(
                HourlyPoint.contract_id == contract.id, HourlyPoint.code == code
            )
        )
        if point_id is None:
            raise NotFoundError("Точка измерений не найдена.", details={"point": code})
    today = _today()
    month = (query.month or today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if query.day is not None and query.day.replace(day=1) != month:
        raise ValidationError(
            f"Параметр «day»: день должен быть в месяце «{ha.month_title(month)}».",
            details={"field": "day"},
        )
    analysis = ha.analyse(
        s,
        actor=actor,
        contract_id=contract.id,
        filters=ha.Filters(month=month, channel=query.channel, point_id=point_id),
        day=query.day,
        threshold=Decimal(query.threshold),
        today=today,
    )
    return jsonify(analysis_json(analysis, point=code or None))
