"""ППП — заявка на плановое почасовое потребление (scope ``readings``): submit
a contract's 24 hourly values for a day before the deadline, and read the
requests of a period back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, jsonify, request
from sqlalchemy import select

from docflow.access import planned_rights, require_planned_filing
from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import json_body
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.web import db_session, settings

MAX_DAYS = 366


def _contract(number: str) -> Contract:
    from docflow.contracts.services import normalize_contract_number

    contract = db_session().scalar(
        select(Contract).where(
            Contract.number == normalize_contract_number(number[:50])
        )
    )
    if contract is None:
        raise NotFoundError("Договор не найден.")
    return contract


def _day(raw: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "")[:10])
    except ValueError:
        raise ValidationError(
            f"Параметр «{field}»: ожидается дата ГГГГ-ММ-ДД.", details={"field": field}
        ) from None


def _clock() -> tuple[Any, dt.datetime]:
    from docflow.readings import planned_services as ps

    st = settings()
    fixed = current_app.config.get("PLANNED_NOW")
    now = (fixed() if callable(fixed) else fixed) or ps.utcnow()
    return ps.Deadline(st.ppp_deadline_hour, st.ppp_days_ahead), now


def _request_json(req: Any, key: str, deadline: Any) -> dict[str, Any]:
    from docflow.readings import planned_services as ps

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


@bp.put("/contracts/<number>/planned/<date>")
@scope("readings")
def submit_planned(number: str, date: str) -> Any:
    from docflow.readings import planned_services as ps

    contract = _contract(number)
    s = db_session()
    actor = api_actor()
    require_planned_filing(s, actor, contract.id)
    the_day = _day(date, "date")
    body = json_body(max_bytes=64 * 1024)
    deadline, now = _clock()
    with transaction(s):
        req, made = ps.submit(
            s,
            contract,
            the_day,
            body.get("hours"),
            user=actor.user,
            deadline=deadline,
            now=now,
            source="api",
        )
        out = _request_json(req, ps.status_key(req, the_day, deadline, now), deadline)
    return jsonify({**out, "contract": contract.number, "created_version": made}), (
        201 if made else 200
    )


@bp.get("/contracts/<number>/planned")
@scope("readings")
def list_planned(number: str) -> Any:
    from docflow.readings import planned_services as ps
    from docflow.readings.planned_models import PlannedRequest

    contract = _contract(number)
    s = db_session()
    planned_rights(s, api_actor(), contract.id)
    deadline, now = _clock()
    today = now.astimezone(ps.MSK).date()
    first = (
        _day(request.args.get("from"), "from") if request.args.get("from") else today
    )
    last = (
        _day(request.args.get("to"), "to")
        if request.args.get("to")
        else first + dt.timedelta(days=31)
    )
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
