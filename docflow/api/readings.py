"""Readings (scope ``readings``): the contract's meters, submitting values with
per-row errors, the ПРОМ10 act as a file, and sending the act to be signed."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
from typing import Any

from flask import current_app, jsonify, request, send_file

from docflow.api.base import (
    BINARY,
    BODY_ERRORS,
    Answer,
    api_actor,
    contract_by_number,
    json_answer,
    json_request,
    operation,
)
from docflow.api.errors import read_json, read_query
from docflow.api.schemas import readings as out
from docflow.api.schemas.documents import Document as DocumentOut
from docflow.api.serialize import document_json
from docflow.context import current_runtime, db_session, settings
from docflow.db import transaction
from docflow.errors import ValidationError
from docflow.readings import calc
from docflow.readings import services as rsvc
from docflow.readings.models import ReadingKind

READINGS = "Показания"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def readings_available() -> bool:
    """The readings module ships with the cabinet; the check keeps the API's
    description honest should it be left out of a build."""
    return importlib.util.find_spec("docflow.readings.services") is not None


def _now() -> dt.datetime | None:
    # The readings pages' clock (tests fix it to a day inside the window).
    fixed = current_app.config.get("READINGS_NOW")
    return fixed() if callable(fixed) else fixed


def _days() -> rsvc.WindowDays:
    st = settings()
    return rsvc.WindowDays(st.readings.window_start, st.readings.window_end)


def _period(raw: Any, *, required: bool = False) -> dt.date | None:
    """``ГГГГ-ММ`` (of the body or the query), read once the contract is known."""
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


@operation(
    "GET",
    "/contracts/<number>/meters",
    id="listMeters",
    summary="Счётчики договора с прошлыми и текущими показаниями",
    tag=READINGS,
    scopes=("readings",),
    answers={200: json_answer(out.MeterSheet, "Счётчики.")},
    errors=("NotFound", "Unprocessable"),
    query=out.Period,
    optional="readings",
)
def list_meters(number: str) -> Any:
    read_query(out.Period)
    contract = contract_by_number(number)
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


@operation(
    "POST",
    "/contracts/<number>/readings",
    id="submitReadings",
    summary="Передача показаний (построчные ошибки)",
    tag=READINGS,
    scopes=("readings",),
    answers={200: json_answer(out.ReadingsResult, "Итог по строкам.")},
    errors=("NotFound", *BODY_ERRORS),
    body=json_request(out.ReadingsRequest),
    optional="readings",
)
def submit_readings(number: str) -> Any:
    body = read_json(out.ReadingsRequest)
    rows = [
        rsvc.ReadingRow(
            row.value, meter_number=row.meter[:50], kind=ReadingKind(row.kind)
        )
        for row in body.rows
    ]
    contract = contract_by_number(number)
    period = _period(body.period) or rsvc.window_for(_now(), _days()).period
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
        if body.send and not result.errors:
            sent = rsvc.send_readings(
                s,
                actor=actor,
                contract_id=contract.id,
                period=period,
                now=_now(),
                window_days=_days(),
            )
        answer = {
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
    return jsonify(answer)


@operation(
    "GET",
    "/contracts/<number>/prom10",
    id="renderProm10",
    summary="Акт ПРОМ10 (PDF, DOCX или XLSX; бланк или заполненный)",
    tag=READINGS,
    scopes=("readings",),
    answers={
        200: Answer("Акт.", {"application/pdf": BINARY, DOCX: BINARY, XLSX: BINARY})
    },
    errors=("NotFound", "Unprocessable"),
    query=out.Prom10Query,
    optional="readings",
)
def render_prom10(number: str) -> Any:
    query = read_query(out.Prom10Query)
    period = _period(request.args.get("period"), required=True)
    contract = contract_by_number(number)
    rendered = rsvc.render_act(
        db_session(),
        actor=api_actor(),
        contract_id=contract.id,
        period=period,  # type: ignore[arg-type]
        fmt=query.format,
        filled=query.filled,
        now=_now(),
        supplier_name=settings().supplier.name,
    )
    return send_file(
        io.BytesIO(rendered.data),
        mimetype=rendered.content_type,
        as_attachment=True,
        download_name=rendered.filename,
        max_age=0,
    )


@operation(
    "POST",
    "/contracts/<number>/prom10/send",
    id="sendProm10",
    summary="Передать акт ПРОМ10 в документооборот (на подпись)",
    tag=READINGS,
    scopes=("readings", "write"),
    answers={201: json_answer(DocumentOut, "Акт зарегистрирован как документ.")},
    errors=("NotFound", "Conflict", "Unprocessable"),
    query=out.RequiredPeriod,
    description="Нужны области доступа `readings` и `write` (регистрация документа).",
    optional="readings",
)
def send_prom10(number: str) -> Any:
    read_query(out.RequiredPeriod)
    period = _period(request.args.get("period"), required=True)
    contract = contract_by_number(number)
    s = db_session()
    with transaction(s):
        doc = rsvc.send_act_to_docflow(
            s,
            actor=api_actor(),
            runtime=current_runtime(),
            contract_id=contract.id,
            period=period,  # type: ignore[arg-type]
            now=_now(),
            supplier_name=settings().supplier.name,
        )
        response = jsonify(document_json(doc))
    response.status_code = 201
    return response
