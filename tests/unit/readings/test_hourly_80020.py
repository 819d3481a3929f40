"""The streaming 80020 reader against the reader it replaced
(:mod:`tests.unit.readings.hourly_80020_reference`): the same hours, values,
statuses, names and errors, file by file — real-shaped files (windows-1251, a
sender and areas with INN, half-hours with statuses, several points and
channels) and broken ones; and what the new reader refuses that the old one
let through to the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from docflow.readings import hourly_formats as fmt
from docflow.readings.hourly_models import Channel
from tests.unit.readings import hourly_80020_reference as old

DAY = dt.date(2026, 11, 3)


def half_hours(i: int, *, last: str = "0000") -> tuple[str, str]:
    start = f"{i // 2:02d}{30 * (i % 2):02d}"
    end = f"{((i + 1) // 2) % 24:02d}{30 * ((i + 1) % 2):02d}"
    return start, (last if i == 47 else end)


def period(i: int, value: str, status: str = "0", **kw: str) -> str:
    start, end = kw.get("span") or half_hours(i, last=kw.get("last", "0000"))
    status_attr = "" if status is None else f' status="{status}"'
    return (
        f'      <period start="{start}" end="{end}" summer="0">\n'
        f"        <value{status_attr}>{value}</value>\n"
        "      </period>"
    )


def channel(code: str, periods: list[str]) -> str:
    body = "\n".join(periods)
    return f'    <measuringchannel code="{code}" desc="канал {code}">\n{body}\n    </measuringchannel>'


def point(code: str, name: str, channels: list[str]) -> str:
    body = "\n".join(channels)
    return (
        f'  <measuringpoint code="{code}" name="{name}">\n{body}\n  </measuringpoint>'
    )


def message(
    points: list[str], *, day: dt.date = DAY, areas: int = 1, encoding: str = "cp1251"
) -> bytes:
    """Shaped as the market operator's files are: windows-1251, a sender and
    areas with their INN, points with their channels."""
    per_area = max(1, -(-len(points) // areas))
    area_xml = []
    for a in range(areas):
        chunk = "\n".join(points[a * per_area : (a + 1) * per_area])
        area_xml.append(
            f'<area timezone="1">\n  <inn>770123456{a}</inn>\n  <name>Площадка {a}</name>\n'
            f"{chunk}\n</area>"
        )
    areas_xml = "\n".join(area_xml)
    declared = "windows-1251" if encoding == "cp1251" else encoding
    xml = f"""<?xml version="1.0" encoding="{declared}"?>
<message class="80020" version="2" number="17">
  <datetime>
    <timestamp>{day:%Y%m%d}235959</timestamp>
    <daylightsavingtime>0</daylightsavingtime>
    <day>{day:%Y%m%d}</day>
  </datetime>
  <sender>
    <inn>7701234567</inn>
    <name>ООО «Ромашка»</name>
  </sender>
{areas_xml}
</message>
"""
    return xml.encode(encoding)


def regular(code: str, values: Callable[[int], str], statuses: dict[int, str]) -> str:
    return channel(
        code, [period(i, values(i), statuses.get(i, "0")) for i in range(48)]
    )


def real_file() -> bytes:
    """Three points, four channels, statuses on some half-hours, integer,
    decimal and comma values, two areas."""
    return message(
        [
            point(
                "770000000000000101",
                "Цех, ввод 1 (ТП-12)",
                [
                    regular("01", lambda i: f"{100 + i}", {3: "1"}),
                    regular("03", lambda i: f"{i}.{i % 10}25", {10: "2", 11: "5"}),
                ],
            ),
            point(
                "770000000000000102",
                "Склад",
                [
                    regular("01", lambda i: f"{i * 3},5", {}),
                    regular("02", lambda i: "0", {}),
                    regular("04", lambda i: f"{i}.0001", {47: "3"}),
                ],
            ),
            point(
                "770000000000000103",
                "Котельная «Север»",
                [regular("01", lambda i: f"{999999 - i}.9999", {0: "12"})],
            ),
        ],
        areas=2,
    )


def irregular_file() -> bytes:
    """Readable, but not the common shape: whole-hour periods, a «2400» end,
    a comment and a CDATA value, a value padded with spaces, a missing status,
    periods out of order — the element-by-element path, no error."""
    whole = channel(
        "01",
        [
            period(0, "40", span=(f"{h:02d}00", f"{(h + 1) % 24:02d}00"))
            for h in range(24)
        ],
    )
    ends_2400 = channel("01", [period(i, "1.5", last="2400") for i in range(48)])
    odd = [period(i, f"{i}") for i in range(48)]
    odd[5] = odd[5].replace("<value", "<!-- снято вручную --><value")
    odd[6] = odd[6].replace(">6<", "><![CDATA[6.5]]><")
    odd[7] = odd[7].replace(">7<", ">  7,25 <")
    odd[8] = odd[8].replace(' status="0"', "")
    odd[9], odd[10] = odd[10], odd[9]
    return message(
        [
            point("P-1", "Целые часы", [whole]),
            point("P-2", "До 24:00", [ends_2400]),
            point("P-3", "Всякое", [channel("01", odd)]),
        ]
    )


def broken_file() -> bytes:
    """Errors of every kind the reader names by line and point."""
    bad_value = [period(i, "abc" if i == 4 else "1") for i in range(48)]
    bad_span = [period(i, "1") for i in range(48)]
    bad_span[7] = period(7, "1", span=("0330", "0415"))
    bad_status = [period(i, "1", "x1" if i == 2 else "0") for i in range(48)]
    missing = [period(i, "1") for i in range(47)]
    negative = [period(i, "-1" if i == 0 else "2") for i in range(48)]
    return message(
        [
            point("B-1", "Значение", [channel("01", bad_value)]),
            point("B-2", "Интервал", [channel("01", bad_span)]),
            point("B-3", "Статус", [channel("03", bad_status)]),
            point("B-4", "Получас", [channel("01", missing)]),
            point("B-5", "Канал", [channel("99", missing)]),
            point("", "Без кода", [channel("01", missing)]),
            point("B-6", "Минус", [channel("02", negative)]),
        ]
    )


def duplicate_file() -> bytes:
    ch = regular("01", lambda i: "1", {})
    return message([point("D-1", "Раз", [ch]), point("D-1", "Два", [ch])])


def benchmark_file() -> bytes:
    """The benchmark's shape: many points, one channel, as write_80020 makes it."""
    profile = [round(20 + 15 * ((i * 7919) % 100) / 100, 1) for i in range(48)]
    return fmt.write_80020(
        DAY, ((f"77{i:016d}", f"Точка {i}", {Channel.AP: profile}) for i in range(200))
    )


def _rows(parsed: Any) -> list[tuple[Any, ...]]:
    """Point, channel, day, hour, value, status (the name is the file's
    point name: ``names``)."""
    return [tuple(r)[:6] for r in parsed.rows]


def _errors(parsed: Any) -> list[tuple[Any, ...]]:
    return [(e.file, e.row, e.point, e.message) for e in parsed.errors]


@pytest.mark.parametrize(
    "make",
    [real_file, irregular_file, broken_file, duplicate_file, benchmark_file],
)
def test_same_hours_values_statuses_and_errors_as_the_old_reader(
    make: Callable[[], bytes],
) -> None:
    data = make()
    before = old.parse_80020("80020.xml", data)
    after = fmt.parse_80020("80020.xml", data)
    assert _rows(after) == _rows(before)
    assert _errors(after) == _errors(before)
    assert after.names == before.names
    assert after.count == len(before.rows)


def test_real_file_reads_every_half_hour_and_status() -> None:
    parsed = fmt.parse_80020("80020.xml", real_file())
    assert not parsed.errors and parsed.unique
    rows = parsed.rows
    assert len(rows) == 6 * 24
    first = [
        r for r in rows if r.point == "770000000000000101" and r.channel == Channel.AP
    ]
    assert first[1].value == Decimal(102 + 103) and first[1].status == 1
    comma = [
        r for r in rows if r.point == "770000000000000102" and r.channel == Channel.AP
    ]
    assert comma[1].value == Decimal("6.5") + Decimal("9.5")
    worst = [
        r for r in rows if r.point == "770000000000000101" and r.channel == Channel.RP
    ]
    assert worst[5].status == 5  # the worse of 2 and 5
    assert parsed.names["770000000000000103"] == "Котельная «Север»"
    # The 80020 reader keeps a channel's day as one series, values as text.
    assert all(len(s.hours) == 24 for s in parsed.series)
    assert parsed.series[0].values[0] == "201"


def test_irregular_shapes_read_alike() -> None:
    parsed = fmt.parse_80020("80020.xml", irregular_file())
    assert not parsed.errors
    by_point = {(r.point, r.hour): r for r in parsed.rows}
    assert by_point[("P-1", 5)].value == 40
    assert by_point[("P-2", 23)].value == 3
    assert by_point[("P-3", 3)].value == Decimal("6.5") + Decimal("7.25")


def test_duplicate_point_is_left_to_the_loader() -> None:
    parsed = fmt.parse_80020("80020.xml", duplicate_file())
    assert not parsed.unique and not parsed.errors and parsed.count == 48


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "y">]><message class="80020"/>',
        b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "http://evil.example/x.dtd">'
        b'<message class="80020"/>',
        b'<?xml version="1.0"?><!doctype m [<!entity a "aaaa"><!entity b "&a;&a;&a;">]>'
        b'<message class="80020">&b;</message>',
        '<?xml version="1.0" encoding="utf-16"?><message class="80020"/>'.encode(
            "utf-16"
        ),
        b'<message class="80020" version="2"><area>&undefined;</area></message>',
        b"<a>" * 10000,
        b'<message class="80020" version="2"><datetime><day>20261103</day>',
        b'<message class="80021" version="2"/>',
        b'<message class="80020" version="3"/>',
        b"<root><message class='80020'/></root>",
    ],
)
def test_refused_whole(payload: bytes) -> None:
    for reader in (fmt.parse_80020, old.parse_80020):
        with pytest.raises((fmt.FileRefused, old.FileRefused)):
            reader("evil.xml", payload)


def test_no_date_no_area() -> None:
    no_day = real_file().replace(b"<day>20261103</day>", b"<day>2026-11-03</day>")
    parsed = fmt.parse_80020("a.xml", no_day)
    assert [e.message for e in parsed.errors] == [
        "нет даты в <datetime><day> или она неверна («2026-11-03»)"
    ]
    no_area = b'<message class="80020" version="2"><datetime><day>20261103</day></datetime></message>'
    assert "нет ни одной <area>" in str(fmt.parse_80020("b.xml", no_area).errors[0])


def test_date_after_the_points_is_still_the_files_date() -> None:
    data = real_file()
    head, rest = data.split(b"  <datetime>", 1)
    dates, tail = rest.split(b"  </datetime>\n", 1)
    moved = head + tail.replace(
        b"</message>", b"  <datetime>" + dates + b"  </datetime>\n</message>"
    )
    parsed = fmt.parse_80020("a.xml", moved)
    assert not parsed.errors and {r.day for r in parsed.rows} == {DAY}
    assert _rows(parsed) == _rows(fmt.parse_80020("a.xml", data))


def test_an_hour_above_the_column_is_an_error_not_a_database_failure() -> None:
    """Two half-hours of 999 999 999 999 each: the old reader let the sum
    through to numeric(16,4), where it failed the whole request."""
    big = channel("01", [period(i, "999999999999") for i in range(48)])
    parsed = fmt.parse_80020("a.xml", message([point("BIG", "", [big])]))
    assert parsed.errors and "больше 999 999 999 999" in parsed.errors[0].message


def test_a_unicode_digit_status_is_an_error_not_a_crash() -> None:
    odd = channel("01", [period(i, "1", "²" if i == 0 else "0") for i in range(48)])
    parsed = fmt.parse_80020(
        "a.xml", message([point("U", "", [odd])], encoding="utf-8")
    )
    assert "неверный статус" in parsed.errors[0].message
    csv_text = "Точка;Канал;Дата;Час;Значение;Статус\nX;A+;03.11.2026;²;1;²\n"
    errors = fmt.parse_csv("a.csv", csv_text.encode()).errors
    assert "час должен быть от 0 до 23" in errors[0].message


def test_rows_round_trip_through_series() -> None:
    rows = [
        fmt.HourRow("A", Channel.AP, DAY, 5, Decimal("1.2500")),
        fmt.HourRow("A", Channel.AP, DAY, 3, Decimal("1E+3")),
        fmt.HourRow("A", Channel.RP, DAY, 3, Decimal("0"), 2),
    ]
    parsed = fmt.Parsed("csv")
    parsed.add_rows(rows)
    assert [(s.point, s.channel, list(s.hours)) for s in parsed.series] == [
        ("A", Channel.AP, [5, 3]),
        ("A", Channel.RP, [3]),
    ]
    assert parsed.series[0].values[1] == "1000"  # never «1E+3» for the database
    assert [r[:6] for r in parsed.rows] == [r[:6] for r in rows]
