"""Files of hourly values: the wholesale market's XML 80020, the Excel form
(days × 24 hours per point and channel) and CSV — read into hourly rows, with
per-row errors. No Flask, no database: the loader decides what to keep.

Every reader returns a :class:`Parsed`; a file with any error is taken not at
all (the caller checks ``errors`` before loading anything).

Hours are local (Moscow) time: hour 0 is 00:00–01:00. The 80020 file's
half-hours are summed to hours; the hour's status is the worst (highest) of
its half-hours' statuses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from docflow.readings.hourly_models import CHANNEL_CODES, CHANNEL_TITLES, Channel

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 200
MAX_CSV_ROWS = 200_000
MAX_VALUE = Decimal("999999999999")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMAT_TITLES = {"80020": "XML 80020", "xlsx": "Excel", "csv": "CSV"}
CSV_HEADERS = ("Точка", "Канал", "Дата", "Час", "Значение", "Статус")
SHEET_TITLE = "Почасовые объёмы"
XLSX_HEADER_ROW = 6


class HourRow(NamedTuple):
    point: str
    channel: Channel
    day: dt.date
    hour: int
    value: Decimal
    status: int = 0
    name: str = ""


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    point: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "point": self.point,
            "message": self.message,
            "text": str(self),
        }

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.row:
            where.append(f"строка {self.row}")
        if self.point:
            where.append(f"точка {self.point}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass
class Parsed:
    file_format: str
    rows: list[HourRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # point code → name
    unique: bool = False  # no hour twice, known by construction (the fast 80020 path)

    def error(self, file: str, row: int, point: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(file, row, point, message))


class FileRefused(ValueError):  # noqa: N818 - a refusal of the whole file
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"PK") or name.endswith(".xlsx"):
        return "xlsx"
    if head.startswith(b"<") or name.endswith(".xml"):
        return "80020"
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise FileRefused("Загрузите файл XML 80020, Excel (.xlsx) или CSV.")


def parse_file(filename: str, data: bytes) -> Parsed:
    """Any of the three formats, by the file's name and first bytes.

    :raises FileRefused: the file is not one of them or is unreadable whole.
    """
    if not data:
        raise FileRefused("Файл пуст.")
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(
            f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ: разделите его на части."
        )
    kind = detect_format(filename, data)
    if kind == "xlsx":
        return parse_xlsx(filename, data)
    if kind == "80020":
        return parse_80020(filename, data)
    return parse_csv(filename, data)


def channel_of(text: str) -> Channel | None:
    cleaned = str(text or "").strip().upper().replace("−", "-").replace("–", "-")
    cleaned = cleaned.replace("А", "A")  # a Cyrillic А typed for the Latin one
    if cleaned in CHANNEL_CODES:
        return CHANNEL_CODES[cleaned]
    try:
        return Channel(cleaned)
    except ValueError:
        return None


def _number(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        raw = repr(raw) if isinstance(raw, float) else str(raw)
    text = (
        str(raw or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    )
    if not text or len(text) > 30:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        return None
    return value.quantize(Decimal("0.0001"))


# -- XML 80020 -----------------------------------------------------------------------

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_STATUS = re.compile(r"\d{1,3}\Z")
_PLAIN = re.compile(r"\d{1,12}(?:[.,]\d{1,4})?\Z")


def _period_table() -> dict[tuple[str, str], tuple[int, int]]:
    """(start, end) → (hour, half-hours): the half-hours and whole hours of a day."""
    table: dict[tuple[str, str], tuple[int, int]] = {}
    for hour in range(24):
        nxt = f"{hour + 1:02d}00" if hour < 23 else "0000"
        table[(f"{hour:02d}00", f"{hour:02d}30")] = (hour, 1)
        table[(f"{hour:02d}30", nxt)] = (hour, 1)
        table[(f"{hour:02d}00", nxt)] = (hour, 2)
    for start, halves in (("2330", 1), ("2300", 2)):
        table[(start, "2400")] = (23, halves)
    return table


_PERIODS = _period_table()


def _check_safe(data: bytes) -> None:
    """Refuse what a hardened parser would still have to think about: a
    DOCTYPE or ENTITY (entity expansion, external entities), and an encoding
    in which those words would not be seen as bytes (UTF-16/32)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:1000]:
        raise FileRefused(
            "Файл XML в кодировке UTF-16/32 не принимается: "
            "сохраните его в windows-1251 или UTF-8."
        )
    if _FORBIDDEN.search(data):
        raise FileRefused(
            "Файл XML содержит DOCTYPE или ENTITY: такие файлы не принимаются."
        )


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_80020(filename: str, data: bytes) -> Parsed:
    """An 80020 message (version 2): a day of one area's points; the file's
    own encoding declaration (windows-1251 as a rule) is honoured."""
    from lxml import etree

    _check_safe(data)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise FileRefused(f"Файл не читается как XML: {str(exc)[:200]}") from None
    if root.getroottree().docinfo.doctype:
        raise FileRefused("Файл XML содержит DOCTYPE: такие файлы не принимаются.")
    if root.tag != "message" or root.get("class") != "80020":
        raise FileRefused('Это не макет 80020: нет <message class="80020">.')
    if root.get("version") not in ("2", None):
        raise FileRefused(
            f"Версия макета 80020 «{root.get('version')[:10]}» не "
            "поддерживается (нужна 2)."
        )
    parsed = Parsed("80020")
    day_text = (root.findtext("datetime/day") or "").strip()
    try:
        day = dt.datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError:
        parsed.error(
            filename,
            root.sourceline or 0,
            "",
            f"нет даты в <datetime><day> или она неверна («{day_text[:20]}»)",
        )
        return parsed
    areas = root.findall("area")
    if not areas:
        parsed.error(filename, root.sourceline or 0, "", "в файле нет ни одной <area>")
    if areas and _fast_document(parsed, root, day):
        return parsed
    for area in areas:
        for point in area.findall("measuringpoint"):
            _read_point(parsed, filename, day, point)
    return parsed


_CHANNEL_PATH = "area/measuringpoint/measuringchannel"
_X_DOC: dict[str, Any] = {}


def _fast_document(parsed: Parsed, root: Any, day: dt.date) -> bool:
    """A well-formed file in one pass: each attribute list fetched by one XPath
    over the whole document, then summed per hour. False, leaving ``parsed``
    as it was, at the first irregularity: the element-by-element reader then
    names the problem by its line."""
    if not _X_DOC:
        for key, path in (
            ("start", "period/@start"),
            ("end", "period/@end"),
            ("value", "period/value/text()"),
            ("status", "period/value/@status"),
        ):
            _X_DOC[key] = _xpath(f"{_CHANNEL_PATH}/{path}")
        _X_DOC["children"] = _xpath(f"count({_CHANNEL_PATH}/*)")
        _X_DOC["values"] = _xpath(f"count({_CHANNEL_PATH}/period/value)")
    layout: list[tuple[str, Channel, int]] = []
    names: dict[str, str] = {}
    for point in root.iterfind("area/measuringpoint"):
        code = (point.get("code") or "").strip()
        if not code or len(code) > 30 or code in names:
            return False
        names[code] = (point.get("name") or "").strip()[:300]
        for channel_el in point.iterfind("measuringchannel"):
            channel = channel_of(channel_el.get("code") or "")
            if channel is None:
                return False
            layout.append((code, channel, len(channel_el)))
    starts, ends = _X_DOC["start"](root), _X_DOC["end"](root)
    values, statuses = _X_DOC["value"](root), _X_DOC["status"](root)
    total = sum(n for _, _, n in layout)
    if not (
        total
        == len(starts)
        == len(ends)
        == len(values)
        == len(statuses)
        == int(_X_DOC["children"](root))
        == int(_X_DOC["values"](root))
    ):
        return False
    rows: list[HourRow] = []
    seen: set[tuple[str, Channel]] = set()
    periods, plain, status_ok = _PERIODS, _PLAIN.match, _STATUS.match
    at = 0
    for code, channel, n in layout:
        hours: dict[int, list[Any]] = {}
        for i in range(at, at + n):
            slot = periods.get((starts[i], ends[i]))
            raw, status_text = values[i], statuses[i]
            if slot is None:
                return False
            if raw.isdigit() and len(raw) <= 12:
                value: Any = int(raw)
            elif plain(raw):
                value = Decimal(raw.replace(",", "."))
            else:
                return False
            if status_text == "0":
                status = 0
            elif status_ok(status_text):
                status = int(status_text)
            else:
                return False
            acc = hours.get(slot[0])
            if acc is None:
                hours[slot[0]] = [value, slot[1], status]
            else:
                acc[0] += value
                acc[1] += slot[1]
                if status > acc[2]:
                    acc[2] = status
        at += n
        name = names[code]
        for hour, (sum_, count, worst) in sorted(hours.items()):
            if count != 2:
                return False
            rows.append(HourRow(code, channel, day, hour, Decimal(sum_), worst, name))
        if (code, channel) in seen:
            return False
        seen.add((code, channel))
    parsed.rows.extend(rows)
    parsed.unique = True
    parsed.names.update(names)
    return True


def _read_point(parsed: Parsed, filename: str, day: dt.date, point: Any) -> None:
    code = (point.get("code") or "").strip()
    line = point.sourceline or 0
    if not code or len(code) > 30:
        parsed.error(
            filename,
            line,
            code[:30],
            "у точки измерений нет кода (атрибут code) или он длиннее 30 знаков",
        )
        return
    parsed.names[code] = (point.get("name") or "").strip()[:300]
    for channel_el in point.findall("measuringchannel"):
        channel = channel_of(channel_el.get("code") or "")
        cline = channel_el.sourceline or line
        if channel is None:
            parsed.error(
                filename,
                cline,
                code,
                f"неизвестный канал «{(channel_el.get('code') or '')[:10]}»",
            )
            continue
        # hour → [sum, half-hours, worst status]
        hours: dict[int, list[Any]] = {}
        if _fast_channel(channel_el, hours):
            _hour_rows(parsed, filename, cline, code, channel, day, hours)
            continue
        hours.clear()
        for period in channel_el.iterchildren("period"):
            start, end = period.get("start") or "", period.get("end") or ""
            slot = _PERIODS.get((start, end))
            if slot is None:
                parsed.error(
                    filename,
                    period.sourceline or cline,
                    code,
                    f"неверный интервал «{start[:4]}–{end[:4]}»",
                )
                continue
            value_el = period.find("value")
            raw = value_el.text if value_el is not None else None
            value = (
                Decimal(raw.replace(",", "."))
                if raw is not None and _PLAIN.match(raw)
                else _number(raw)
            )
            if value is None:
                parsed.error(
                    filename,
                    period.sourceline or cline,
                    code,
                    "значение не число или отрицательное",
                )
                continue
            status_text = value_el.get("status") or "0"
            if status_text == "0":
                status = 0
            elif status_text.strip().isdigit() and len(status_text.strip()) <= 3:
                status = int(status_text)
            else:
                parsed.error(
                    filename,
                    period.sourceline or cline,
                    code,
                    f"неверный статус «{status_text[:5]}»",
                )
                continue
            hour, halves = slot
            acc = hours.get(hour)
            if acc is None:
                hours[hour] = [value, halves, status]
            else:
                acc[0] += value
                acc[1] += halves
                if status > acc[2]:
                    acc[2] = status
        _hour_rows(parsed, filename, cline, code, channel, day, hours)


def _hour_rows(
    parsed: Parsed,
    filename: str,
    line: int,
    code: str,
    channel: Channel,
    day: dt.date,
    hours: dict[int, list[Any]],
) -> None:
    name = parsed.names.get(code, "")
    for hour, (total, count, worst) in sorted(hours.items()):
        if count != 2:
            parsed.error(
                filename,
                line,
                code,
                f"канал {CHANNEL_TITLES[channel]}: в часе "
                f"{hour:02d}:00 {count} получасов вместо двух",
            )
            continue
        parsed.rows.append(HourRow(code, channel, day, hour, total, worst, name))


def _xpath(path: str) -> Any:
    from lxml import etree

    return etree.XPath(path, smart_strings=False)


_X_START = _X_END = _X_VALUE = _X_STATUS = _X_COUNT = None


def _fast_channel(channel_el: Any, hours: dict[int, list[Any]]) -> bool:
    """The common case in a few XPath calls: every period has its start, end,
    one value with text and a status, all plain. False (nothing decided) on
    anything else: the element-by-element reader then names the problem."""
    global _X_START, _X_END, _X_VALUE, _X_STATUS, _X_COUNT  # noqa: PLW0603
    if _X_START is None:
        _X_START, _X_END = _xpath("period/@start"), _xpath("period/@end")
        _X_VALUE, _X_STATUS = (
            _xpath("period/value/text()"),
            _xpath("period/value/@status"),
        )
        _X_COUNT = _xpath("count(period/value)")
    starts, ends = _X_START(channel_el), _X_END(channel_el)
    values, statuses = _X_VALUE(channel_el), _X_STATUS(channel_el)
    n = len(starts)
    if not (
        n == len(ends) == len(values) == len(statuses) == int(_X_COUNT(channel_el))
    ):
        return False
    if len(channel_el) != n:
        return False
    for start, end, raw, status_text in zip(
        starts, ends, values, statuses, strict=True
    ):
        slot = _PERIODS.get((start, end))
        if slot is None or not _PLAIN.match(raw) or not _STATUS.match(status_text):
            return False
        value = Decimal(raw.replace(",", "."))
        status = int(status_text)
        hour, halves = slot
        acc = hours.get(hour)
        if acc is None:
            hours[hour] = [value, halves, status]
        else:
            acc[0] += value
            acc[1] += halves
            if status > acc[2]:
                acc[2] = status
    return True


def write_80020(
    day: dt.date,
    points: Iterable[tuple[str, str, dict[Channel, Sequence[Any]]]],
    *,
    sender: str = "docflow",
    inn: str = "0000000000",
    number: int = 1,
) -> bytes:
    """An 80020 file of one day: ``points`` are (code, name, {channel: 48
    half-hour values}). Used by the benchmark, the demo and the tests."""
    out = [
        '<?xml version="1.0" encoding="windows-1251"?>',
        f'<message class="80020" version="2" number="{number}">',
        f"<datetime><timestamp>{day:%Y%m%d}120000</timestamp><daylightsavingtime>0"
        f"</daylightsavingtime><day>{day:%Y%m%d}</day></datetime>",
        f"<sender><inn>{inn}</inn><name>{_esc(sender)}</name></sender>",
        f"<area><inn>{inn}</inn><name>{_esc(sender)}</name>",
    ]
    codes = {v: k for k, v in CHANNEL_CODES.items()}
    for code, name, channels in points:
        out.append(f'<measuringpoint code="{_esc(code)}" name="{_esc(name)}">')
        for channel, values in channels.items():
            out.append(
                f'<measuringchannel code="{codes[channel]}" desc="{channel.value}">'
            )
            for i, value in enumerate(values):
                start = f"{i // 2:02d}{30 * (i % 2):02d}"
                j = i + 1
                end = f"{(j // 2) % 24:02d}{30 * (j % 2):02d}"
                out.append(
                    f'<period start="{start}" end="{end}">'
                    f'<value status="0">{value}</value></period>'
                )
            out.append("</measuringchannel>")
        out.append("</measuringpoint>")
    out.append("</area></message>")
    return "\n".join(out).encode("cp1251", errors="replace")


def _esc(text: str) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace(">", "&gt;")
    )


# -- CSV -----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused("Неизвестная кодировка файла CSV.")


def _date(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw or "").strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_csv(filename: str, data: bytes) -> Parsed:
    """Long CSV: «Точка;Канал;Дата;Час;Значение[;Статус]», a row per hour
    (hour 0–23; «;», «,» or tab as the delimiter)."""
    text = _decode(data)
    if "\x00" in text:
        raise FileRefused("Это не текстовый файл CSV.")
    first = text.split("\n", 1)[0]
    delimiter = max(";\t,", key=first.count) if first else ";"
    parsed = Parsed("csv")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [c.strip().lower() for c in next(reader, [])]
        wanted = [h.lower() for h in CSV_HEADERS[:5]]
        if header[:5] != wanted:
            raise FileRefused("Первая строка CSV должна быть: " + ";".join(CSV_HEADERS))
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if number > MAX_CSV_ROWS + 1:
                raise FileRefused(
                    f"В файле больше {MAX_CSV_ROWS} строк: разделите его."
                )
            _csv_row(parsed, filename, number, cells)
    except csv.Error as exc:
        raise FileRefused(f"Ошибка формата CSV: {str(exc)[:200]}") from None
    return parsed


def _csv_row(parsed: Parsed, filename: str, number: int, cells: list[str]) -> None:
    cells = [*cells, "", "", "", "", "", ""]
    point = cells[0].strip()
    if not point or len(point) > 30 or not point.isprintable():
        parsed.error(filename, number, point[:30], "нет кода точки или он неверен")
        return
    channel = channel_of(cells[1])
    day = _date(cells[2])
    hour_text = cells[3].strip()
    value = _number(cells[4])
    status_text = cells[5].strip() or "0"
    if channel is None:
        parsed.error(filename, number, point, f"неизвестный канал «{cells[1][:10]}»")
    elif day is None:
        parsed.error(filename, number, point, f"неверная дата «{cells[2][:20]}»")
    elif not hour_text.isdigit() or int(hour_text) > 23:
        parsed.error(
            filename,
            number,
            point,
            f"час должен быть от 0 до 23, а не «{hour_text[:10]}»",
        )
    elif value is None:
        parsed.error(filename, number, point, "значение не число или отрицательное")
    elif not status_text.isdigit() or len(status_text) > 3:
        parsed.error(filename, number, point, f"неверный статус «{status_text[:5]}»")
    else:
        parsed.rows.append(
            HourRow(point, channel, day, int(hour_text), value, int(status_text))
        )


def write_csv(rows: Iterable[HourRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for r in rows:
        writer.writerow(
            [
                r.point,
                r.channel.value,
                r.day.strftime("%d.%m.%Y"),
                r.hour,
                format(r.value.normalize(), "f"),
                r.status,
            ]
        )
    return out.getvalue().encode("utf-8-sig")


# -- Excel ---------------------------------------------------------------------------


def _month_days(month: dt.date) -> list[dt.date]:
    first = month.replace(day=1)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=i) for i in range((nxt - first).days)]


def write_xlsx(
    month: dt.date,
    sheets: Sequence[tuple[str, str, Channel]],
    values: dict[tuple[str, Channel, dt.date, int], Decimal] | None = None,
) -> bytes:
    """The Excel form: a sheet per (point code, point name, channel), a row
    per day of ``month`` and a column per hour; ``values`` fill it in."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    values = values or {}
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for index, (code, name, channel) in enumerate(sheets or [("", "", Channel.AP)], 1):
        sheet = book.create_sheet(
            f"{index} {code}"[:31].replace(":", " ").replace("/", " ")
        )
        sheet["A1"] = SHEET_TITLE
        sheet["A1"].font = Font(bold=True, size=13)
        sheet["A2"], sheet["B2"] = "Точка измерений", code
        sheet["A3"], sheet["B3"] = "Наименование", name
        sheet["A4"], sheet["B4"] = "Канал", channel.value
        sheet["A5"], sheet["B5"] = "Месяц", month.strftime("%m.%Y")
        for cell in ("A2", "A3", "A4", "A5"):
            sheet[cell].font = bold
        header = ["Дата"] + [f"{h:02d}–{h + 1:02d}" for h in range(24)]
        for col, title in enumerate(header, 1):
            cell = sheet.cell(row=XLSX_HEADER_ROW, column=col, value=title)
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center")
        for r, day in enumerate(_month_days(month), XLSX_HEADER_ROW + 1):
            sheet.cell(row=r, column=1, value=day.strftime("%d.%m.%Y"))
            for h in range(24):
                v = values.get((code, channel, day, h))
                if v is not None:
                    sheet.cell(row=r, column=h + 2, value=float(v))
        sheet.column_dimensions["A"].width = 16
        sheet.column_dimensions["B"].width = 12
        sheet.freeze_panes = sheet.cell(row=XLSX_HEADER_ROW + 1, column=2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parse_xlsx(filename: str, data: bytes) -> Parsed:
    from openpyxl import load_workbook

    from docflow.spreadsheets import WorkbookRefused, check_xlsx_archive, sheet_rows

    parsed = Parsed("xlsx")
    try:
        check_xlsx_archive(data)
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookRefused as exc:
        raise FileRefused(exc.message) from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileRefused(
            f"Файл не читается как Excel (.xlsx): {type(exc).__name__}"
        ) from None
    try:
        for sheet in book.worksheets[:400]:
            rows = dict(sheet_rows(sheet, first_rows=XLSX_HEADER_ROW, max_rows=40))
            _xlsx_sheet(parsed, f"{filename}, лист «{sheet.title}»", rows)
    except WorkbookRefused as exc:
        raise FileRefused(exc.message) from None
    finally:
        book.close()
    if not parsed.rows and not parsed.errors:
        parsed.error(filename, 0, "", "в файле нет ни одного значения")
    return parsed


def _cell(rows: dict[int, list[Any]], row: int, col: int) -> Any:
    cells = rows.get(row, [])
    return cells[col] if col < len(cells) else None


def _xlsx_sheet(parsed: Parsed, where: str, rows: dict[int, list[Any]]) -> None:
    code = str(_cell(rows, 2, 1) or "").strip()
    channel = channel_of(str(_cell(rows, 4, 1) or ""))
    if not code:
        if any(n > XLSX_HEADER_ROW for n in rows):
            parsed.error(where, 2, "", "не указана точка измерений (ячейка B2)")
        return
    if channel is None:
        parsed.error(where, 4, code, "не указан канал (ячейка B4: A+, A-, R+ или R-)")
        return
    parsed.names[code] = str(_cell(rows, 3, 1) or "").strip()[:300]
    for number in sorted(n for n in rows if n > XLSX_HEADER_ROW):
        cells = rows[number]
        day = _date(cells[0] if cells else None)
        if day is None:
            parsed.error(where, number, code, f"неверная дата «{str(cells[0])[:20]}»")
            continue
        for h in range(24):
            raw = cells[h + 1] if h + 1 < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            value = _number(raw)
            if value is None:
                parsed.error(
                    where,
                    number,
                    code,
                    f"час {h:02d}–{h + 1:02d}: "
                    f"«{str(raw)[:20]}» не число или отрицательное",
                )
                continue
            parsed.rows.append(
                HourRow(code, channel, day, h, value, 0, parsed.names[code])
            )
