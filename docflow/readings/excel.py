"""Excel: the customer's readings form (template and upload) and the supplier's
load of objects, meters and transit volumes (Excel or CSV).

Both take a file whole or not at all: every row is checked first, and a
problem named by its row (as Excel numbers them) and column refuses the file.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.contracts.models import Contract
from docflow.readings import calc
from docflow.readings.models import (
    METER_STATUS_TITLES,
    VOLTAGE_TITLES,
    Meter,
    MeterStatus,
    SupplyObject,
    TransitVolume,
    VoltageLevel,
)
from docflow.spreadsheets import (
    Column,
    ImportFailed,
    ImportProblem,
    Progress,
    Table,
    WorkbookRefused,
    check_xlsx_archive,
    read_table,
    sheet_rows,
    template_xlsx,
)

SHEET = "Показания"
COL_METER = "№ счётчика"
COL_VALUE = "Показание"
FORM_HEADERS = (
    "№ п/п",
    "Объект",
    "Адрес",
    COL_METER,
    "Тип счётчика",
    "Значность",
    "Ктт × Ктн",
    "Предыдущее показание",
    COL_VALUE,
    "Примечание",
)
HEADER_ROW = 5
MAX_FORM_BYTES = 5 * 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message[0].upper() + self.message[1:]
        where = f"Строка {self.row}" + (
            f", столбец «{self.column}»" if self.column else ""
        )
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "message": self.message,
            "text": str(self),
        }


class FormError(Exception):
    """The file is not a readings form at all (not .xlsx, no sheet, no headers)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- the template ------------------------------------------------------------------


@dataclass(frozen=True)
class FormLine:
    object_name: str
    address: str
    meter_number: str
    meter_type: str
    digits: int
    ratio: int
    previous: str  # padded
    value: str  # padded, what is saved already
    blocked: str  # why no value is taken


def build_form(
    *, contract_number: str, period: dt.date, lines: Sequence[FormLine]
) -> bytes:
    """An .xlsx with the contract's meters: every column is protected but
    «Показание», which takes whole numbers of at most the meter's digits."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws["A1"] = (
        f"Показания приборов учёта по договору № {contract_number} за "
        f"{calc.period_title(period)}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"], ws["B2"] = "Договор", contract_number
    ws["A3"], ws["B3"] = "Период", f"{period:%m.%Y}"
    for cell in (ws["A2"], ws["A3"]):
        cell.font = Font(bold=True)
    ws["D2"] = (
        "Заполните столбец «Показание» (целое число, не больше значности счётчика) "
        "и загрузите файл в личном кабинете. Остальные столбцы защищены."
    )
    ws["D2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("D2:J3")
    thin = Side(style="thin", color="8A96A8")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="E8EDF3")
    input_fill = PatternFill("solid", fgColor="FFF7D6")
    for col, title in enumerate(FORM_HEADERS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.border = border
        cell.alignment = Alignment(
            horizontal="center", vertical="center", wrap_text=True
        )
    value_col = FORM_HEADERS.index(COL_VALUE) + 1
    validations: dict[int, DataValidation] = {}
    for i, line in enumerate(lines, start=1):
        r = HEADER_ROW + i
        current = int(line.value) if line.value and not line.blocked else None
        values = [
            i,
            line.object_name,
            line.address,
            line.meter_number,
            line.meter_type,
            line.digits,
            line.ratio,
            line.previous,
            current,
            line.blocked,
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.border = border
            if col in (4, 8):
                cell.number_format = "@"  # text: leading zeros stay
        cell = ws.cell(row=r, column=value_col)
        if not line.blocked:
            cell.protection = Protection(locked=False)
            cell.fill = input_fill
            dv = validations.get(line.digits)
            if dv is None:
                dv = DataValidation(
                    type="whole",
                    operator="between",
                    formula1="0",
                    formula2=str(10**line.digits - 1),
                    allow_blank=True,
                    showErrorMessage=True,
                    errorTitle="Показание",
                    error=f"Целое число, не больше {line.digits} цифр.",
                    showInputMessage=True,
                    promptTitle="Показание",
                    prompt=f"Целое число, до {line.digits} цифр.",
                )
                validations[line.digits] = dv
                ws.add_data_validation(dv)
            dv.add(cell)
    for col, width in enumerate((6, 30, 34, 16, 24, 10, 10, 16, 16, 34), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[HEADER_ROW].height = 32
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- reading an uploaded form ---------------------------------------------------------


@dataclass(frozen=True)
class FormRow:
    row: int
    meter_number: str
    value: object


@dataclass
class ParsedForm:
    contract_number: str
    period: dt.date | None
    rows: list[FormRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _canon(text: str) -> str:
    return re.sub(r"[^a-zа-я0-9№]+", " ", text.lower().replace("ё", "е")).strip()


def parse_form(filename: str, data: bytes) -> ParsedForm:
    """The meter numbers and values of an uploaded form.

    :raises FormError: not an .xlsx, no sheet «Показания», or no header row with
        «№ счётчика» and «Показание».
    """
    name = filename.lower()
    if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormError(
            "Формат .xls (Excel 97–2003) не поддерживается: сохраните файл как "
            "книгу Excel (.xlsx) или скачайте шаблон заново."
        )
    if not data.startswith(b"PK"):
        raise FormError(
            f"Файл «{filename}» не является книгой Excel (.xlsx): загрузите "
            "шаблон, скачанный по кнопке «Скачать шаблон», с заполненными "
            "показаниями."
        )
    broken = FormError(
        f"Файл «{filename}» повреждён или не является книгой Excel (.xlsx)."
    )
    try:
        check_xlsx_archive(data)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookRefused as exc:
        raise FormError(exc.message) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, IndexError):
        raise broken from None
    try:
        if SHEET not in wb.sheetnames:
            raise FormError(
                f"В файле нет листа «{SHEET}»: загрузите шаблон, скачанный по "
                "кнопке «Скачать шаблон», не переименовывая лист."
            )
        numbered = sheet_rows(wb[SHEET], first_rows=HEADER_ROW)
    except WorkbookRefused as exc:
        raise FormError(exc.message) from None
    except FormError:
        raise
    except Exception:  # noqa: BLE001 - a malformed sheet fails in many ways
        raise broken from None
    finally:
        wb.close()
    # The rows as the sheet numbers them, blank ones included: the form's
    # heading is found by its position. ``sheet_rows`` bounds their number.
    by_number = dict(numbered)
    last = max(by_number, default=0)
    rows = [by_number.get(number, []) for number in range(1, last + 1)]
    header_at, meter_col, value_col = 0, -1, -1
    for number, cells in enumerate(rows[:15], start=1):
        canon = [_canon(_text(c)) for c in cells]
        if _canon(COL_METER) in canon and _canon(COL_VALUE) in canon:
            header_at = number
            meter_col, value_col = (
                canon.index(_canon(COL_METER)),
                canon.index(_canon(COL_VALUE)),
            )
            break
    if not header_at:
        raise FormError(
            f"На листе «{SHEET}» не найдены заголовки столбцов «{COL_METER}» и "
            f"«{COL_VALUE}»: скачайте шаблон заново."
        )
    contract_number, period = "", None
    for cells in rows[: header_at - 1]:
        label = _canon(_text(cells[0] if cells else ""))
        value = _text(cells[1]) if len(cells) > 1 else ""
        if label == "договор":
            contract_number = value
        elif label == "период":
            period = calc.parse_period(value)
    parsed = ParsedForm(contract_number, period)
    for number, cells in enumerate(rows[header_at:], start=header_at + 1):
        meter = _text(cells[meter_col]) if meter_col < len(cells) else ""
        value = cells[value_col] if value_col < len(cells) else None
        if value is None or not _text(value):
            continue  # a meter without a value: nothing to take from this row
        if not meter:
            parsed.problems.append(
                RowProblem(number, COL_METER, "не указан номер счётчика")
            )
            continue
        parsed.rows.append(FormRow(number, meter, value))
    return parsed


# -- the supplier's load of objects and meters -------------------------------------------

METER_COLUMNS: tuple[Column, ...] = (
    Column("contract", "Номер договора", ("договор", "договора"), required=True),
    Column("object_code", "Код объекта", ("код", "объект код"), required=True),
    Column(
        "object_name",
        "Объект",
        ("наименование объекта", "название объекта"),
        required=True,
    ),
    Column("address", "Адрес объекта", ("адрес",)),
    Column(
        "voltage",
        "Уровень напряжения",
        ("напряжение", "уровень напряжения вн сн 1 сн 2 нн", "уровень"),
        required=True,
    ),
    Column(
        "meter",
        "№ счётчика",
        ("номер счетчика", "номер пу", "№ пу", "заводской номер", "счетчик"),
        required=True,
    ),
    Column("meter_type", "Тип счётчика", ("тип пу", "тип", "модель"), required=True),
    Column("digits", "Значность", ("разрядность", "число разрядов"), required=True),
    Column(
        "ratio",
        "Коэффициент трансформации",
        ("ктт ктн", "коэффициент", "расчетный коэффициент", "ктт х ктн"),
    ),
    Column("status", "Статус", ("состояние", "статус пу")),
    Column(
        "calibration",
        "Дата следующей поверки",
        ("следующая поверка", "дата поверки", "поверка до", "очередная поверка"),
    ),
)

TRANSIT_COLUMNS: tuple[Column, ...] = (
    Column("contract", "Номер договора", ("договор", "договора"), required=True),
    Column("object_code", "Код объекта", ("код",), required=True),
    Column("period", "Период", ("месяц", "расчетный период"), required=True),
    Column(
        "consumer",
        "Транзитный потребитель",
        ("потребитель", "субабонент"),
        required=True,
    ),
    Column(
        "kwh",
        "Объём, кВт·ч",
        ("объем", "объем квт ч", "объем квтч", "расход"),
        required=True,
    ),
)

_VOLTAGES = {
    "вн": VoltageLevel.VN,
    "сн 1": VoltageLevel.SN1,
    "сн1": VoltageLevel.SN1,
    "сн i": VoltageLevel.SN1,
    "сн 2": VoltageLevel.SN2,
    "сн2": VoltageLevel.SN2,
    "сн ii": VoltageLevel.SN2,
    "нн": VoltageLevel.NN,
}
_STATUSES = {
    "": MeterStatus.WORKING,
    "исправен": MeterStatus.WORKING,
    "работает": MeterStatus.WORKING,
    "рабочий": MeterStatus.WORKING,
    "не исправен": MeterStatus.FAULTY,
    "неисправен": MeterStatus.FAULTY,
    "истек срок мпи": MeterStatus.CALIBRATION_EXPIRED,
    "истек мпи": MeterStatus.CALIBRATION_EXPIRED,
}


def _map(
    table: Table, columns: Sequence[Column]
) -> tuple[dict[str, int], list[ImportProblem]]:
    canon = [_canon(h) for h in table.header]
    index: dict[str, int] = {}
    for column in columns:
        wanted = {_canon(column.title), *(_canon(a) for a in column.aliases)}
        for i, head in enumerate(canon):
            if head and head in wanted and i not in index.values():
                index[column.key] = i
                break
    missing = [
        ImportProblem(1, c.title, "в файле нет такого столбца")
        for c in columns
        if c.required and c.key not in index
    ]
    return index, missing


class _Cells:
    def __init__(
        self,
        number: int,
        cells: list[Any],
        index: dict[str, int],
        columns: Sequence[Column],
        problems: list[ImportProblem],
    ) -> None:
        self.number, self._cells, self._index, self._problems = (
            number,
            cells,
            index,
            problems,
        )
        self._titles = {c.key: c.title for c in columns}

    def raw(self, key: str) -> Any:
        i = self._index.get(key)
        return self._cells[i] if i is not None and i < len(self._cells) else None

    def text(self, key: str) -> str:
        return _text(self.raw(key))

    def problem(self, key: str, message: str) -> None:
        self._problems.append(ImportProblem(self.number, self._titles[key], message))

    def required(self, key: str, what: str, max_len: int) -> str:
        value = self.text(key)
        if not value:
            self.problem(key, f"укажите {what}")
        elif len(value) > max_len:
            self.problem(key, f"не длиннее {max_len} символов")
        return value[:max_len]

    def integer(
        self, key: str, low: int, high: int, default: int | None = None
    ) -> int | None:
        text = re.sub(r"\s", "", self.text(key))
        if not text and default is not None:
            return default
        if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
            self.problem(
                key, f"ожидается целое число от {low} до {high}, а не «{text}»"
            )
            return None
        return int(text)

    def date(self, key: str) -> dt.date | None:
        value = self.raw(key)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = self.text(key)
        if not text:
            return None
        for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.problem(key, f"дата «{text}» не распознана: укажите её как ДД.ММ.ГГГГ")
        return None


def _rows(
    table: Table, columns: Sequence[Column], problems: list[ImportProblem]
) -> list[_Cells]:
    index, missing = _map(table, columns)
    problems.extend(missing)
    if missing:
        return []
    return [_Cells(n, cells, index, columns, problems) for n, cells in table.rows]


@dataclass(frozen=True)
class MetersImportSummary:
    rows: int
    objects_created: int
    objects_updated: int
    meters_created: int
    meters_updated: int

    def __str__(self) -> str:
        return (
            f"строк: {self.rows}; объектов добавлено: {self.objects_created}, "
            f"обновлено: {self.objects_updated}; счётчиков добавлено: "
            f"{self.meters_created}, обновлено: {self.meters_updated}"
        )


def _contracts(session: Session, numbers: set[str]) -> dict[str, Contract]:
    return {
        c.number.upper(): c
        for c in session.scalars(select(Contract).where(Contract.number.in_(numbers)))
    }


def import_meters(
    session: Session,
    *,
    filename: str,
    data: bytes,
    user: User | None,
    progress: Progress | None = None,
    request_info: RequestInfo | None = None,
) -> MetersImportSummary:
    """Create or update objects (by contract and object code) and meters (by
    contract and meter number) from the supplier's file.

    :raises ImportFailed: any problem; nothing of the file is written then.
    """
    table = read_table(filename, data)
    problems: list[ImportProblem] = []
    parsed: list[dict[str, Any]] = []
    for row in _rows(table, METER_COLUMNS, problems):
        before = len(problems)
        item: dict[str, Any] = {
            "row": row.number,
            "contract": row.required("contract", "номер договора", 50),
            "code": row.required("object_code", "код объекта", 50),
            "name": row.required("object_name", "наименование объекта", 300),
            "address": row.text("address")[:500] or None,
            "meter": row.required("meter", "номер счётчика", 50),
            "meter_type": row.required("meter_type", "тип счётчика", 120),
            "digits": row.integer("digits", calc.MIN_DIGITS, calc.MAX_DIGITS),
            "ratio": row.integer("ratio", 1, 1_000_000, default=1),
            "calibration": row.date("calibration"),
        }
        voltage = _VOLTAGES.get(_canon(row.text("voltage")).replace("-", " "))
        if voltage is None:
            row.problem(
                "voltage",
                f"ожидается ВН, СН-1, СН-2 или НН, а не «{row.text('voltage')}»",
            )
        status = _STATUSES.get(_canon(row.text("status")))
        if status is None:
            row.problem(
                "status",
                "ожидается «Исправен», «Не исправен» или «Истёк срок МПИ», "
                f"а не «{row.text('status')}»",
            )
        item.update(voltage=voltage, status=status)
        if len(problems) == before:
            parsed.append(item)
    contracts = _contracts(session, {p["contract"] for p in parsed})
    seen: dict[tuple[str, str], int] = {}
    objects_seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in parsed:
        key = (item["contract"].upper(), item["meter"].upper())
        if item["contract"].upper() not in contracts:
            problems.append(
                ImportProblem(
                    item["row"],
                    "Номер договора",
                    f"договора «{item['contract']}» нет в базе",
                )
            )
        if key in seen:
            problems.append(
                ImportProblem(
                    item["row"],
                    "№ счётчика",
                    f"счётчик «{item['meter']}» уже есть в строке {seen[key]}",
                )
            )
        seen.setdefault(key, item["row"])
        first = objects_seen.setdefault((item["contract"].upper(), item["code"]), item)
        for attr, title in (("name", "Объект"), ("voltage", "Уровень напряжения")):
            if first[attr] != item[attr]:
                problems.append(
                    ImportProblem(
                        item["row"],
                        title,
                        f"у объекта с кодом «{item['code']}» в строке "
                        f"{first['row']} указано другое значение",
                    )
                )
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.row))

    ids = [c.id for c in contracts.values()]
    objects = {
        (o.contract_id, o.code): o
        for o in session.scalars(
            select(SupplyObject).where(SupplyObject.contract_id.in_(ids))
        )
    }
    meters = {
        (m.contract_id, m.number.upper()): m
        for m in session.scalars(select(Meter).where(Meter.contract_id.in_(ids)))
    }
    counts = {"oc": 0, "ou": 0, "mc": 0, "mu": 0}
    touched: set[Any] = set()
    for done, item in enumerate(parsed, start=1):
        contract = contracts[item["contract"].upper()]
        obj = objects.get((contract.id, item["code"]))
        fields = {
            "name": item["name"],
            "address": item["address"],
            "voltage": item["voltage"],
        }
        if obj is None:
            obj = SupplyObject(
                contract_id=contract.id,
                code=item["code"],
                position=len([o for o in objects if o[0] == contract.id]),
                **fields,
            )
            session.add(obj)
            session.flush()
            objects[(contract.id, item["code"])] = obj
            counts["oc"] += 1
            touched.add(obj.id)
        elif any(getattr(obj, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(obj, k, v)
            if obj.id not in touched:
                counts["ou"] += 1
                touched.add(obj.id)
        meter = meters.get((contract.id, item["meter"].upper()))
        mfields = {
            "object_id": obj.id,
            "meter_type": item["meter_type"],
            "digits": item["digits"],
            "ratio": item["ratio"],
            "status": item["status"],
            "next_calibration": item["calibration"],
        }
        if meter is None:
            meter = Meter(
                contract_id=contract.id, number=item["meter"], position=done, **mfields
            )
            session.add(meter)
            meters[(contract.id, item["meter"].upper())] = meter
            counts["mc"] += 1
        elif any(getattr(meter, k) != v for k, v in mfields.items()):
            for k, v in mfields.items():
                setattr(meter, k, v)
            counts["mu"] += 1
        if progress is not None:
            progress(done, len(parsed))
    session.flush()
    summary = MetersImportSummary(
        len(parsed), counts["oc"], counts["ou"], counts["mc"], counts["mu"]
    )
    record(
        session,
        user=user,
        action="readings.meters_imported",
        object_type="import",
        object_id=filename[:64] or "-",
        details={"filename": filename, "rows": len(parsed), "summary": str(summary)},
        request_info=request_info,
    )
    return summary


@dataclass(frozen=True)
class TransitImportSummary:
    rows: int
    created: int
    updated: int

    def __str__(self) -> str:
        return (
            f"строк: {self.rows}; транзитных объёмов добавлено: {self.created}, "
            f"обновлено: {self.updated}"
        )


def import_transit(
    session: Session,
    *,
    filename: str,
    data: bytes,
    user: User | None,
    progress: Progress | None = None,
    request_info: RequestInfo | None = None,
) -> TransitImportSummary:
    """Transit volumes per object and period, subtracted from its consumption.

    :raises ImportFailed: any problem; nothing of the file is written then.
    """
    table = read_table(filename, data)
    problems: list[ImportProblem] = []
    parsed: list[dict[str, Any]] = []
    for row in _rows(table, TRANSIT_COLUMNS, problems):
        before = len(problems)
        raw_period = row.raw("period")
        period = (
            calc.period_of(
                raw_period.date() if isinstance(raw_period, dt.datetime) else raw_period
            )
            if isinstance(raw_period, dt.date)
            else calc.parse_period(row.text("period"))
        )
        if period is None:
            row.problem(
                "period",
                f"период «{row.text('period')}» не распознан: укажите его как ММ.ГГГГ",
            )
        item = {
            "row": row.number,
            "contract": row.required("contract", "номер договора", 50),
            "code": row.required("object_code", "код объекта", 50),
            "period": period,
            "consumer": row.required("consumer", "транзитного потребителя", 300),
            "kwh": row.integer("kwh", 0, 10**12),
        }
        if len(problems) == before:
            parsed.append(item)
    contracts = _contracts(session, {p["contract"] for p in parsed})
    objects = {
        (o.contract_id, o.code): o
        for o in session.scalars(
            select(SupplyObject).where(
                SupplyObject.contract_id.in_([c.id for c in contracts.values()])
            )
        )
    }
    for item in parsed:
        contract = contracts.get(item["contract"].upper())
        if contract is None:
            problems.append(
                ImportProblem(
                    item["row"],
                    "Номер договора",
                    f"договора «{item['contract']}» нет в базе",
                )
            )
        elif (contract.id, item["code"]) not in objects:
            problems.append(
                ImportProblem(
                    item["row"],
                    "Код объекта",
                    f"объекта «{item['code']}» нет в договоре № {contract.number}",
                )
            )
    if problems:
        raise ImportFailed(sorted(problems, key=lambda p: p.row))
    created = updated = 0
    for done, item in enumerate(parsed, start=1):
        obj = objects[(contracts[item["contract"].upper()].id, item["code"])]
        existing = session.scalar(
            select(TransitVolume).where(
                TransitVolume.object_id == obj.id,
                TransitVolume.period == item["period"],
                TransitVolume.consumer == item["consumer"],
            )
        )
        if existing is None:
            session.add(
                TransitVolume(
                    object_id=obj.id,
                    period=item["period"],
                    consumer=item["consumer"],
                    kwh=item["kwh"],
                )
            )
            created += 1
        elif existing.kwh != item["kwh"]:
            existing.kwh = item["kwh"]
            updated += 1
        if progress is not None:
            progress(done, len(parsed))
    session.flush()
    summary = TransitImportSummary(len(parsed), created, updated)
    record(
        session,
        user=user,
        action="readings.transit_imported",
        object_type="import",
        object_id=filename[:64] or "-",
        details={"filename": filename, "rows": len(parsed), "summary": str(summary)},
        request_info=request_info,
    )
    return summary


def meters_template() -> bytes:
    """The supplier's file layout with example rows (the admin page's link)."""
    example = [
        (
            "77-0001-ЮЛ",
            "ОБ-1",
            "Административный корпус",
            "г. Москва, ул. Энергетиков, д. 7",
            "СН-2",
            "01234567",
            "Меркурий 230 ART-03",
            8,
            40,
            "Исправен",
            "01.03.2031",
        ),
        (
            "77-0001-ЮЛ",
            "ОБ-1",
            "Административный корпус",
            "г. Москва, ул. Энергетиков, д. 7",
            "СН-2",
            "01234568",
            "Меркурий 230 ART-03",
            8,
            40,
            "Не исправен",
            "",
        ),
    ]
    return template_xlsx(METER_COLUMNS, example)


def transit_template() -> bytes:
    return template_xlsx(
        TRANSIT_COLUMNS,
        [("77-0001-ЮЛ", "ОБ-1", "10.2026", "ИП Сидоров (магазин)", 1250)],
    )


def status_title(status: MeterStatus) -> str:
    return METER_STATUS_TITLES[status]


def voltage_title(level: VoltageLevel) -> str:
    return VOLTAGE_TITLES[level]
