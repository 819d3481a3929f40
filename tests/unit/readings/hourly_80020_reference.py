"""The 80020 reader as it was before the streaming rewrite (docflow commit
8bd10fa, ``docflow/readings/hourly_formats.py``): the oracle the new reader is
compared with, file by file. Test code only; nothing imports it but the tests.
"""

# ruff: noqa

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from docflow.readings.hourly_models import CHANNEL_CODES, CHANNEL_TITLES, Channel

MAX_ERRORS = 200
MAX_VALUE = Decimal("999999999999")


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
