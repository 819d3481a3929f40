"""The Excel form of a period: the template to download, the filled upload
(kept whatever happens, taken whole or not at all), the uploads' history.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
)
from docflow.audit import record
from docflow.blobrefs import register_blob_source
from docflow.documents.services import clean_filename
from docflow.errors import (
    NotFoundError,
    ValidationError,
)
from docflow.readings import calc, excel
from docflow.readings.meters import (
    get_contract,
)
from docflow.readings.models import (
    ReadingStatus,
    ReadingUpload,
)
from docflow.readings.prom10 import (
    RenderedAct,
)
from docflow.readings.sheet import list_meters
from docflow.readings.submission import (
    ReadingRow,
    ReadingsRejected,
    submit_readings,
)
from docflow.readings.window import (
    DEFAULT_WINDOW_DAYS,
    WindowDays,
    require_window,
    window_for,
)
from storage import BlobStorage


def _upload_blob_keys(session: Session) -> Iterable[str]:
    """The uploaded Excel forms' blobs, for ``docflow fsck`` (not orphans)."""
    return session.scalars(select(ReadingUpload.blob_key))


register_blob_source(_upload_blob_keys)


# -- the Excel form ----------------------------------------------------------------------


def form_template(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date | None = None,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> RenderedAct:
    """«Скачать шаблон»: the contract's meters with their previous values."""
    sheet = list_meters(
        session,
        actor=actor,
        contract_id=contract_id,
        period=period,
        now=now,
        window_days=window_days,
    )
    lines = [
        excel.FormLine(
            object_name=b.obj.name,
            address=b.obj.address or "",
            meter_number=ln.meter.number,
            meter_type=ln.meter.meter_type,
            digits=ln.meter.digits,
            ratio=ln.meter.ratio,
            previous=ln.previous_padded,
            value=(
                str(ln.current.value)
                if ln.current is not None
                and ln.current.status != ReadingStatus.REJECTED
                else ""
            ),
            blocked=ln.blocked_reason,
        )
        for b in sheet.objects
        for ln in b.lines
    ]
    data = excel.build_form(
        contract_number=sheet.contract.number, period=sheet.period, lines=lines
    )
    name = f"Показания-{sheet.contract.number}-{calc.period_key(sheet.period)}.xlsx"
    return RenderedAct(name, excel.XLSX_TYPE, data)


def upload_form(
    session: Session,
    *,
    actor: Actor,
    storage: BlobStorage,
    contract_id: uuid.UUID,
    period: dt.date,
    filename: str,
    data: bytes,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> Any:
    """Take a filled form. The file is kept and listed with its result whatever
    happens; its values are saved («Готово к передаче») only if every row is
    right — a bad row is reported by row and column and nothing is taken.

    :raises ValidationError: an empty or over-large file (not kept).
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    # The window first: outside it nothing is read or kept (a file that
    # inflates must not cost a worker anything).
    require_window(window_for(now, window_days), period)
    filename = clean_filename(filename or "форма.xlsx")
    if not data:
        raise ValidationError(
            "Выберите заполненный файл формы (.xlsx).", details={"field": "file"}
        )
    if len(data) > excel.MAX_FORM_BYTES:
        raise ValidationError(
            f"Файл «{filename}» больше {excel.MAX_FORM_BYTES // (1024 * 1024)} МБ: это не "
            "форма передачи показаний.",
            details={"field": "file"},
        )
    info = storage.put_bytes(
        data,
        content_type=excel.XLSX_TYPE
        if data.startswith(b"PK")
        else "application/octet-stream",
    )
    upload = ReadingUpload(
        contract_id=contract.id,
        period=period,
        user_id=actor.user_id,
        filename=filename,
        size=info.size,
        sha256=info.sha256,
        blob_key=info.key,
    )
    session.add(upload)
    problems: list[excel.RowProblem] = []
    try:
        parsed = excel.parse_form(filename, data)
    except excel.FormError as exc:
        problems = [excel.RowProblem(0, "", exc.message)]
        parsed = None
    if parsed is not None:
        problems = list(parsed.problems)
        if (
            parsed.contract_number
            and parsed.contract_number.upper() != contract.number.upper()
        ):
            problems.insert(
                0,
                excel.RowProblem(
                    0,
                    "",
                    f"файл составлен для договора № {parsed.contract_number}, а "
                    f"загружается для договора № {contract.number}",
                ),
            )
        elif parsed.period is not None and parsed.period != period:
            problems.insert(
                0,
                excel.RowProblem(
                    0,
                    "",
                    f"файл составлен за {calc.period_title(parsed.period)}, а загружается "
                    f"за {calc.period_title(period)}: скачайте шаблон за нужный период",
                ),
            )
        elif not parsed.rows and not problems:
            problems.append(
                excel.RowProblem(0, "", "в файле не заполнено ни одного показания")
            )
    saved = unchanged = 0
    if parsed is not None and not problems:
        rows = [ReadingRow(r.value, meter_number=r.meter_number) for r in parsed.rows]
        try:
            # Atomic: every row is checked before anything is written.
            result = submit_readings(
                session,
                actor=actor,
                contract_id=contract.id,
                period=period,
                rows=rows,
                now=now,
                window_days=window_days,
                atomic=True,
                source="excel",
            )
            saved = len(result.saved)
            unchanged = sum(1 for r in result.results if r.unchanged)
        except ReadingsRejected as exc:
            for p in exc.problems:
                form_row = parsed.rows[p["index"]]
                column = (
                    excel.COL_METER
                    if "нет в договоре" in p["message"]
                    else excel.COL_VALUE
                )
                problems.append(excel.RowProblem(form_row.row, column, p["message"]))
        except ValidationError as exc:
            problems.append(excel.RowProblem(0, "", exc.message))
    upload.is_accepted = not problems
    upload.rows_taken = saved
    upload.problems = {
        "items": [p.as_dict() for p in problems[:200]],
        "count": len(problems),
    }
    upload.message = (
        _accepted_message(saved, unchanged)
        if not problems
        else f"Файл не принят: ошибок — {len(problems)}. Из файла ничего не "
        "сохранено; исправьте ошибки и загрузите его снова."
    )
    session.flush()
    record(
        session,
        user=actor.user,
        action="readings.form_uploaded",
        object_type="contract",
        object_id=contract.id,
        details={
            "period": calc.period_key(period),
            "filename": filename,
            "sha256": info.sha256,
            "accepted": upload.is_accepted,
            "rows": saved,
            "problems": len(problems),
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return upload


def _accepted_message(saved: int, unchanged: int) -> str:
    parts = []
    if saved or not unchanged:
        parts.append(
            f"Принято показаний: {saved}. Они сохранены со статусом «Готово к "
            "передаче»."
        )
    if unchanged:
        parts.append(
            f"Совпадают с уже переданными в расчёт и оставлены без изменений: "
            f"{unchanged}."
        )
    return " ".join(parts)


def list_uploads(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, limit: int = 50
) -> list[Any]:
    """«История загруженных файлов», newest first."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    return list(
        session.scalars(
            select(ReadingUpload)
            .where(ReadingUpload.contract_id == contract.id)
            .order_by(ReadingUpload.created_at.desc())
            .limit(limit)
        )
    )


def get_upload(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, upload_id: uuid.UUID
) -> Any:
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    upload = session.get(ReadingUpload, upload_id)
    if upload is None or upload.contract_id != contract.id:
        raise NotFoundError("Файл не найден.")
    return upload
