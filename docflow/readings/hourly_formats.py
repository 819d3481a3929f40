"""Files of hourly values: the wholesale market's XML 80020, the Excel form
(days × 24 hours per point and channel) and CSV — read into hourly values, with
per-row errors. No Flask, no database: the loader decides what to keep.

Every reader returns a :class:`Parsed`; a file with any error is taken not at
all (the caller checks ``errors`` before loading anything).

Hours are local (Moscow) time: hour 0 is 00:00–01:00. The 80020 file's
half-hours are summed to hours; the hour's status is the worst (highest) of
its half-hours' statuses.

Values travel as :class:`Series` — one point's channel on one day — rather
than as an object per hour: a year of 1,000 points is 8.76 million hours, and
the loader writes them as text (PostgreSQL's COPY), so a value is kept as the
decimal text the database takes. :attr:`Parsed.rows` unrolls the series into
:class:`HourRow` objects where a reader of a small file wants them.
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

from lxml import etree
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from docflow.readings.hourly_models import CHANNEL_CODES, CHANNEL_TITLES, Channel
from docflow.spreadsheets import WorkbookRefused, check_xlsx_archive, sheet_rows

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 200
MAX_CSV_ROWS = 200_000
MAX_VALUE = Decimal("999999999999")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORMAT_TITLES = {"80020": "XML 80020", "xlsx": "Excel", "csv": "CSV"}
#: The media type a kept file is stored and downloaded with, by its format.
CONTENT_TYPES = {"80020": "application/xml", "xlsx": XLSX_TYPE, "csv": "text/csv"}
CSV_HEADERS = ("Точка", "Канал", "Дата", "Час", "Значение", "Статус")
SHEET_TITLE = "Почасовые объёмы"
XLSX_HEADER_ROW = 6
HOURS = tuple(range(24))


class HourRow(NamedTuple):
    point: str
    channel: Channel
    day: dt.date
    hour: int
    value: Decimal
    status: int = 0
    name: str = ""


class Series(NamedTuple):
    """A point's channel on one day: its hours (ascending for the 80020 file,
    as read for the others), their values as decimal text and statuses."""

    point: str
    channel: Channel
    day: dt.date
    hours: Sequence[int]
    values: Sequence[str]
    statuses: Sequence[int]


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
    series: list[Series] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # point code → name
    # No hour twice, known by construction (the 80020 reader): the loader
    # then skips its own check.
    unique: bool = False

    def error(self, file: str, row: int, point: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(file, row, point, message))

    def add_rows(self, rows: Iterable[HourRow]) -> None:
        """The rows of a row-by-row reader (CSV, Excel), grouped into series
        by point, channel and day in the order they came (a repeated hour
        stays repeated: the loader names it)."""
        groups: dict[
            tuple[str, Channel, dt.date], tuple[list[int], list[str], list[int]]
        ] = {}
        for r in rows:
            key = (r.point, r.channel, r.day)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [], [])
            group[0].append(r.hour)
            group[1].append(value_text(r.value))
            group[2].append(r.status)
        for (point, channel, day), (hours, values, statuses) in groups.items():
            self.series.append(Series(point, channel, day, hours, values, statuses))

    @property
    def rows(self) -> list[HourRow]:
        """Every value as a row: the series unrolled (for small files and tests)."""
        return [
            HourRow(
                s.point,
                s.channel,
                s.day,
                h,
                Decimal(v),
                st,
                self.names.get(s.point, ""),
            )
            for s in self.series
            for h, v, st in zip(s.hours, s.values, s.statuses, strict=True)
        ]

    @property
    def count(self) -> int:
        """How many hourly values the file holds."""
        return sum(len(s.hours) for s in self.series)

    @property
    def codes(self) -> set[str]:
        return {s.point for s in self.series}


def value_text(value: Decimal) -> str:
    """A value as the database takes it: plain decimal notation, never «1E+3»."""
    return format(value, "f")


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
_STATUS = re.compile(r"[0-9]{1,3}\Z")
_PLAIN = re.compile(r"\d{1,12}(?:[.,]\d{1,4})?\Z")
#: The 48 values of a regular channel, each on its own line: one match checks them all.
_PLAIN_DAY = re.compile(r"(?:[0-9]{1,12}(?:[.,][0-9]{1,4})?\n){48}\Z")
_HALF_STARTS = [f"{i // 2:02d}{30 * (i % 2):02d}" for i in range(48)]
_HALF_ENDS = [*_HALF_STARTS[1:], "0000"]
_HALF_ENDS_2400 = [*_HALF_STARTS[1:], "2400"]
_ZERO_STATUSES = [0] * 24

#: libxml2 hardened: no entity expansion, no network, no DTD, the default
#: size and depth limits (``huge_tree`` off); comments and processing
#: instructions dropped so that they cannot stand between the elements.
_XML_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


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


def parse_80020(filename: str, data: bytes) -> Parsed:
    """An 80020 message (version 2): a day of one area's points; the file's
    own encoding declaration (windows-1251 as a rule) is honoured.

    The file is read as a stream (``iterparse``): each ``<measuringpoint>`` is
    read when its end tag arrives and then dropped, so memory stays that of
    one point whatever the file's size.
    """
    _check_safe(data)
    reader = _Reader80020(filename)
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        tag=("message", "day", "area", "measuringpoint"),
        **_XML_OPTIONS,
    )
    try:
        for event, element in events:
            reader.feed(event, element)
    except etree.XMLSyntaxError as exc:
        raise FileRefused(f"Файл не читается как XML: {str(exc)[:200]}") from None
    return reader.finish(events.root)


class _Reader80020:
    """The state of one 80020 file read as a stream of element events."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.parsed = Parsed("80020", unique=True)
        self.root: Any = None
        self.day: dt.date | None = None
        self.day_seen = False
        self.areas = 0
        self.waiting: list[Any] = []  # points before the day is known
        self.seen: set[tuple[str, Channel]] = set()

    def feed(self, event: str, element: Any) -> None:
        if self.root is None:
            self.root = element.getroottree().getroot()
            _check_root(self.root)
        parent = element.getparent()
        if event == "start":
            if element.tag == "area" and parent is self.root:
                self.areas += 1
            return
        if element.tag == "day":
            if not self.day_seen and parent is not None and parent.tag == "datetime":
                if parent.getparent() is self.root:
                    self._day(element.text)
        elif element.tag == "measuringpoint":
            if parent is not None and parent.tag == "area":
                if parent.getparent() is self.root:
                    self._point(element)

    def _day(self, text: str | None) -> None:
        self.day_seen = True
        day_text = (text or "").strip()
        try:
            self.day = dt.datetime.strptime(day_text, "%Y%m%d").date()
        except ValueError:
            self._bad_day(day_text)
            return
        for point in self.waiting:
            self._read_point(point, self.day)
        self.waiting.clear()

    def _bad_day(self, day_text: str) -> None:
        self.parsed.error(
            self.filename,
            self.root.sourceline or 0,
            "",
            f"нет даты в <datetime><day> или она неверна («{day_text[:20]}»)",
        )
        self.waiting.clear()

    def _point(self, element: Any) -> None:
        if self.day is not None:
            self._read_point(element, self.day)
            element.clear()
        elif not self.day_seen:
            self.waiting.append(element)  # the date may follow (kept till then)

    def finish(self, root: Any) -> Parsed:
        if self.root is None:  # no element of interest at all: judge the root
            self.root = root
            _check_root(root)
        if root.getroottree().docinfo.doctype:
            raise FileRefused("Файл XML содержит DOCTYPE: такие файлы не принимаются.")
        parsed = self.parsed
        if not self.day_seen:
            self._bad_day("")
        if self.day is None:  # a file without its date is read no further
            return parsed
        if not self.areas:
            parsed.error(
                self.filename, root.sourceline or 0, "", "в файле нет ни одной <area>"
            )
        return parsed

    def _read_point(self, point: Any, day: dt.date) -> None:
        parsed, filename = self.parsed, self.filename
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
        for channel_el in point.iterchildren("measuringchannel"):
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
            if (code, channel) in self.seen:
                parsed.unique = False
            self.seen.add((code, channel))
            series = _regular_channel(code, channel, day, channel_el)
            if series is None:
                series = _read_channel(parsed, filename, code, channel, day, channel_el)
            if series.hours:
                parsed.series.append(series)


def _check_root(root: Any) -> None:
    if root.tag != "message" or root.get("class") != "80020":
        raise FileRefused('Это не макет 80020: нет <message class="80020">.')
    if root.get("version") not in ("2", None):
        raise FileRefused(
            f"Версия макета 80020 «{root.get('version')[:10]}» не "
            "поддерживается (нужна 2)."
        )


def _regular_channel(
    code: str, channel: Channel, day: dt.date, channel_el: Any
) -> Series | None:
    """The common channel — 48 half-hours 00:00–00:30 … 23:30–24:00 in order,
    each with one plain value — read a list at a time, without a Python step
    per half-hour. None (nothing decided) on anything else: the
    element-by-element reader then reads it and names what is wrong."""
    periods = list(channel_el.iterchildren("period"))
    if len(periods) != 48:
        return None
    try:
        value_els = [p[0] for p in periods]
    except IndexError:
        return None
    if [v.tag for v in value_els].count("value") != 48:
        return None
    if [p.get("start") for p in periods] != _HALF_STARTS:
        return None
    ends = [p.get("end") for p in periods]
    if ends != _HALF_ENDS and ends != _HALF_ENDS_2400:
        return None
    texts = [v.text for v in value_els]
    try:
        joined = "\n".join(texts) + "\n"
    except TypeError:  # an empty <value/>
        return None
    if not _PLAIN_DAY.match(joined):
        return None
    if "," in joined:
        texts = [t.replace(",", ".") for t in texts]
    halves = list(map(Decimal, texts))
    sums = [a + b for a, b in zip(halves[0::2], halves[1::2], strict=True)]
    if max(sums) > MAX_VALUE:
        return None
    raw_statuses = [v.get("status") or "0" for v in value_els]
    if raw_statuses.count("0") == 48:
        statuses = _ZERO_STATUSES
    else:
        if not all(map(_STATUS.match, raw_statuses)):
            return None
        numbers = list(map(int, raw_statuses))
        statuses = list(map(max, numbers[0::2], numbers[1::2]))
    return Series(code, channel, day, HOURS, list(map(str, sums)), statuses)


def _read_channel(
    parsed: Parsed,
    filename: str,
    code: str,
    channel: Channel,
    day: dt.date,
    channel_el: Any,
) -> Series:
    """A channel period by period, naming each bad one by its line; the good
    hours are returned (a file with an error is not taken anyway)."""
    cline = channel_el.sourceline or 0
    # hour → [sum, half-hours, worst status]
    hours: dict[int, list[Any]] = {}
    for period in channel_el.iterchildren("period"):
        line = period.sourceline or cline
        start, end = period.get("start") or "", period.get("end") or ""
        slot = _PERIODS.get((start, end))
        if slot is None:
            parsed.error(
                filename, line, code, f"неверный интервал «{start[:4]}–{end[:4]}»"
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
            parsed.error(filename, line, code, "значение не число или отрицательное")
            continue
        status_text = (value_el.get("status") or "0").strip()
        if not _STATUS.match(status_text):
            parsed.error(filename, line, code, f"неверный статус «{status_text[:5]}»")
            continue
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
    kept: tuple[list[int], list[str], list[int]] = ([], [], [])
    for hour, (total, count, worst) in sorted(hours.items()):
        if count != 2:
            parsed.error(
                filename,
                cline,
                code,
                f"канал {CHANNEL_TITLES[channel]}: в часе "
                f"{hour:02d}:00 {count} получасов вместо двух",
            )
        elif total > MAX_VALUE:
            parsed.error(
                filename,
                cline,
                code,
                f"канал {CHANNEL_TITLES[channel]}: значение часа {hour:02d}:00 "
                "больше 999 999 999 999",
            )
        else:
            kept[0].append(hour)
            kept[1].append(value_text(total))
            kept[2].append(worst)
    return Series(code, channel, day, *kept)


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
    rows: list[HourRow] = []
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
            _csv_row(parsed, rows, filename, number, cells)
    except csv.Error as exc:
        raise FileRefused(f"Ошибка формата CSV: {str(exc)[:200]}") from None
    parsed.add_rows(rows)
    return parsed


_HOUR = re.compile(r"[0-9]{1,2}\Z")


def _csv_row(
    parsed: Parsed, rows: list[HourRow], filename: str, number: int, cells: list[str]
) -> None:
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
    elif not _HOUR.match(hour_text) or int(hour_text) > 23:
        parsed.error(
            filename,
            number,
            point,
            f"час должен быть от 0 до 23, а не «{hour_text[:10]}»",
        )
    elif value is None:
        parsed.error(filename, number, point, "значение не число или отрицательное")
    elif not _STATUS.match(status_text):
        parsed.error(filename, number, point, f"неверный статус «{status_text[:5]}»")
    else:
        rows.append(
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
    values: list[HourRow] = []
    try:
        for sheet in book.worksheets[:400]:
            rows = dict(sheet_rows(sheet, first_rows=XLSX_HEADER_ROW, max_rows=40))
            _xlsx_sheet(parsed, values, f"{filename}, лист «{sheet.title}»", rows)
    except WorkbookRefused as exc:
        raise FileRefused(exc.message) from None
    finally:
        book.close()
    parsed.add_rows(values)
    if not parsed.series and not parsed.errors:
        parsed.error(filename, 0, "", "в файле нет ни одного значения")
    return parsed


def _cell(rows: dict[int, list[Any]], row: int, col: int) -> Any:
    cells = rows.get(row, [])
    return cells[col] if col < len(cells) else None


def _xlsx_sheet(
    parsed: Parsed, values: list[HourRow], where: str, rows: dict[int, list[Any]]
) -> None:
    code = str(_cell(rows, 2, 1) or "").strip()
    channel = channel_of(str(_cell(rows, 4, 1) or ""))
    if not code:
        if any(n > XLSX_HEADER_ROW for n in rows):
            parsed.error(where, 2, "", "не указана точка измерений (ячейка B2)")
        return
    if len(code) > 30 or not code.isprintable():
        parsed.error(where, 2, code[:30], "код точки измерений (ячейка B2) неверен")
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
            values.append(HourRow(code, channel, day, h, value, 0, parsed.names[code]))
