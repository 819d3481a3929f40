"""The arithmetic of readings on hand-checked cases: values, rollover,
ratios, transit, missing readings, the window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from docflow.readings import calc
from docflow.readings.calc import MeterInput, ObjectInput, ReadingValueError

MSK = calc.MSK


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=MSK)


# -- values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("124000", 124000),
        (" 00124 000 ", 124000),
        ("0", 0),
        (124000, 124000),
        (124000.0, 124000),
        (Decimal("77"), 77),
        ("125,0", 125),
        ("125.", 125),
    ],
)
def test_parse_value_accepts_whole_numbers(raw: object, expected: int) -> None:
    assert calc.parse_value(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("абв", "не число"),
        ("12a", "не число"),
        ("", "введите показание"),
        ("-5", "показание не может быть отрицательным"),
        (True, "не число"),
        ("125,5", "показание вводится целым числом, без дробной части"),
        (12.5, "показание вводится целым числом, без дробной части"),
    ],
)
def test_parse_value_refuses_with_a_clear_message(raw: object, message: str) -> None:
    with pytest.raises(ReadingValueError) as err:
        calc.parse_value(raw)
    assert err.value.message == message


def test_value_with_more_digits_than_the_meter_is_refused() -> None:
    with pytest.raises(
        ReadingValueError, match="больше знаков, чем у счётчика: 9 при значности 8"
    ):
        calc.check_value("123456789", digits=8, previous=None)
    # Leading zeros are the register's own: 00123456 fits eight digits.
    assert calc.check_value("00123456", digits=8, previous=None).value == 123456


def test_value_not_lower_than_previous_is_taken_with_its_consumption() -> None:
    checked = calc.check_value("124000", digits=8, previous=123456)
    assert (checked.value, checked.is_rollover, checked.consumption) == (
        124000,
        False,
        544,
    )


def test_plausible_rollover_is_accepted_and_explained() -> None:
    # 999 900 → 000 150 on six digits: 250 units through zero, well under 10 %.
    checked = calc.check_value("150", digits=6, previous=999_900, average=Decimal(200))
    assert checked.is_rollover and checked.consumption == 250
    assert "переход счётчика через ноль" in checked.note
    assert "999900" in checked.note


def test_lower_value_that_would_be_a_huge_rollover_is_refused() -> None:
    # 500 000 → 400 000 on six digits would mean 900 000 units: a typo, not a rollover.
    with pytest.raises(ReadingValueError, match="меньше предыдущего показания 500000"):
        calc.check_value("400000", digits=6, previous=500_000)


def test_rollover_beyond_three_monthly_averages_is_refused() -> None:
    # 99 000 → 500 on five digits is 1 500 units: under 10 % of 100 000, but the
    # meter has advanced 300 a month: five months in one is not plausible.
    with pytest.raises(ReadingValueError, match="маловероятен"):
        calc.check_value("500", digits=5, previous=99_000, average=Decimal(300))
    assert calc.check_value(
        "500", digits=5, previous=99_000, average=Decimal(600)
    ).is_rollover
    # Without history only the range rule applies.
    assert calc.check_value("500", digits=5, previous=99_000).is_rollover


def test_average_monthly_spans_gaps_and_rollovers() -> None:
    history = [
        (dt.date(2026, 1, 1), 999_800),
        (dt.date(2026, 2, 1), 100),
        (dt.date(2026, 4, 1), 700),
    ]
    # 300 in one month, then 600 over two: 900 / 3.
    assert calc.average_monthly(history, 6) == Decimal(300)
    assert calc.average_monthly(history[:1], 6) is None


# -- the preliminary consumption -------------------------------------------------------


def test_calculation_with_ratio_rollover_transit_and_missing_readings() -> None:
    objects = [
        ObjectInput(
            "a",
            "Цех",
            [
                MeterInput(
                    "m1", "0001", 8, 40, previous=123_456, current=124_000
                ),  # 544×40
                MeterInput(
                    "m2", "0002", 6, 1, previous=999_900, current=150
                ),  # 250 через ноль
                MeterInput(
                    "m3", "0003", 6, 60, previous=None, current=500
                ),  # no previous
            ],
            transit=Decimal(1_000),
        ),
        ObjectInput(
            "b",
            "Склад",
            [
                MeterInput(
                    "m4", "0004", 5, 120, previous=10, current=None
                ),  # no current
                MeterInput("m5", "0005", 5, 120, previous=10, current=10),  # zero load
            ],
        ),
    ]
    result = calc.calculate(objects)
    cex, sklad = result.objects
    assert [m.consumption for m in cex.meters] == [Decimal(21_760), Decimal(250), None]
    assert cex.meters[1].is_rollover and cex.meters[1].difference == 250
    assert cex.meters_total == Decimal(22_010)
    assert cex.total == Decimal(21_010)  # minus transit
    assert sklad.total == Decimal(0) and sklad.meters[1].consumption == Decimal(0)
    assert result.total == Decimal(21_010)
    assert not result.is_complete
    assert result.messages == [
        "Цех, счётчик № 0003: нет предыдущего показания — расход по нему не посчитан.",
        "Склад, счётчик № 0004: нет текущего показания — расход по нему не посчитан.",
    ]


def test_transit_is_not_subtracted_from_an_object_nothing_was_counted_for() -> None:
    result = calc.calculate(
        [
            ObjectInput(
                "a",
                "Цех",
                [MeterInput("m1", "0001", 8, 40, previous=100, current=None)],
                transit=Decimal(500),
            )
        ]
    )
    assert result.total == 0
    assert not any("транзитный объём" in m for m in result.messages)
    over = calc.calculate(
        [
            ObjectInput(
                "a",
                "Цех",
                [MeterInput("m1", "0001", 8, 1, previous=100, current=200)],
                transit=Decimal(500),
            )
        ]
    )
    assert over.total == Decimal(-400)
    assert (
        "транзитный объём (500) больше расхода по счётчикам (100)" in over.messages[0]
    )


def test_blocked_meter_is_named_without_asking_for_a_reading() -> None:
    result = calc.calculate(
        [
            ObjectInput(
                "a",
                "Цех",
                [
                    MeterInput(
                        "m1", "0001", 8, 40, previous=100, current=None, can_read=False
                    )
                ],
            )
        ]
    )
    assert "показания не принимаются" in result.messages[0]


def test_consumption_is_decimal_not_float() -> None:
    result = calc.calculate(
        [
            ObjectInput(
                "a",
                "Цех",
                [MeterInput("m1", "0001", 8, 3, previous=1, current=2)],
                transit=Decimal("0.1"),
            )
        ]
    )
    assert result.total == Decimal("2.9")
    assert isinstance(result.total, Decimal)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal(1234567), "1\u00a0234\u00a0567"),
        (Decimal("12.50"), "12,5"),
        (Decimal(-400), "−400"),
        (0, "0"),
        (None, ""),
    ],
)
def test_format_kwh(value: Decimal | None, text: str) -> None:
    assert calc.format_kwh(value) == text


def test_pad_to_the_digit_count() -> None:
    assert calc.pad(123456, 8) == "00123456"
    assert calc.pad(None, 8) == ""


# -- periods and the window ---------------------------------------------------------------


def test_periods() -> None:
    assert calc.period_title(dt.date(2026, 11, 1)) == "ноябрь 2026 г."
    assert calc.add_months(dt.date(2026, 11, 1), 2) == dt.date(2027, 1, 1)
    assert calc.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert calc.parse_period("2026-11") == dt.date(2026, 11, 1)
    assert calc.parse_period("11.2026") == dt.date(2026, 11, 1)
    assert calc.parse_period("2026-13") is None
    assert calc.parse_period("ноябрь") is None
    assert calc.last_day(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)


def test_window_open_from_the_15th_to_the_26th_inclusive() -> None:
    assert not calc.submission_window(at(2026, 11, 14, 23)).is_open
    assert calc.submission_window(at(2026, 11, 15, 0)).is_open
    open_ = calc.submission_window(at(2026, 11, 26, 23))
    assert open_.is_open and open_.period == dt.date(2026, 11, 1)
    assert open_.message.endswith("Приём открыт до 26.11.2026 включительно.")


def test_window_closed_says_when_it_opens() -> None:
    before = calc.submission_window(at(2026, 11, 10))
    assert before.message == (
        "Передача показаний доступна с 15 по 26 число месяца. "
        "Следующее окно откроется 15.11.2026."
    )
    after = calc.submission_window(at(2026, 11, 27))
    assert after.message == (
        "Передача показаний доступна с 15 по 26 число месяца. "
        "Следующее окно откроется 15.12.2026."
    )
    december = calc.submission_window(at(2026, 12, 30))
    assert december.opens_on == dt.date(2027, 1, 15)


def test_window_is_judged_in_moscow_time() -> None:
    # 21:30 UTC on the 26th is already the 27th in Moscow (UTC+3).
    late = dt.datetime(2026, 11, 26, 21, 30, tzinfo=dt.UTC)
    assert not calc.submission_window(late).is_open
    early = dt.datetime(2026, 11, 14, 21, 30, tzinfo=dt.UTC)
    assert calc.submission_window(early).is_open


def test_window_configurable_and_clamped_to_the_month() -> None:
    feb = calc.submission_window(at(2026, 2, 28), start_day=20, end_day=31)
    assert feb.is_open and feb.closes_on == dt.date(2026, 2, 28)


def test_calibration_warning_and_expiry() -> None:
    today = dt.date(2026, 11, 20)
    assert calc.calibration_due(dt.date(2027, 1, 19), today)
    assert not calc.calibration_due(dt.date(2027, 1, 20), today)
    assert calc.calibration_expired(dt.date(2026, 11, 19), today)
    assert not calc.calibration_expired(None, today)
