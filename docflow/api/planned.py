"""ППП — заявка на плановое почасовое потребление (scope ``readings``): submit
a contract's 24 hourly values for a day before the deadline, and read the
requests of a period back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, jsonify

from docflow.access import planned_rights, require_planned_filing
from docflow.api.base import (
    BODY_ERRORS,
    Inline,
    api_actor,
    contract_by_number,
    json_answer,
    json_request,
    operation,
)
from docflow.api.errors import read_json, read_query
from docflow.api.schemas import planned as out
from docflow.context import db_session, settings
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.readings import planned_services as ps
from docflow.readings.planned_models import PlannedRequest

READINGS = "Показания"
MAX_DAYS = 366


def _day(raw: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "")[:10])
    except ValueError:
        raise ValidationError(
            f"Параметр «{field}»: ожидается дата ГГГГ-ММ-ДД.", details={"field": field}
        ) from None


def _clock() -> tuple[ps.Deadline, dt.datetime]:
    st = settings()
    fixed = current_app.config.get("PLANNED_NOW")
    now = (fixed() if callable(fixed) else fixed) or ps.utcnow()
    return ps.Deadline(st.readings.ppp_deadline_hour, st.readings.ppp_days_ahead), now


def _request_json(req: Any, key: str, deadline: Any) -> dict[str, Any]:
    return {
        "day": req.day.isoformat(),
        "status": key,
        "status_title": ps.STATUS_TITLES[key],
        "version": req.version,
        "hours": list(req.hours),
        "total": str(ps.total(req.hours)),
        "deadline": ps.deadline_text(deadline, req.day),
        "submitted_at": req.submitted_at.isoformat() if req.submitted_at else None,
        "accepted_at": req.accepted_at.isoformat() if req.accepted_at else None,
    }


@operation(
    "PUT",
    "/contracts/<number>/planned/<date>",
    id="submitPlanned",
    summary="Подача заявки на плановое почасовое потребление (ППП) на дату",
    tag=READINGS,
    scopes=("readings",),
    answers={
        200: json_answer(out.PlannedRequest, "Те же значения уже поданы."),
        201: json_answer(out.PlannedRequest, "Подана новая версия заявки."),
    },
    errors=("NotFound", "Conflict", *BODY_ERRORS),
    body=json_request(Inline(out.PlannedHours)),
    description="Заявка на дату D принимается до 12:00 МСК за двое суток "
    "до D (PPP_DEADLINE_HOUR, PPP_DAYS_AHEAD); позже — 422 с кодом "
    "`planned_deadline_passed`. Повторная подача до срока заменяет "
    "значения, прежние сохраняются как версия. Принятую поставщиком "
    "заявку изменить нельзя (409, `planned_accepted`).",
)
def submit_planned(number: str, date: str) -> Any:
    contract = contract_by_number(number)
    s = db_session()
    actor = api_actor()
    require_planned_filing(s, actor, contract.id)
    the_day = _day(date, "date")
    body = read_json(out.PlannedHours, max_bytes=64 * 1024)
    deadline, now = _clock()
    with transaction(s):
        req, made = ps.submit(
            s,
            contract,
            the_day,
            body.hours,
            user=actor.user,
            deadline=deadline,
            now=now,
            source="api",
        )
        answer = _request_json(
            req, ps.status_key(req, the_day, deadline, now), deadline
        )
    return jsonify({**answer, "contract": contract.number, "created_version": made}), (
        201 if made else 200
    )


@operation(
    "GET",
    "/contracts/<number>/planned",
    id="listPlanned",
    summary="Заявки ППП договора за период",
    tag=READINGS,
    scopes=("readings",),
    answers={200: json_answer(out.PlannedRequestList, "Заявки по датам.")},
    errors=("NotFound", "Unprocessable"),
    query=out.PlannedPeriod,
    description="По умолчанию — с сегодняшнего дня на 31 день; период "
    "не больше 366 дней.",
)
def list_planned(number: str) -> Any:
    query = read_query(out.PlannedPeriod)
    contract = contract_by_number(number)
    s = db_session()
    planned_rights(s, api_actor(), contract.id)
    deadline, now = _clock()
    today = now.astimezone(ps.MSK).date()
    first = _day(query.from_, "from") if query.from_ else today
    last = _day(query.to, "to") if query.to else first + dt.timedelta(days=31)
    if last < first or (last - first).days > MAX_DAYS:
        raise ValidationError(
            f"Период: «to» не раньше «from» и не больше {MAX_DAYS} дней.",
            details={"field": "to"},
        )
    rows = ps.list_requests(
        s,
        PlannedRequest.contract_id == contract.id,
        ps.Filters(day_from=first, day_to=last),
        deadline=deadline,
        now=now,
    )
    return jsonify(
        {
            "contract": contract.number,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "items": [
                _request_json(r, k, deadline)
                for r, k in sorted(rows, key=lambda x: x[0].day)
            ],
        }
    )
