"""The daily profile's averages count the days the tables shade as days off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from docflow.readings import hourly_analysis as ha

NOV = dt.date(2026, 11, 1)
MON, TUE, WED, SAT = (dt.date(2026, 11, d) for d in (2, 3, 4, 7))


def _grid() -> ha.Grid:
    """Monday 10 kWh, Tuesday 20, Wednesday 60 (a holiday, say), Saturday 4,
    every hour."""
    values = {MON: 10, TUE: 20, WED: 60, SAT: 4}
    return ha.Grid(
        month=NOV,
        cells={(d, h): Decimal(v) for d, v in values.items() for h in range(24)},
    )


def test_without_days_off_the_working_days_are_monday_to_friday() -> None:
    profile = ha.daily_profile(_grid(), MON)
    assert (profile.workday_count, profile.weekend_count) == (3, 1)
    assert profile.workdays[0] == Decimal(30)  # (10 + 20 + 60) / 3
    assert profile.weekends[0] == Decimal(4)


def test_an_unticked_weekday_counts_as_a_day_off() -> None:
    # The supplier set peak hours for Monday and Tuesday only: Wednesday is off.
    off = ha.days_off(NOV, {MON: [10], TUE: [10]})
    assert WED in off and SAT in off and MON not in off
    profile = ha.daily_profile(_grid(), MON, off)
    assert (profile.workday_count, profile.weekend_count) == (2, 2)
    assert profile.workdays[0] == Decimal(15)  # (10 + 20) / 2
    assert profile.weekends[0] == Decimal(32)  # (60 + 4) / 2
