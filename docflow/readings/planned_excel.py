"""ППП in Excel: the template of a contract's day (to fill and upload, or the
filed request to keep), reading an uploaded one, and the supplier's export of
the list of requests. The house style of :mod:`docflow.readings.excel`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.datavalidation import DataValidation

from docflow.readings.planned_services import HOURS, MSK, STATUS_TITLES, hour_title
from docflow.spreadsheets import WorkbookRefused, read_form_sheet

SHEET = "ППП"
COL_HOUR = "Час"
COL_VALUE = "Объём, кВт·ч"
HEADER_ROW = 5
MAX_FILE_BYTES = 2 * 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PlannedFileError(Exception):
    """The file is not a ППП template of this contract and day."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _styles() -> dict[str, Any]:
    thin = Side(style="thin", color="8A96A8")
    return {
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "head": PatternFill("solid", fgColor="E8EDF3"),
        "input": PatternFill("solid", fgColor="FFF7D6"),
    }


def build_template(
    *, contract_number: str, day: dt.date, hours: Sequence[str | None] = ()
) -> bytes:
    """A sheet «ППП»: the contract, the date and 24 rows «Час | Интервал |
    Объём, кВт·ч»; only the volume column is unprotected."""
    st = _styles()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws["A1"] = (
        f"Заявка на плановое почасовое потребление по договору № {contract_number} "
        f"на {day:%d.%m.%Y}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"], ws["B2"] = "Договор", contract_number
    ws["A3"], ws["B3"] = "Дата", f"{day:%d.%m.%Y}"
    for cell in (ws["A2"], ws["A3"]):
        cell.font = Font(bold=True)
    ws["D2"] = (
        "Заполните столбец «Объём, кВт·ч» (число не меньше 0, до трёх знаков после "
        "запятой) и загрузите файл кнопкой «Загрузить ППП из файла»."
    )
    ws["D2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("D2:G3")
    for col, title in enumerate((COL_HOUR, "Интервал (МСК)", COL_VALUE), start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = st["head"]
        cell.border = st["border"]
        cell.alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )
    dv = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="1000000",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Объём",
        error="Число от 0 до 1 000 000 кВт·ч.",
    )
    ws.add_data_validation(dv)
    for hour in range(HOURS):
        r = HEADER_ROW + 1 + hour
        value = hours[hour] if hour < len(hours) else None
        row = (hour + 1, hour_title(hour), float(Decimal(value)) if value else None)
        for col, v in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col, value=v)
            cell.border = st["border"]
        cell = ws.cell(row=r, column=3)
        cell.number_format = "0.000"
        cell.protection = Protection(locked=False)
        cell.fill = st["input"]
        dv.add(cell)
    total_row = HEADER_ROW + HOURS + 1
    ws.cell(row=total_row, column=2, value="Итого").font = Font(bold=True)
    ws.cell(
        row=total_row, column=3, value=f"=SUM(C{HEADER_ROW + 1}:C{HEADER_ROW + HOURS})"
    ).font = Font(bold=True)
    ws.cell(row=total_row, column=3).number_format = "0.000"
    for col, width in ((1, 8), (2, 18), (3, 18), (4, 14)):
        ws.column_dimensions[chr(64 + col)].width = width
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _canon(text: str) -> str:
    return re.sub(r"[^a-zа-я0-9№]+", " ", text.lower().replace("ё", "е")).strip()


def parse_template(
    filename: str, data: bytes, *, contract_number: str, day: dt.date
) -> list[Any]:
    """The 24 raw values of an uploaded template (validated later by
    :func:`~docflow.readings.planned_services.parse_hours`).

    :raises PlannedFileError: not an .xlsx, no sheet «ППП», another contract or
        date, hours missing.
    """
    try:
        numbered = read_form_sheet(
            data,
            sheet=SHEET,
            header_row=HEADER_ROW,
            max_rows=HOURS + 5,
            max_bytes=MAX_FILE_BYTES,
            too_big="Файл больше 2 МБ: загрузите заполненный шаблон ППП.",
            hint="загрузите шаблон, скачанный по кнопке «Выгрузить шаблон»",
        )
    except WorkbookRefused as exc:
        raise PlannedFileError(exc.message) from None
    rows = dict(numbered)
    meta: dict[str, str] = {}
    for n in range(1, HEADER_ROW):
        cells = rows.get(n) or []
        if len(cells) > 1:
            meta[_canon(_text(cells[0]))] = _text(cells[1])
    if meta.get("договор", "") and meta["договор"] != contract_number:
        raise PlannedFileError(
            f"Файл заполнен для договора № {meta['договор'][:50]}, а "
            f"выбран договор № {contract_number}."
        )
    if meta.get("дата", "") and meta["дата"] != f"{day:%d.%m.%Y}":
        raise PlannedFileError(
            f"Файл заполнен на дату {meta['дата'][:20]}, а выбрана дата "
            f"{day:%d.%m.%Y}: выберите её в календаре или выгрузите "
            "шаблон заново."
        )
    header = [_canon(_text(c)) for c in rows.get(HEADER_ROW, [])]
    if _canon(COL_HOUR) not in header or _canon(COL_VALUE) not in header:
        raise PlannedFileError(
            f"На листе «{SHEET}» не найдены столбцы «{COL_HOUR}» и "
            f"«{COL_VALUE}»: выгрузите шаблон заново."
        )
    hour_col, value_col = (
        header.index(_canon(COL_HOUR)),
        header.index(_canon(COL_VALUE)),
    )
    values: list[Any] = [None] * HOURS
    seen: set[int] = set()
    for number, cells in numbered:
        if number <= HEADER_ROW:
            continue
        label = _text(cells[hour_col]) if hour_col < len(cells) else ""
        if not label.isdigit() or not 1 <= int(label) <= HOURS:
            continue
        hour = int(label) - 1
        seen.add(hour)
        raw = cells[value_col] if value_col < len(cells) else None
        if isinstance(raw, float):
            raw = format(Decimal(repr(raw)), "f")
        values[hour] = raw
    if len(seen) != HOURS:
        raise PlannedFileError("В файле не все 24 часа: выгрузите шаблон заново.")
    return values


def export_requests(rows: Sequence[tuple[Any, str]]) -> bytes:
    """The supplier's list: one row per request, its 24 hours and the total."""
    st = _styles()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Заявки ППП"
    head = [
        "Договор",
        "Организация",
        "Дата",
        "Статус",
        "Версия",
        "Подана",
        *[hour_title(h) for h in range(HOURS)],
        "Итого, кВт·ч",
    ]
    ws.append(head)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = st["head"]
        cell.alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )
    for req, key in rows:
        hours = [
            float(Decimal(h)) if h else None for h in (req.hours or [None] * HOURS)
        ]
        submitted = (
            f"{req.submitted_at.astimezone(MSK):%d.%m.%Y %H:%M}"
            if req.submitted_at
            else ""
        )
        ws.append(
            [
                req.contract.number,
                req.contract.organisation.name,
                f"{req.day:%d.%m.%Y}",
                STATUS_TITLES[key],
                req.version or None,
                submitted,
                *hours,
                sum(h for h in hours if h is not None),
            ]
        )
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 30
    ws.freeze_panes = "C2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
