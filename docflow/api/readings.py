"""Readings (scope ``readings``): the contract's meters, submitting values with
per-row errors, the ПРОМ10 act as a file, and sending the act to be signed."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from flask import current_app, jsonify, request, send_file
from sqlalchemy import select

from docflow.api.blueprint import api_actor, bp, scope
from docflow.api.errors import bool_arg, json_body
from docflow.api.serialize import document_json
from docflow.contracts.models import Contract
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.web import blob_store, db_session, settings

MAX_ROWS = 1000


def readings_available() -> bool:
    """The readings module ships with the cabinet; the check keeps the API's
    description honest should it be left out of a build."""
    try:
        from docflow.readings import services  # noqa: F401
    except ImportError:
        return False
    return True


def _now() -> dt.datetime | None:
    # The readings pages' clock (tests fix it to a day inside the window).
    fixed = current_app.config.get("READINGS_NOW")
    return fixed() if callable(fixed) else fixed  # type: ignore[no-any-return]


def _days() -> Any:
    from docflow.readings.services import WindowDays

    st = settings()
    return WindowDays(st.readings_window_start, st.readings_window_end)


def _contract(number: str) -> Contract:
    from docflow.contracts.services import normalize_contract_number

    contract = db_session().scalar(
        select(Contract).where(Contract.number == normalize_contract_number(number))
    )
    if contract is None:
        raise NotFoundError("Договор не найден.")
    return contract


def _period(raw: Any, *, required: bool = False) -> dt.date | None:
    from docflow.readings import calc

    if raw is None:
        if required:
            raise ValidationError(
                "Укажите период ГГГГ-ММ (параметр «period»).",
                details={"field": "period"},
            )
        return None
    period = calc.parse_period(raw) if isinstance(raw, str) else None
    if period is None or not isinstance(raw, str) or len(raw) != 7:
        raise ValidationError(
            "Период указан неверно: ожидается ГГГГ-ММ.", details={"field": "period"}
        )
    return period


def _key(period: dt.date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


@bp.get("/contracts/<number>/meters")
@scope("readings")
def list_meters(number: str) -> Any:
    from docflow.readings import services as rsvc

    contract = _contract(number)
    sheet = rsvc.list_meters(
        db_session(),
        actor=api_actor(),
        contract_id=contract.id,
        period=_period(request.args.get("period")),
        now=_now(),
        window_days=_days(),
    )
    meters = []
    for block in sheet.objects:
        for line in block.lines:
            current = line.current
            meters.append(
                {
                    "id": str(line.meter.id),
                    "number": line.meter.number,
                    "object": block.obj.name,
                    "digits": line.meter.digits,
                    "ratio": line.meter.ratio,
                    "status": line.status.value,
                    "can_read": line.can_read,
                    "blocked_reason": line.blocked_reason,
                    "previous": line.previous.value if line.previous else None,
                    "current": current.value if current else None,
                    "current_status": current.status.value if current else None,
                }
            )
    return jsonify(
        {
            "contract": contract.number,
            "period": _key(sheet.period),
            "window_open": bool(sheet.can_submit),
            "meters": meters,
        }
    )


def _rows(payload: dict[str, Any]) -> list[Any]:
    from docflow.readings.models import ReadingKind
    from docflow.readings.services import ReadingRow

    raw = payload.get("rows")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ROWS:
        raise ValidationError(
            f"Поле «rows»: от 1 до {MAX_ROWS} строк "
            '{"meter": "<номер>", "value": <показание>}.',
            details={"field": "rows"},
        )
    rows = []
    for index, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("meter"), str)
            or not isinstance(item.get("value"), str | int)
            or isinstance(item.get("value"), bool)
            or item.get("kind", "end") not in ("end", "start")
        ):
            raise ValidationError(
                f"Строка {index + 1}: ожидается "
                '{"meter": "<номер>", "value": <показание>, "kind": "end"|"start"}.',
                details={"field": "rows", "index": index},
            )
        rows.append(
            ReadingRow(
                item["value"],
                meter_number=item["meter"][:50],
                kind=ReadingKind(item.get("kind", "end")),
            )
        )
    return rows


@bp.post("/contracts/<number>/readings")
@scope("readings")
def submit_readings(number: str) -> Any:
    from docflow.readings import services as rsvc

    payload = json_body()
    rows = _rows(payload)
    send = payload.get("send", False)
    if not isinstance(send, bool):
        raise ValidationError(
            "Поле «send» должно быть true или false.", details={"field": "send"}
        )
    contract = _contract(number)
    period = _period(payload.get("period")) or rsvc.window_for(_now(), _days()).period
    s = db_session()
    actor = api_actor()
    with transaction(s):
        result = rsvc.submit_readings(
            s,
            actor=actor,
            contract_id=contract.id,
            period=period,
            rows=rows,
            now=_now(),
            window_days=_days(),
            source="api",
        )
        sent = 0
        if send and not result.errors:
            sent = rsvc.send_readings(
                s,
                actor=actor,
                contract_id=contract.id,
                period=period,
                now=_now(),
                window_days=_days(),
            )
        body = {
            "period": _key(period),
            "saved": len([r for r in result.results if r.ok and r.reading is not None]),
            "sent": sent,
            "rows": [
                {
                    "index": index,
                    "meter": r.row.meter_number,
                    "ok": r.ok,
                    "error": r.error,
                    "note": r.note,
                }
                for index, r in enumerate(result.results)
            ],
        }
    return jsonify(body)


@bp.get("/contracts/<number>/prom10")
@scope("readings")
def render_prom10(number: str) -> Any:
    from docflow.readings import services as rsvc

    fmt = request.args.get("format", "pdf")
    if fmt not in rsvc.ACT_FORMATS:
        raise ValidationError(
            "Параметр «format»: pdf, docx или xlsx.", details={"field": "format"}
        )
    filled = bool_arg("filled", True)
    period = _period(request.args.get("period"), required=True)
    contract = _contract(number)
    rendered = rsvc.render_act(
        db_session(),
        actor=api_actor(),
        contract_id=contract.id,
        period=period,  # type: ignore[arg-type]
        fmt=fmt,
        filled=filled,
        now=_now(),
        supplier_name=settings().supplier_name,
    )
    return send_file(
        io.BytesIO(rendered.data),
        mimetype=rendered.content_type,
        as_attachment=True,
        download_name=rendered.filename,
        max_age=0,
    )


@bp.post("/contracts/<number>/prom10/send")
@scope("readings", "write")
def send_prom10(number: str) -> Any:
    from docflow.readings import services as rsvc

    period = _period(request.args.get("period"), required=True)
    contract = _contract(number)
    s = db_session()
    with transaction(s):
        doc = rsvc.send_act_to_docflow(
            s,
            actor=api_actor(),
            storage=blob_store(),
            contract_id=contract.id,
            period=period,  # type: ignore[arg-type]
            now=_now(),
            base_url=settings().base_url,
            supplier_name=settings().supplier_name,
        )
        response = jsonify(document_json(doc))
    response.status_code = 201
    return response
