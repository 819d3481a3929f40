"""Hourly volumes (scope ``readings``): upload a file of hourly values (XML
80020, Excel or CSV; taken whole or not at all, per-row errors), list the
uploads and download the file of one as it was sent, and read the newest
values of a point's channel back for a period."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import jsonify, request, send_file
from sqlalchemy import select

from docflow.access import hourly_rights, require_hourly_upload
from docflow.api.base import (
    BINARY,
    BODY_ERRORS,
    MULTIPART,
    Answer,
    Body,
    Inline,
    api_actor,
    contract_by_number,
    json_answer,
    operation,
)
from docflow.api.errors import UnsupportedMediaTypeError, read_query
from docflow.api.schemas import hourly as out
from docflow.context import current_runtime, db_session
from docflow.db import transaction
from docflow.errors import NotFoundError, ValidationError
from docflow.readings import hourly_formats as fmt
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_models import Channel, HourlyPoint

READINGS = "Показания"
MAX_DAYS = 93  # a read-back of at most a quarter: 2 232 hours


def _upload_json(upload: Any) -> dict[str, Any]:
    return {
        "id": str(upload.id),
        "filename": upload.filename,
        "format": upload.file_format,
        "accepted": upload.is_accepted,
        "values": upload.values_taken,
        "points": upload.points,
        "first_day": upload.first_day.isoformat() if upload.first_day else None,
        "last_day": upload.last_day.isoformat() if upload.last_day else None,
        "errors": [
            {k: e.get(k) for k in ("file", "row", "point", "message")}
            for e in upload.errors
        ],
        "created_at": upload.created_at.isoformat() if upload.created_at else None,
        "sha256": upload.sha256,
        "file_kept": bool(upload.blob_key),
    }


@operation(
    "POST",
    "/contracts/<number>/hourly",
    id="uploadHourly",
    summary="Загрузка почасовых объёмов (80020, Excel или CSV)",
    tag=READINGS,
    scopes=("readings",),
    answers={201: json_answer(out.HourlyUpload, "Файл принят.")},
    errors=("NotFound", *BODY_ERRORS),
    body=Body({MULTIPART: Inline(out.HourlyFile)}),
    description="Файл принимается целиком или не принимается совсем: при "
    "ошибках — 422 с кодом `hourly_file_refused` и ошибками по файлу, "
    "строке и точке в `details.errors`. Повторная загрузка периода "
    "сохраняется как новая версия значений.",
)
def upload_hourly(number: str) -> Any:
    contract = contract_by_number(number)
    s = db_session()
    actor = api_actor()
    require_hourly_upload(s, actor, contract.id)
    if request.mimetype != MULTIPART:
        raise UnsupportedMediaTypeError(
            "Файл передаётся как multipart/form-data с частью «file».",
            details={"content_type": request.mimetype or None},
        )
    file = request.files.get("file")
    if file is None:
        raise ValidationError(
            "Приложите файл в части «file».", details={"field": "file"}
        )
    data = file.stream.read(fmt.MAX_FILE_BYTES + 1)
    with transaction(s):
        upload = hs.take_file(
            s,
            contract,
            file.filename or "",
            data,
            storage=current_runtime().storage,
            user=actor.user,
            source="api",
            request_info=actor.request_info,
        )
        body = _upload_json(upload)
    if not body["accepted"]:
        return jsonify(
            {
                "error": {
                    "code": "hourly_file_refused",
                    "message": "Файл не принят: из него ничего не сохранено.",
                    "details": body,
                }
            }
        ), 422
    return jsonify(body), 201


def _day(raw: str | None, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "")[:10])
    except ValueError:
        raise ValidationError(
            f"Параметр «{field}»: ожидается дата ГГГГ-ММ-ДД.", details={"field": field}
        ) from None


@operation(
    "GET",
    "/contracts/<number>/hourly",
    id="readHourly",
    summary="Почасовые значения точки измерений за период (или список точек)",
    tag=READINGS,
    scopes=("readings",),
    answers={200: json_answer(out.HourlyValues, "Значения (последние версии).")},
    errors=("NotFound", "Unprocessable"),
    query=out.HourlyQuery,
    description="Без параметра `point` — список точек измерений договора. "
    "Период — не больше 93 дней.",
)
def read_hourly(number: str) -> Any:
    query = read_query(out.HourlyQuery)
    contract = contract_by_number(number)
    s = db_session()
    hourly_rights(s, api_actor(), contract.id)
    code = query.point.strip()[:30]
    if not code:
        points = hs.contract_points(s, contract.id)
        return jsonify(
            {
                "contract": contract.number,
                "points": [
                    {"code": p.code, "name": p.name, "meter_id": _str(p.meter_id)}
                    for p in points
                ],
            }
        )
    point = s.scalar(
        select(HourlyPoint).where(
            HourlyPoint.contract_id == contract.id, HourlyPoint.code == code
        )
    )
    if point is None:
        raise NotFoundError("Точка измерений не найдена.", details={"point": code})
    channel = fmt.channel_of(query.channel or "A+")
    if channel is None:
        raise ValidationError(
            "Параметр «channel»: A+, A-, R+ или R-.", details={"field": "channel"}
        )
    first = _day(request.args.get("from"), "from")
    last = _day(request.args.get("to"), "to")
    if last < first or (last - first).days >= MAX_DAYS:
        raise ValidationError(
            f"Период от «from» до «to» — не больше {MAX_DAYS} дней.",
            details={"field": "to"},
        )
    values = hs.values(s, point.id, Channel(channel), first, last)
    return jsonify(
        {
            "contract": contract.number,
            "point": point.code,
            "channel": channel.value,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "values": [
                {
                    "day": v.day.isoformat(),
                    "hour": v.hour,
                    "value": format(v.value.normalize(), "f"),
                    "status": v.status,
                    "version": v.version,
                }
                for v in values
            ],
        }
    )


@operation(
    "GET",
    "/contracts/<number>/hourly/uploads",
    id="listHourlyUploads",
    summary="Загрузки почасовых объёмов по договору (последние 100)",
    tag=READINGS,
    scopes=("readings",),
    answers={200: json_answer(out.HourlyUploadList, "Загрузки, новые первыми.")},
    errors=("NotFound",),
    description="Принятые и не принятые файлы с их ошибками; "
    "`file_kept` — сохранён ли сам файл.",
)
def list_hourly_uploads(number: str) -> Any:
    contract = contract_by_number(number)
    s = db_session()
    hourly_rights(s, api_actor(), contract.id)
    return jsonify(
        {"items": [_upload_json(u) for u in hs.uploads(s, contract.id, limit=100)]}
    )


@operation(
    "GET",
    "/contracts/<number>/hourly/uploads/<uuid:upload_id>/file",
    id="getHourlyUploadFile",
    summary="Файл загрузки почасовых объёмов — как он был отправлен",
    tag=READINGS,
    scopes=("readings",),
    answers={
        200: Answer(
            "Файл (потоком).",
            {"*/*": BINARY},
            headers={"X-Content-SHA256": "SHA-256 файла, записанный при загрузке."},
        )
    },
    errors=("NotFound",),
)
def get_hourly_upload_file(number: str, upload_id: uuid.UUID) -> Any:
    contract = contract_by_number(number)
    s = db_session()
    hourly_rights(s, api_actor(), contract.id)
    upload = hs.get_upload(s, contract.id, upload_id)
    reader = current_runtime().storage.open(upload.blob_key)
    response = send_file(
        reader,
        mimetype=reader.info.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=upload.filename,
        max_age=0,
    )
    response.headers["X-Content-SHA256"] = upload.sha256
    return response


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None
