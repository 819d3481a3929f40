"""The hourly analysis in Excel: the export of a contract's month (the
figures, the profile, the heat map's values, planned against actual, the
peak hours), the control measurement's form (meters × 24 hours: to fill and
upload) and reading it back, and the supplier's export of all contracts'
control measurements. The house style of :mod:`docflow.readings.planned_excel`.

The sheets of days shade the rows of Saturdays, Sundays and the days the
supplier set as non-working (:func:`~docflow.readings.hourly_analysis.days_off`),
as the page does, with the page's legend under them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from docflow.readings.hourly_analysis import (
    HOURS,
    Analysis,
    ControlListRow,
    ControlSheet,
    hour_title,
    month_title,
    parse_control_rows,
)
from docflow.readings.hourly_models import CHANNEL_TITLES, CHANNEL_UNITS, Channel
from docflow.readings.models import VOLTAGE_TITLES
from docflow.spreadsheets import (
    ImportFailed,
    ImportProblem,
    WorkbookRefused,
    read_form_sheet,
    xml_safe,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FILE_BYTES = 2 * 1024 * 1024
CONTROL_SHEET = "Контрольный замер"
COL_METER = "Счётчик №"
CONTROL_HEADER_ROW = 6
NUMBER = "#,##0.000"

_THIN = Side(style="thin", color="8A96A8")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEAD = PatternFill("solid", fgColor="E8EDF3")
INPUT = PatternFill("solid", fgColor="FFF7D6")
OVER = PatternFill("solid", fgColor="F8D7D3")
#: Weekends and non-working days (the page's ``.is-day-off`` rows).
DAY_OFF = PatternFill("solid", fgColor="ECE8F6")
DAY_OFF_LEGEND = "Выходные и нерабочие дни выделены."
PEAK_BORDER = Border(
    left=Side(style="medium"),
    right=Side(style="medium"),
    top=Side(style="medium"),
    bottom=Side(style="medium"),
)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 3))


def _header(ws: Worksheet, row: int, titles: Sequence[str]) -> None:
    for col, title in enumerate(titles, start=1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = HEAD
        cell.border = BORDER
        cell.alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )


def _shade_day_off(ws: Worksheet, row: int, last_column: int) -> None:
    """Shade the cells of a day off's row that carry no other fill."""
    for col in range(1, last_column + 1):
        cell = ws.cell(row=row, column=col)
        if cell.fill.fill_type is None:
            cell.fill = DAY_OFF


def _day_off_legend(ws: Worksheet, row: int) -> None:
    swatch = ws.cell(row=row, column=1, value=DAY_OFF_LEGEND)
    swatch.fill = DAY_OFF
    swatch.font = Font(italic=True)


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- the export of an analysis ---------------------------------------------------------


def export_analysis(a: Analysis, *, scope_text: str) -> bytes:
    """Five sheets: «Сводка», «Профиль», «Тепловая карта», «План и факт»
    (days, then every hour) and «Пиковые часы»."""
    wb = Workbook()
    units = CHANNEL_UNITS[Channel(a.scope.filters.channel)]
    sheet = wb.active
    assert sheet is not None
    _summary(sheet, a, scope_text, units)
    _profile(wb.create_sheet("Профиль"), a, units)
    _heat(wb.create_sheet("Тепловая карта"), a, units)
    _plan(wb.create_sheet("План и факт"), a)
    _plan_hours(wb.create_sheet("План и факт по часам"), a)
    _peaks(wb.create_sheet("Пиковые часы"), a, units)
    return _save(wb)


def _summary(ws: Worksheet, a: Analysis, scope_text: str, units: str) -> None:
    ws.title = "Сводка"
    contract = a.scope.contract
    ws["A1"] = (
        f"Почасовой анализ потребления по договору № {contract.number} за "
        f"{month_title(a.month)}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    top = a.grid.maximum
    plan = a.plan
    peaks = a.peaks
    rows: list[tuple[str, Any]] = [
        ("Организация", xml_safe(contract.organisation.name)),
        ("Выборка", xml_safe(scope_text)),
        ("Канал", CHANNEL_TITLES[Channel(a.scope.filters.channel)]),
        (f"Потребление за месяц, {units}", _number(a.grid.total)),
        ("Дней с данными", a.grid.days_with_data),
        (f"Максимальный час, {units}", _number(top[2]) if top else None),
        (
            "Максимальный час: дата и время",
            f"{top[0]:%d.%m.%Y} {hour_title(top[1])}" if top else "",
        ),
        ("Средняя часовая нагрузка, " + units.replace("·ч", ""), _number(a.grid.mean)),
        ("Плановых часов пиковой нагрузки в месяце", peaks.count),
        (
            "Средняя мощность в плановые часы пиковой нагрузки, "
            + units.replace("·ч", ""),
            _number(peaks.average),
        ),
        ("Порог отклонения от ППП, %", float(plan.threshold)),
        ("Дней с заявкой ППП", len(plan.planned_days)),
        ("План (ППП) по часам с фактом, кВт·ч", _number(plan.plan_total)),
        ("Факт по тем же часам, кВт·ч", _number(plan.fact_total)),
        ("Отклонение, кВт·ч", _number(plan.deviation)),
        ("Отклонение, %", _number(plan.percent)),
        ("Часов с отклонением больше порога", plan.hours_over),
    ]
    for i, (label, value) in enumerate(rows, start=3):
        ws.cell(row=i, column=1, value=label).font = Font(bold=True)
        cell = ws.cell(row=i, column=2, value=value)
        if isinstance(value, float):
            cell.number_format = NUMBER
    ws.column_dimensions["A"].width = 58
    ws.column_dimensions["B"].width = 36


def _profile(ws: Worksheet, a: Analysis, units: str) -> None:
    p = a.profile
    day = f"{p.day:%d.%m.%Y}" if p.day else "—"
    _header(
        ws,
        1,
        [
            "Час",
            f"{day}, {units}",
            f"Средний рабочий день ({p.workday_count}), {units}",
            f"Средний выходной ({p.weekend_count}), {units}",
        ],
    )
    for h in range(HOURS):
        ws.append(
            [
                hour_title(h),
                _number(p.values[h]),
                _number(p.workdays[h]),
                _number(p.weekends[h]),
            ]
        )
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=4):
        for cell in row:
            cell.number_format = NUMBER
    for col, width in (("A", 14), ("B", 20), ("C", 30), ("D", 28)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "B2"


def _heat(ws: Worksheet, a: Analysis, units: str) -> None:
    _header(
        ws, 1, [f"Дата \\ час, {units}", *[f"{h:02d}" for h in range(HOURS)], "Итого"]
    )
    for r, day in enumerate(a.grid.days, start=2):
        ws.cell(row=r, column=1, value=f"{day:%d.%m.%Y}")
        for h in range(HOURS):
            cell = ws.cell(row=r, column=h + 2, value=_number(a.grid.get(day, h)))
            cell.number_format = NUMBER
            if a.peaks.is_peak(day, h):
                cell.border = PEAK_BORDER
                cell.font = Font(bold=True)
        total = ws.cell(row=r, column=HOURS + 2, value=_number(a.grid.day_total(day)))
        total.number_format = NUMBER
        total.font = Font(bold=True)
        if a.is_day_off(day):
            _shade_day_off(ws, r, HOURS + 2)
    last = len(a.grid.days) + 1
    area = f"B2:{get_column_letter(HOURS + 1)}{last}"
    ws.conditional_formatting.add(
        area,
        ColorScaleRule(
            start_type="min",
            start_color="FFFFB2",
            mid_type="percentile",
            mid_value=50,
            mid_color="FD8D3C",
            end_type="max",
            end_color="B10026",
        ),
    )
    note = ws.cell(
        row=last + 2,
        column=1,
        value="Жирные ячейки в рамке — плановые часы пиковой нагрузки.",
    )
    note.font = Font(italic=True)
    _day_off_legend(ws, last + 3)
    ws.column_dimensions["A"].width = 16
    for h in range(HOURS + 1):
        ws.column_dimensions[get_column_letter(h + 2)].width = 10
    ws.freeze_panes = "B2"


def _plan(ws: Worksheet, a: Analysis) -> None:
    plan = a.plan
    ws["A1"] = (
        f"План (ППП) и факт по договору, кВт·ч; порог отклонения ±{plan.threshold} %"
    )
    ws["A1"].font = Font(bold=True)
    _header(
        ws,
        2,
        [
            "Дата",
            "Заявка ППП",
            "Версия",
            "План, кВт·ч",
            "Факт, кВт·ч",
            "Отклонение, кВт·ч",
            "Отклонение, %",
            "Часов сверх порога",
        ],
    )
    for day in plan.days:
        ws.append(
            [
                f"{day.day:%d.%m.%Y}",
                day.status_title,
                day.version or None,
                _number(day.plan_total),
                _number(day.fact_total),
                _number(day.deviation),
                _number(day.percent),
                day.hours_over if day.has_plan else None,
            ]
        )
        if day.hours_over:
            for cell in ws[ws.max_row]:
                cell.fill = OVER
        if a.is_day_off(day.day):
            ws.cell(row=ws.max_row, column=1).fill = DAY_OFF  # the date, always
            _shade_day_off(ws, ws.max_row, 8)
    ws.append(
        [
            "Итого",
            f"дней с заявкой: {len(plan.planned_days)}",
            None,
            _number(plan.plan_total),
            _number(plan.fact_total),
            _number(plan.deviation),
            _number(plan.percent),
            plan.hours_over,
        ]
    )
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    _day_off_legend(ws, ws.max_row + 2)
    for row in ws.iter_rows(min_row=3, min_col=4, max_col=7):
        for cell in row:
            cell.number_format = NUMBER
    for col, width in zip("ABCDEFGH", (12, 16, 8, 14, 14, 18, 14, 12), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "B3"


def _plan_hours(ws: Worksheet, a: Analysis) -> None:
    _header(
        ws,
        1,
        [
            "Дата",
            "Час",
            "План, кВт·ч",
            "Факт, кВт·ч",
            "Отклонение, кВт·ч",
            "Отклонение, %",
            "Сверх порога",
        ],
    )
    for day in a.plan.planned_days:
        for h in day.hours:
            ws.append(
                [
                    f"{day.day:%d.%m.%Y}",
                    hour_title(h.hour),
                    _number(h.plan),
                    _number(h.fact),
                    _number(h.deviation),
                    _number(h.percent),
                    "да" if h.is_over else "",
                ]
            )
            if h.is_over:
                for cell in ws[ws.max_row]:
                    cell.fill = OVER
            if a.is_day_off(day.day):
                ws.cell(row=ws.max_row, column=1).fill = DAY_OFF
                _shade_day_off(ws, ws.max_row, 7)
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=6):
        for cell in row:
            cell.number_format = NUMBER
    for col, width in zip("ABCDEFG", (12, 14, 14, 14, 18, 14, 12), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:G{max(ws.max_row, 1)}"


def _peaks(ws: Worksheet, a: Analysis, units: str) -> None:
    peaks = a.peaks
    power = units.replace("·ч", "")
    ws["A1"] = f"Плановые часы пиковой нагрузки, {month_title(a.month)}"
    ws["A1"].font = Font(bold=True)
    _header(
        ws, 2, ["Дата", "Час", f"Потребление, {units} (= средняя мощность, {power})"]
    )
    for day, hours in sorted(peaks.hours.items()):
        for hour in hours:
            ws.append(
                [
                    f"{day:%d.%m.%Y}",
                    hour_title(hour),
                    _number(peaks.values.get((day, hour))),
                ]
            )
            if a.is_day_off(day):
                _shade_day_off(ws, ws.max_row, 3)
    ws.append([])
    for label, value in (
        ("Плановых часов", peaks.count),
        ("Из них с данными", peaks.with_data),
        (
            f"Средняя мощность в плановые часы пиковой нагрузки, {power}",
            _number(peaks.average),
        ),
        (f"Наибольшая, {power}", _number(peaks.maximum)),
    ):
        ws.append([label, None, value])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    for row in ws.iter_rows(min_row=3, min_col=3, max_col=3):
        for cell in row:
            cell.number_format = NUMBER
    for col, width in (("A", 40), ("B", 14), ("C", 36)):
        ws.column_dimensions[col].width = width


# -- the control measurement's form ----------------------------------------------------


def build_control_form(sheet: ControlSheet) -> bytes:
    """The form of a contract's control day: a row per meter (object, meter,
    point), 24 hour columns to fill (the submitted values, if any), a total;
    only the hour cells are unprotected."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = CONTROL_SHEET
    contract = sheet.contract
    ws["A1"] = (
        f"Контрольный замер по договору № {contract.number} за {sheet.date.day:%d.%m.%Y}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"], ws["B2"] = "Договор", contract.number
    ws["A3"], ws["B3"] = "Дата замера", f"{sheet.date.day:%d.%m.%Y}"
    for cell in (ws["A2"], ws["A3"]):
        cell.font = Font(bold=True)
    ws["D2"] = (
        "Заполните почасовое потребление каждого счётчика в кВт·ч (число не меньше 0, "
        "до трёх знаков после запятой; час «00:00–01:00» — первый час суток по "
        "московскому времени). Строку счётчика без замера оставьте пустой."
    )
    ws["D2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("D2:P4")
    titles = ["Объект", "Уровень напряжения", COL_METER, "Точка измерений"]
    first_hour = len(titles) + 1
    _header(
        ws,
        CONTROL_HEADER_ROW,
        [*titles, *[hour_title(h) for h in range(HOURS)], "Итого"],
    )
    dv = DataValidation(
        type="decimal",
        operator="between",
        formula1="0",
        formula2="1000000",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Значение",
        error="Число от 0 до 1 000 000 кВт·ч.",
    )
    ws.add_data_validation(dv)
    for i, row in enumerate(sheet.rows):
        r = CONTROL_HEADER_ROW + 1 + i
        for col, value in enumerate(
            (
                xml_safe(row.object.name),
                VOLTAGE_TITLES[row.object.voltage],
                row.meter.number,
                row.point_code,
            ),
            start=1,
        ):
            ws.cell(row=r, column=col, value=value).border = BORDER
        for h in range(HOURS):
            cell = ws.cell(row=r, column=first_hour + h, value=_number(row.hours[h]))
            cell.number_format = "0.000"
            cell.protection = Protection(locked=False)
            cell.fill = INPUT
            cell.border = BORDER
            dv.add(cell)
        a, b = get_column_letter(first_hour), get_column_letter(first_hour + HOURS - 1)
        total = ws.cell(row=r, column=first_hour + HOURS, value=f"=SUM({a}{r}:{b}{r})")
        total.font = Font(bold=True)
        total.number_format = "0.000"
    widths = {1: 30, 2: 12, 3: 14, 4: 22}
    for col in range(1, first_hour + HOURS + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, 12)
    ws.freeze_panes = ws.cell(row=CONTROL_HEADER_ROW + 1, column=first_hour)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    return _save(wb)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%d.%m.%Y}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _canon(value: str) -> str:
    return re.sub(r"[^a-zа-я0-9№]+", " ", value.lower().replace("ё", "е")).strip()


def _refused(message: str) -> ImportFailed:
    return ImportFailed([ImportProblem(0, "", message)])


def parse_control_form(
    filename: str,
    data: bytes,
    *,
    contract_number: str,
    day: dt.date,
    meters: dict[str, uuid.UUID],
) -> dict[uuid.UUID, list[Decimal]]:
    """The values of a filled form: meter → 24 kWh. All or nothing.

    :raises ImportFailed: the file is not this contract's form of this day,
        or rows are amiss (each named: «строка 8, столбец «05:00–06:00»:
        ожидается число, например 120,5»).
    """
    try:
        numbered = read_form_sheet(
            data,
            sheet=CONTROL_SHEET,
            header_row=CONTROL_HEADER_ROW,
            max_rows=len(meters) + 50,
            max_bytes=MAX_FILE_BYTES,
            too_big="Файл больше 2 МБ: загрузите форму контрольного замера.",
            hint="загрузите форму, скачанную по кнопке «Скачать форму Excel»",
        )
    except WorkbookRefused as exc:
        raise _refused(exc.message) from None
    return _control_values(numbered, contract_number, day, meters)


def _control_values(
    numbered: list[tuple[int, list[Any]]],
    contract_number: str,
    day: dt.date,
    meters: dict[str, uuid.UUID],
) -> dict[uuid.UUID, list[Decimal]]:
    rows = dict(numbered)
    meta: dict[str, str] = {}
    for n in range(1, CONTROL_HEADER_ROW):
        cells = rows.get(n) or []
        if len(cells) > 1:
            meta[_canon(_text(cells[0]))] = _text(cells[1])
    if meta.get("договор") and meta["договор"] != contract_number:
        raise _refused(
            f"Файл заполнен для договора № {meta['договор'][:50]}, а открыт договор "
            f"№ {contract_number}."
        )
    if meta.get("дата замера") and meta["дата замера"] != f"{day:%d.%m.%Y}":
        raise _refused(
            f"Файл заполнен за {meta['дата замера'][:20]}, а выбран замер за "
            f"{day:%d.%m.%Y}: скачайте форму этого дня."
        )
    header = [_canon(_text(c)) for c in rows.get(CONTROL_HEADER_ROW, [])]
    if _canon(COL_METER) not in header:
        raise _refused(
            f"На листе «{CONTROL_SHEET}» не найден столбец «{COL_METER}»: скачайте "
            "форму заново."
        )
    meter_col = header.index(_canon(COL_METER))
    hour_cols = []
    for h in range(HOURS):
        name = _canon(hour_title(h))
        if name not in header:
            raise _refused(
                f"На листе «{CONTROL_SHEET}» нет столбца «{hour_title(h)}»: скачайте "
                "форму заново."
            )
        hour_cols.append(header.index(name))
    body = []
    for number, cells in numbered:
        if number <= CONTROL_HEADER_ROW:
            continue
        padded = cells + [None] * (max(hour_cols) + 1 - len(cells))
        body.append(
            (
                number,
                _text(padded[meter_col]) if meter_col < len(padded) else "",
                [padded[c] for c in hour_cols],
            )
        )
    values, problems = parse_control_rows(body, meters)
    if problems:
        raise ImportFailed([ImportProblem(r, c, m) for r, c, m in problems])
    if not values:
        raise _refused("В файле не заполнен ни один счётчик.")
    return values


# -- the supplier's export -----------------------------------------------------------


def export_control_list(
    rows: Sequence[ControlListRow], *, day: dt.date, numbers: dict[uuid.UUID, str]
) -> bytes:
    """Two sheets: «Сводка» (a contract per row, submitted or not) and
    «Значения» (a meter per row with its 24 hours)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Сводка"
    ws.append([f"Контрольный замер за {day:%d.%m.%Y}"])
    ws["A1"].font = Font(bold=True, size=13)
    _header(
        ws,
        2,
        [
            "Договор",
            "Организация",
            "Статус",
            "Передан",
            "Способ",
            "Версия",
            "Счётчиков",
            "Итого, кВт·ч",
        ],
    )
    sources = {"excel": "файл Excel", "hourly": "из почасовых данных", "demo": "демо"}
    values = wb.create_sheet("Значения")
    _header(
        values,
        1,
        [
            "Договор",
            "Организация",
            "Счётчик №",
            *[hour_title(h) for h in range(HOURS)],
            "Итого, кВт·ч",
        ],
    )
    for row in rows:
        m = row.measurement
        contract = row.contract
        ws.append(
            [
                contract.number,
                xml_safe(contract.organisation.name),
                "Передан" if m else "Не передан",
                f"{m.submitted_at:%d.%m.%Y %H:%M}" if m else "",
                sources.get(m.source, m.source) if m else "",
                m.version if m else None,
                len(m.rows) if m else None,
                _number(row.total),
            ]
        )
        for value_row in m.rows if m else []:
            hours = [_number(Decimal(v)) if v else None for v in value_row.hours]
            values.append(
                [
                    contract.number,
                    xml_safe(contract.organisation.name),
                    numbers.get(value_row.meter_id, ""),
                    *hours,
                    sum(h for h in hours if h is not None),
                ]
            )
    for col, width in zip("ABCDEFGH", (16, 34, 12, 18, 20, 8, 10, 16), strict=True):
        ws.column_dimensions[col].width = width
    values.column_dimensions["A"].width = 16
    values.column_dimensions["B"].width = 34
    ws.freeze_panes = "B3"
    values.freeze_panes = "D2"
    return _save(wb)
