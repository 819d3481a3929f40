"""The hourly analysis of a contract's consumption: the daily profile, the
month's heat map of hours, the planned (ППП) against the actual consumption,
the consumption in the supplier's plan peak hours, and the control
measurements of June and December.

The month's figures come from SQL aggregates over the primary key
``(point_id, channel, day, hour, version)`` of ``hourly_values`` (a month of
a point is one range scan; the newest version of each point-hour is
numbered first by ``row_number()``). The month's *grid* — for the chosen
metering points and channel, the sum per day and hour — gives the profile
and the heat map; the peak figures sum the newest values of the peak hours
alone; the plan is compared with the grid of all the contract's points on
channel A+, because a ППП is filed for the contract as a whole.

Flask-free; the functions take the :class:`~docflow.access.Actor` and ask
:mod:`docflow.access` (the hourly page's rights: the view right sees, the
right to submit readings submits; the supplier's people set peak hours and
the control days).

A control measurement uploaded as a form keeps the file in the blob store:
written after every check has passed and registered with
:func:`docflow.db.blobs_of_transaction`, so a refused or rolled back
submission leaves no blob; the file a new submission replaces is deleted
after the commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from docflow.access import (
    Actor,
    Rights,
    accepts_planned,
    hourly_rights,
    require_hourly_upload,
)
from docflow.accounts.models import User
from docflow.audit import record
from docflow.blobrefs import register_blob_source
from docflow.contracts.models import Contract
from docflow.db import blobs_of_transaction, enqueue_after_commit
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError
from docflow.readings.calc import period_title
from docflow.readings.hourly_analysis_models import (
    ControlDay,
    ControlMeasurement,
    ControlValue,
    PeakHour,
)
from docflow.readings.hourly_formats import XLSX_TYPE
from docflow.readings.hourly_models import HourlyPoint, HourlyValue
from docflow.readings.models import Meter, SupplyObject, VoltageLevel
from docflow.readings.planned_models import (
    PlannedRequest,
    PlannedStatus,
    PlannedVersion,
)
from docflow.readings.planned_services import MSK, STATUS_TITLES, parse_hours
from storage import BlobStorage

log = logging.getLogger(__name__)

HOURS = 24
DEFAULT_THRESHOLD = Decimal(5)
#: The deviation thresholds the page offers, per cent.
THRESHOLDS = (Decimal(2), Decimal(5), Decimal(10), Decimal(20))
WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
#: Control measurements are taken in June and in December.
CONTROL_MONTHS = (6, 12)
#: Months «в родительном падеже» for a date written out: «17 июня 2026 г.».
MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
PEAK_REFUSED = (
    "Плановые часы пиковой нагрузки и дни контрольных замеров устанавливают "
    "сотрудники поставщика."
)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def month_days(month: dt.date) -> list[dt.date]:
    first, last = month_bounds(month)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def is_workday(day: dt.date) -> bool:
    """Monday to Friday: the cabinet keeps no calendar of public holidays."""
    return day.weekday() < 5


def days_off(month: dt.date, peaks: dict[dt.date, list[int]]) -> frozenset[dt.date]:
    """The month's Saturdays and Sundays and the weekdays the supplier left
    without plan peak hours once it set the month's hours: peak hours are
    set for every working day (:class:`PeakHour`), and a public holiday is
    the day its staff untick after applying the rule. Without peak hours
    the month has only its weekends off (no calendar of holidays is kept).
    """
    return frozenset(
        d for d in month_days(month) if not is_workday(d) or (peaks and d not in peaks)
    )


def hour_title(hour: int) -> str:
    return f"{hour:02d}:00–{hour + 1:02d}:00"


def day_title(day: dt.date) -> str:
    """«17 июня 2026 г.»"""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def month_title(month: dt.date) -> str:
    """«ноябрь 2026 г.»"""
    return period_title(month)


def format_value(value: Decimal | None, places: int = 1) -> str:
    """«1 234,5»: no-break spaces between thousands, a decimal comma, at most
    ``places`` decimals without trailing zeros; an empty string for no value."""
    if value is None:
        return ""
    shown = f"{value:,.{places}f}".replace(",", "\u00a0").replace(".", ",")
    if "," in shown:
        shown = shown.rstrip("0").rstrip(",")
    return "0" if shown == "-0" else shown.replace("-", "−")


def format_signed(value: Decimal | None, places: int = 1) -> str:
    """A deviation: «+12,5», «−3», «0»."""
    shown = format_value(value, places)
    return "+" + shown if value is not None and value > 0 and shown != "0" else shown


def today_msk(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(MSK).date()


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock(session: Session, key: str) -> None:
    """One writer of ``key`` at a time on PostgreSQL (SQLite writes one at a
    time anyway): two clerks saving a month at once would otherwise both
    insert its rows."""
    if _is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": zlib.crc32(key.encode()) - 2**31},
        )


# -- what is looked at ---------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The page's choice: a month, a channel and, optionally, one object, one
    metering point or one voltage level."""

    month: dt.date
    channel: str = "A+"
    object_id: uuid.UUID | None = None
    point_id: uuid.UUID | None = None
    voltage: VoltageLevel | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.object_id or self.point_id or self.voltage)


@dataclass(frozen=True)
class Scope:
    contract: Contract
    rights: Rights
    objects: list[SupplyObject]
    points: list[HourlyPoint]  # every point of the contract
    chosen: list[HourlyPoint]  # those the filters leave
    filters: Filters

    @property
    def chosen_ids(self) -> list[uuid.UUID]:
        return [p.id for p in self.chosen]

    @property
    def all_ids(self) -> list[uuid.UUID]:
        return [p.id for p in self.points]

    @property
    def is_whole_contract(self) -> bool:
        return len(self.chosen) == len(self.points)


def open_scope(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, filters: Filters
) -> Scope:
    """The contract (with the hourly page's rights), its objects and points,
    and the points the filters choose.

    :raises NotFoundError: the contract is not the actor's to see, or the
        object or point is not of this contract.
    """
    rights = hourly_rights(session, actor, contract_id)
    contract = session.get(Contract, contract_id)
    if contract is None:  # pragma: no cover - hourly_rights answered 404 already
        raise NotFoundError("Договор не найден.")
    objects = list(
        session.scalars(
            select(SupplyObject)
            .where(SupplyObject.contract_id == contract_id)
            .order_by(SupplyObject.position, SupplyObject.name)
        )
    )
    points = list(
        session.scalars(
            select(HourlyPoint)
            .where(HourlyPoint.contract_id == contract_id)
            .order_by(HourlyPoint.code)
        )
    )
    by_object = {o.id: o for o in objects}
    if filters.object_id is not None and filters.object_id not in by_object:
        raise NotFoundError("Объект не найден.")
    if filters.point_id is not None and all(p.id != filters.point_id for p in points):
        raise NotFoundError("Точка измерений не найдена.")

    def fits(point: HourlyPoint) -> bool:
        if filters.point_id is not None and point.id != filters.point_id:
            return False
        if filters.object_id is not None and point.object_id != filters.object_id:
            return False
        if filters.voltage is not None:
            obj = by_object.get(point.object_id) if point.object_id else None
            return obj is not None and obj.voltage == filters.voltage
        return True

    return Scope(
        contract=contract,
        rights=rights,
        objects=objects,
        points=points,
        chosen=[p for p in points if fits(p)],
        filters=filters,
    )


# -- the grid --------------------------------------------------------------------------

_HV = HourlyValue.__table__


def newest_values(
    point_ids: Sequence[uuid.UUID],
    channel: str,
    first: dt.date,
    last: dt.date,
    *,
    peak_hours_only: bool = False,
) -> Select[Any]:
    """(point_id, day, hour, value) of each point-hour's newest version in
    [first, last] (with ``peak_hours_only``, of the plan peak hours alone).

    One range scan of the primary key per point, numbered newest first per
    point-hour with ``row_number()`` (PostgreSQL and SQLite alike): on a
    year of 1,000 points it beat ``max(version)`` joined back and ``NOT
    EXISTS`` a newer one (``benchmarks/hourly_analysis.py``).
    """
    ranked = select(
        _HV.c.point_id,
        _HV.c.day,
        _HV.c.hour,
        _HV.c.value,
        func.row_number()
        .over(
            partition_by=(_HV.c.point_id, _HV.c.day, _HV.c.hour),
            order_by=_HV.c.version.desc(),
        )
        .label("newest"),
    ).where(
        _HV.c.point_id.in_(point_ids),
        _HV.c.channel == channel,
        _HV.c.day.between(first, last),
    )
    if peak_hours_only:
        peak = PeakHour.__table__
        ranked = ranked.join(
            peak, and_(peak.c.day == _HV.c.day, peak.c.hour == _HV.c.hour)
        )
    sub = ranked.subquery("ranked")
    return select(sub.c.point_id, sub.c.day, sub.c.hour, sub.c.value).where(
        sub.c.newest == 1
    )


@dataclass(frozen=True)
class Grid:
    """A month's consumption per day and hour (kWh: an hour's kWh is the
    hour's average power in kW)."""

    month: dt.date
    cells: dict[tuple[dt.date, int], Decimal]

    @property
    def days(self) -> list[dt.date]:
        return month_days(self.month)

    @property
    def is_empty(self) -> bool:
        return not self.cells

    def get(self, day: dt.date, hour: int) -> Decimal | None:
        return self.cells.get((day, hour))

    def day_total(self, day: dt.date) -> Decimal | None:
        values = [v for (d, _h), v in self.cells.items() if d == day]
        return sum(values, Decimal(0)) if values else None

    def day_totals(self) -> dict[dt.date, Decimal]:
        totals: dict[dt.date, Decimal] = defaultdict(Decimal)
        for (day, _hour), value in self.cells.items():
            totals[day] += value
        return dict(totals)

    def hour_totals(self) -> list[Decimal]:
        totals = [Decimal(0)] * HOURS
        for (_day, hour), value in self.cells.items():
            totals[hour] += value
        return totals

    @property
    def total(self) -> Decimal:
        return sum(self.cells.values(), Decimal(0))

    @property
    def maximum(self) -> tuple[dt.date, int, Decimal] | None:
        """The month's largest hour (the earliest of equal ones)."""
        if not self.cells:
            return None
        (day, hour), value = max(
            self.cells.items(), key=lambda kv: (kv[1], -kv[0][0].toordinal(), -kv[0][1])
        )
        return day, hour, value

    @property
    def mean(self) -> Decimal | None:
        """The average of the hours with data: the month's average power, kW."""
        if not self.cells:
            return None
        return self.total / len(self.cells)

    @property
    def days_with_data(self) -> int:
        return len({day for day, _hour in self.cells})


def month_grid(
    session: Session, *, point_ids: Sequence[uuid.UUID], channel: str, month: dt.date
) -> Grid:
    """The month's sum per day and hour over ``point_ids`` (newest versions), in SQL."""
    if not point_ids:
        return Grid(month.replace(day=1), {})
    first, last = month_bounds(month)
    newest = newest_values(point_ids, channel, first, last).subquery("v")
    rows = session.execute(
        select(newest.c.day, newest.c.hour, func.sum(newest.c.value)).group_by(
            newest.c.day, newest.c.hour
        )
    )
    return Grid(
        first, {(day, int(hour)): Decimal(str(total)) for day, hour, total in rows}
    )


# -- the daily profile -------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    day: dt.date | None
    values: list[Decimal | None]  # the day's 24 hours
    workdays: list[Decimal | None]  # the average working day of the month
    weekends: list[Decimal | None]  # the average Saturday or Sunday
    workday_count: int
    weekend_count: int

    @property
    def day_total(self) -> Decimal | None:
        values = [v for v in self.values if v is not None]
        return sum(values, Decimal(0)) if values else None


def _average(grid: Grid, days: list[dt.date]) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for hour in range(HOURS):
        values = [v for d in days if (v := grid.get(d, hour)) is not None]
        out.append(sum(values, Decimal(0)) / len(values) if values else None)
    return out


def default_day(grid: Grid) -> dt.date | None:
    """The day of the month's largest hour: the day worth a look first."""
    top = grid.maximum
    return top[0] if top else None


def daily_profile(
    grid: Grid, day: dt.date | None, off: frozenset[dt.date] | None = None
) -> Profile:
    """The 24 hours of ``day`` (or of the day of the month's maximum) beside
    the month's average working day and average day off.

    :param off: the month's days off (:func:`days_off`: weekends and the
        weekdays the supplier left without peak hours), as the tables shade
        them; ``None``: Saturdays and Sundays.
    """
    day = day or default_day(grid)
    with_data = {d for d, _h in grid.cells}

    def working(d: dt.date) -> bool:
        return d not in off if off is not None else is_workday(d)

    workdays = [d for d in grid.days if d in with_data and working(d)]
    weekends = [d for d in grid.days if d in with_data and not working(d)]
    return Profile(
        day=day,
        values=[grid.get(day, h) for h in range(HOURS)] if day else [None] * HOURS,
        workdays=_average(grid, workdays),
        weekends=_average(grid, weekends),
        workday_count=len(workdays),
        weekend_count=len(weekends),
    )


# -- the heat map's colour scale ---------------------------------------------------

#: Sequential, light to dark (ColorBrewer YlOrRd, 7 classes): readable in
#: grey print and for the common colour-vision deficiencies.
HEAT_COLOURS = (
    "#ffffb2",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#b10026",
)
NO_DATA_COLOUR = "#eef1f5"


@dataclass(frozen=True)
class HeatScale:
    """Equal steps from 0 to the month's largest hour."""

    top: Decimal

    def step_of(self, value: Decimal | None) -> int | None:
        if value is None:
            return None
        if self.top <= 0:
            return 0
        index = int(value / self.top * len(HEAT_COLOURS))
        return max(0, min(len(HEAT_COLOURS) - 1, index))

    def colour(self, value: Decimal | None) -> str:
        step = self.step_of(value)
        return NO_DATA_COLOUR if step is None else HEAT_COLOURS[step]

    def bounds(self) -> list[tuple[Decimal, Decimal]]:
        n = len(HEAT_COLOURS)
        return [(self.top * i / n, self.top * (i + 1) / n) for i in range(n)]


def heat_scale(grid: Grid) -> HeatScale:
    top = grid.maximum
    return HeatScale(top[2] if top else Decimal(0))


# -- planned (ППП) against actual ------------------------------------------------------


@dataclass(frozen=True)
class HourComparison:
    hour: int
    plan: Decimal | None
    fact: Decimal | None
    threshold: Decimal

    @property
    def deviation(self) -> Decimal | None:
        if self.plan is None or self.fact is None:
            return None
        return self.fact - self.plan

    @property
    def percent(self) -> Decimal | None:
        dev = self.deviation
        if dev is None or self.plan is None or self.plan == 0:
            return None
        return dev * 100 / self.plan

    @property
    def is_over(self) -> bool:
        """Beyond ±threshold; consumption in an hour planned at zero is."""
        if self.deviation is None or self.plan is None:
            return False
        if self.plan == 0:
            return self.deviation != 0
        pct = self.percent
        return pct is not None and abs(pct) > self.threshold


@dataclass(frozen=True)
class DayComparison:
    day: dt.date
    status: str | None  # submitted / accepted; None: no ППП counts
    version: int
    hours: list[HourComparison]

    @property
    def has_plan(self) -> bool:
        return self.status is not None

    @property
    def status_title(self) -> str:
        return STATUS_TITLES[self.status] if self.status else "Нет заявки"

    @property
    def plan_total(self) -> Decimal | None:
        values = [h.plan for h in self.hours if h.plan is not None]
        return sum(values, Decimal(0)) if values else None

    @property
    def fact_total(self) -> Decimal | None:
        values = [h.fact for h in self.hours if h.fact is not None]
        return sum(values, Decimal(0)) if values else None

    @property
    def compared(self) -> list[HourComparison]:
        return [h for h in self.hours if h.deviation is not None]

    @property
    def hours_with_fact(self) -> int:
        return sum(1 for h in self.hours if h.fact is not None)

    @property
    def deviation(self) -> Decimal | None:
        hours = self.compared
        return (
            sum((h.deviation or Decimal(0) for h in hours), Decimal(0))
            if hours
            else None
        )

    @property
    def percent(self) -> Decimal | None:
        hours = self.compared
        plan = sum((h.plan or Decimal(0) for h in hours), Decimal(0))
        dev = self.deviation
        return dev * 100 / plan if dev is not None and plan else None

    @property
    def hours_over(self) -> int:
        return sum(1 for h in self.hours if h.is_over)


@dataclass(frozen=True)
class PlanComparison:
    month: dt.date
    threshold: Decimal
    days: list[DayComparison]

    @property
    def planned_days(self) -> list[DayComparison]:
        return [d for d in self.days if d.has_plan]

    @property
    def has_plan(self) -> bool:
        return bool(self.planned_days)

    def day(self, day: dt.date) -> DayComparison | None:
        return next((d for d in self.days if d.day == day), None)

    def _compared(self) -> list[HourComparison]:
        return [h for d in self.planned_days for h in d.compared]

    @property
    def plan_total(self) -> Decimal | None:
        hours = self._compared()
        return sum((h.plan or Decimal(0) for h in hours), Decimal(0)) if hours else None

    @property
    def fact_total(self) -> Decimal | None:
        hours = self._compared()
        return sum((h.fact or Decimal(0) for h in hours), Decimal(0)) if hours else None

    @property
    def deviation(self) -> Decimal | None:
        plan, fact = self.plan_total, self.fact_total
        return fact - plan if plan is not None and fact is not None else None

    @property
    def percent(self) -> Decimal | None:
        plan, dev = self.plan_total, self.deviation
        return dev * 100 / plan if dev is not None and plan else None

    @property
    def hours_over(self) -> int:
        return sum(d.hours_over for d in self.planned_days)

    @property
    def compared_hours(self) -> int:
        return len(self._compared())


def planned_hours(
    session: Session, contract_id: uuid.UUID, month: dt.date
) -> dict[dt.date, tuple[str, int, list[Decimal | None]]]:
    """The ППП that counts for each day of the month: the newest submitted
    version of a request filed («Подана») or accepted («Принята»); a draft
    counts for nothing. Day → (status, version, 24 values)."""
    first, last = month_bounds(month)
    rows = session.execute(
        select(
            PlannedRequest.day,
            PlannedRequest.status,
            PlannedVersion.version,
            PlannedVersion.hours,
        )
        .join(
            PlannedVersion,
            and_(
                PlannedVersion.request_id == PlannedRequest.id,
                PlannedVersion.version == PlannedRequest.version,
            ),
        )
        .where(
            PlannedRequest.contract_id == contract_id,
            PlannedRequest.day.between(first, last),
            PlannedRequest.status.in_(
                (PlannedStatus.SUBMITTED.value, PlannedStatus.ACCEPTED.value)
            ),
        )
    )
    out: dict[dt.date, tuple[str, int, list[Decimal | None]]] = {}
    for day, status, version, hours in rows:
        values = [Decimal(str(h)) if h not in (None, "") else None for h in hours or []]
        values += [None] * (HOURS - len(values))
        out[day] = (str(status), int(version), values[:HOURS])
    return out


def plan_vs_actual(
    session: Session,
    *,
    contract_id: uuid.UUID,
    month: dt.date,
    actual: Grid,
    threshold: Decimal = DEFAULT_THRESHOLD,
) -> PlanComparison:
    """Each day and hour of the month: the ППП that counts against ``actual``
    (the grid of all the contract's points, channel A+)."""
    plans = planned_hours(session, contract_id, month)
    days = []
    for day in month_days(month):
        status, version, values = plans.get(day, (None, 0, [None] * HOURS))
        days.append(
            DayComparison(
                day=day,
                status=status,
                version=version,
                hours=[
                    HourComparison(h, values[h], actual.get(day, h), threshold)
                    for h in range(HOURS)
                ],
            )
        )
    return PlanComparison(month.replace(day=1), threshold, days)


# -- the plan peak hours -----------------------------------------------------------


def peak_hours(session: Session, month: dt.date) -> dict[dt.date, list[int]]:
    """The month's plan peak hours: day → its hours, in order."""
    first, last = month_bounds(month)
    out: dict[dt.date, list[int]] = defaultdict(list)
    for day, hour in session.execute(
        select(PeakHour.day, PeakHour.hour)
        .where(PeakHour.day.between(first, last))
        .order_by(PeakHour.day, PeakHour.hour)
    ):
        out[day].append(int(hour))
    return dict(out)


@dataclass(frozen=True)
class PeakFigures:
    """The consumption in the month's plan peak hours. The average of those
    hours' kWh is the average power, kW, the capacity charge is based on."""

    month: dt.date
    hours: dict[dt.date, list[int]]
    values: dict[tuple[dt.date, int], Decimal]

    @property
    def is_set(self) -> bool:
        return bool(self.hours)

    @property
    def count(self) -> int:
        return sum(len(h) for h in self.hours.values())

    @property
    def with_data(self) -> int:
        return len(self.values)

    @property
    def missing(self) -> int:
        return self.count - self.with_data

    @property
    def total(self) -> Decimal | None:
        return sum(self.values.values(), Decimal(0)) if self.values else None

    @property
    def average(self) -> Decimal | None:
        total = self.total
        return total / len(self.values) if total is not None else None

    @property
    def maximum(self) -> Decimal | None:
        return max(self.values.values()) if self.values else None

    def is_peak(self, day: dt.date, hour: int) -> bool:
        return hour in self.hours.get(day, ())


def peak_figures(
    session: Session, *, point_ids: Sequence[uuid.UUID], channel: str, month: dt.date
) -> PeakFigures:
    """The month's peak hours and the consumption of ``point_ids`` in them:
    the newest values joined to the peak hours and summed per hour, in SQL
    (only the peak hours' rows are read)."""
    hours = peak_hours(session, month)
    values: dict[tuple[dt.date, int], Decimal] = {}
    if hours and point_ids:
        first, last = month_bounds(month)
        newest = newest_values(
            point_ids, channel, first, last, peak_hours_only=True
        ).subquery("v")
        rows = session.execute(
            select(newest.c.day, newest.c.hour, func.sum(newest.c.value)).group_by(
                newest.c.day, newest.c.hour
            )
        )
        values = {(d, int(h)): Decimal(str(v)) for d, h, v in rows}
    return PeakFigures(month.replace(day=1), hours, values)


def rule_cells(month: dt.date, hours: Iterable[int]) -> set[tuple[dt.date, int]]:
    """«The same hours of every working day of the month» as cells."""
    chosen = sorted(set(hours))
    bad = [h for h in chosen if not 0 <= h < HOURS]
    if bad:
        raise ValidationError("Час указан неверно: от 0 до 23.")
    if not chosen:
        raise ValidationError("Отметьте хотя бы один час.", details={"field": "hours"})
    return {(d, h) for d in month_days(month) if is_workday(d) for h in chosen}


def parse_cells(month: dt.date, raw: Iterable[str]) -> set[tuple[dt.date, int]]:
    """Cells posted as ``ГГГГ-ММ-ДД:ЧЧ`` (the page's checkboxes)."""
    first, last = month_bounds(month)
    cells = set()
    for item in raw:
        day_text, _, hour_text = item.partition(":")
        try:
            day = dt.date.fromisoformat(day_text[:10])
            hour = int(hour_text[:2])
        except ValueError:
            raise ValidationError(
                "Отмеченный час не распознан: обновите страницу и повторите."
            ) from None
        if not first <= day <= last or not 0 <= hour < HOURS:
            raise ValidationError(
                f"Отмеченный час вне месяца «{month_title(month)}»: обновите "
                "страницу и повторите."
            )
        cells.add((day, hour))
    return cells


def _require_supplier(actor: Actor) -> None:
    if not accepts_planned(actor):
        raise PermissionDeniedError(PEAK_REFUSED)


def may_set_schedule(actor: Actor) -> bool:
    """The supplier's people set peak hours and control days (as they accept
    ППП); customers see them."""
    return accepts_planned(actor)


def set_peak_hours(
    session: Session,
    *,
    actor: Actor,
    month: dt.date,
    cells: set[tuple[dt.date, int]],
) -> int:
    """Replace the month's plan peak hours with ``cells`` (none: cleared).

    :raises PermissionDeniedError: not the supplier's person.
    :raises ValidationError: a cell outside the month.
    """
    _require_supplier(actor)
    first, last = month_bounds(month)
    if any(not first <= d <= last or not 0 <= h < HOURS for d, h in cells):
        raise ValidationError("Часы должны быть в пределах выбранного месяца.")
    _lock(session, f"peak:{first.isoformat()}")
    session.execute(delete(PeakHour).where(PeakHour.day.between(first, last)))
    user_id = actor.user_id
    session.add_all(
        PeakHour(day=d, hour=h, set_by_id=user_id) for d, h in sorted(cells)
    )
    session.flush()
    record(
        session,
        user=actor.user,
        action="hourly.peak_hours_set",
        object_type="month",
        object_id=first.isoformat(),
        details={"hours": len(cells), "days": len({d for d, _h in cells})},
        request_info=actor.request_info,
    )
    return len(cells)


def peak_set_by(session: Session, month: dt.date) -> tuple[dt.datetime, str] | None:
    """When and by whom the month's peak hours were set (the newest row)."""
    first, last = month_bounds(month)
    row = session.execute(
        select(PeakHour.created_at, User.last_name, User.first_name)
        .outerjoin(User, User.id == PeakHour.set_by_id)
        .where(PeakHour.day.between(first, last))
        .order_by(PeakHour.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    name = " ".join(p for p in (row[1], row[2]) if p) or "поставщик"
    return row[0], name


# -- control measurement days --------------------------------------------------------


def third_wednesday(month: dt.date) -> dt.date:
    first = month.replace(day=1)
    return first + dt.timedelta(days=(2 - first.weekday()) % 7 + 14)


@dataclass(frozen=True)
class ControlDate:
    month: dt.date  # June or December, its first day
    day: dt.date
    is_set: bool  # set by the supplier (else the third Wednesday)

    @property
    def title(self) -> str:
        return day_title(self.day)


def control_dates(session: Session, years: Iterable[int]) -> list[ControlDate]:
    """The June and December measurement days of ``years``, in order."""
    months = [dt.date(y, m, 1) for y in sorted(set(years)) for m in CONTROL_MONTHS]
    set_days = dict(
        session.execute(
            select(ControlDay.month, ControlDay.day).where(ControlDay.month.in_(months))
        ).all()
    )
    return [
        ControlDate(m, set_days.get(m) or third_wednesday(m), m in set_days)
        for m in months
    ]


def control_date(session: Session, month: dt.date) -> ControlDate | None:
    """The measurement day of ``month``; None for a month without one."""
    if month.month not in CONTROL_MONTHS:
        return None
    return control_dates(session, [month.year])[CONTROL_MONTHS.index(month.month)]


def recent_control_dates(session: Session, today: dt.date) -> list[ControlDate]:
    """The last three measurement days on or before ``today`` and the next
    one, newest first."""
    dates = control_dates(session, range(today.year - 1, today.year + 2))
    past = [d for d in dates if d.day <= today]
    upcoming = [d for d in dates if d.day > today][:1]
    return list(reversed(past[-3:] + upcoming))


def latest_control_date(session: Session, today: dt.date) -> ControlDate:
    """The newest measurement day before ``today`` (its values are complete)."""
    dates = control_dates(session, range(today.year - 1, today.year + 1))
    return [d for d in dates if d.day < today][-1]


def set_control_day(
    session: Session, *, actor: Actor, month: dt.date, day: dt.date | None
) -> ControlDate:
    """Set the month's measurement day (None: back to the third Wednesday).

    :raises PermissionDeniedError: not the supplier's person.
    :raises ValidationError: not June or December, or the day in another month.
    """
    _require_supplier(actor)
    month = month.replace(day=1)
    if month.month not in CONTROL_MONTHS:
        raise ValidationError(
            "Контрольные замеры проводятся в июне и декабре.",
            details={"field": "month"},
        )
    if day is not None and day.replace(day=1) != month:
        raise ValidationError(
            f"Дата контрольного замера должна быть в месяце «{month_title(month)}».",
            details={"field": "day"},
        )
    _lock(session, f"control:{month.isoformat()}")
    row = session.get(ControlDay, month)
    if day is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(ControlDay(month=month, day=day, set_by_id=actor.user_id))
    else:
        row.day = day
        row.set_by_id = actor.user_id
    session.flush()
    chosen = day or third_wednesday(month)
    record(
        session,
        user=actor.user,
        action="hourly.control_day_set",
        object_type="month",
        object_id=month.isoformat(),
        details={"day": chosen.isoformat(), "default": day is None},
        request_info=actor.request_info,
    )
    return ControlDate(month, chosen, day is not None)


# -- control measurements ------------------------------------------------------------


@dataclass(frozen=True)
class ControlRow:
    """A meter of the contract in a control measurement."""

    meter: Meter
    object: SupplyObject
    point_code: str
    hours: list[Decimal | None]

    @property
    def total(self) -> Decimal | None:
        values = [v for v in self.hours if v is not None]
        return sum(values, Decimal(0)) if values else None


@dataclass(frozen=True)
class ControlSheet:
    contract: Contract
    rights: Rights
    date: ControlDate
    measurement: ControlMeasurement | None
    rows: list[ControlRow]

    @property
    def is_submitted(self) -> bool:
        return self.measurement is not None

    @property
    def hour_totals(self) -> list[Decimal | None]:
        out: list[Decimal | None] = []
        for h in range(HOURS):
            values = [v for r in self.rows if (v := r.hours[h]) is not None]
            out.append(sum(values, Decimal(0)) if values else None)
        return out

    @property
    def total(self) -> Decimal | None:
        values = [r.total for r in self.rows if r.total is not None]
        return sum(values, Decimal(0)) if values else None


def contract_meters(
    session: Session, contract_id: uuid.UUID
) -> list[tuple[Meter, SupplyObject, str]]:
    """The contract's meters in the order of the readings form, each with its
    object and the code of its metering point (its number when it has none)."""
    codes = dict(
        session.execute(
            select(HourlyPoint.meter_id, HourlyPoint.code).where(
                HourlyPoint.contract_id == contract_id,
                HourlyPoint.meter_id.is_not(None),
            )
        ).all()
    )
    objects = session.scalars(
        select(SupplyObject)
        .options(selectinload(SupplyObject.meters))
        .where(SupplyObject.contract_id == contract_id)
        .order_by(SupplyObject.position, SupplyObject.name)
    )
    return [
        (meter, obj, codes.get(meter.id, meter.number))
        for obj in objects
        for meter in obj.meters
    ]


def _measurement(
    session: Session, contract_id: uuid.UUID, day: dt.date
) -> ControlMeasurement | None:
    return session.scalar(
        select(ControlMeasurement)
        .options(selectinload(ControlMeasurement.rows))
        .where(
            ControlMeasurement.contract_id == contract_id,
            ControlMeasurement.day == day,
        )
    )


def _control_date_of(session: Session, day: dt.date) -> ControlDate:
    found = control_date(session, day.replace(day=1))
    if found is None or found.day != day:
        raise NotFoundError(
            f"{day:%d.%m.%Y} — не день контрольного замера: замеры проводятся в июне "
            "и декабре в день, назначенный поставщиком."
        )
    return found


def control_sheet(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, day: dt.date
) -> ControlSheet:
    """The contract's meters and, if submitted, their values of the day.

    :raises NotFoundError: the contract is not the actor's to see, or ``day``
        is not a measurement day.
    """
    rights = hourly_rights(session, actor, contract_id)
    contract = session.get(Contract, contract_id)
    assert contract is not None
    date = _control_date_of(session, day)
    measurement = _measurement(session, contract_id, day)
    saved = {
        r.meter_id: [Decimal(v) if v else None for v in r.hours]
        for r in (measurement.rows if measurement else [])
    }
    rows = [
        ControlRow(meter, obj, code, saved.get(meter.id, [None] * HOURS))
        for meter, obj, code in contract_meters(session, contract_id)
    ]
    return ControlSheet(contract, rights, date, measurement, rows)


def _check_submittable(day: dt.date, today: dt.date) -> None:
    if day >= today:
        raise ValidationError(
            f"Контрольный замер за {day:%d.%m.%Y} передаётся после окончания дня "
            "замера.",
            code="control_too_early",
        )


def submit_control(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    day: dt.date,
    values: dict[uuid.UUID, list[Decimal]],
    source: str,
    filename: str = "",
    file: bytes | None = None,
    storage: BlobStorage | None = None,
    today: dt.date,
) -> ControlMeasurement:
    """Save the control measurement of ``day``: ``values`` (meter → 24 kWh)
    replace whatever was submitted before, whole.

    :param file: the uploaded form ``values`` were read from: kept in
        ``storage`` (after every check, and deleted should the transaction
        roll back) and recorded with its size and SHA-256.
    :param storage: the blob store; needed with ``file``, and without it the
        file of a replaced submission is not deleted.
    :raises NotFoundError: not the actor's contract, not a measurement day,
        or a meter of another contract.
    :raises PermissionDeniedError: without the right to submit readings.
    :raises ValidationError: nothing to save, a value amiss, a day not over.
    """
    require_hourly_upload(session, actor, contract_id)
    _control_date_of(session, day)
    _check_submittable(day, today)
    if not values:
        raise ValidationError("Нет ни одного заполненного счётчика: нечего передавать.")
    meters = {
        m.id: position
        for position, (m, _o, _c) in enumerate(contract_meters(session, contract_id))
    }
    if any(meter_id not in meters for meter_id in values):
        raise NotFoundError("Счётчик не найден в договоре.")
    for hours in values.values():
        if len(hours) != HOURS or any(v is None or v < 0 for v in hours):
            raise ValidationError(
                "Нужно 24 неотрицательных значения по каждому счётчику."
            )
    if file is not None and storage is None:
        raise TypeError("submit_control: a file needs a storage to be kept in")
    _lock(session, f"control:{contract_id}:{day.isoformat()}")
    measurement = _measurement(session, contract_id, day)
    replaced_key = measurement.blob_key if measurement is not None else None
    now = dt.datetime.now(dt.UTC)
    if measurement is None:
        measurement = ControlMeasurement(
            contract_id=contract_id, day=day, version=0, source=source, submitted_at=now
        )
        session.add(measurement)
    measurement.rows.clear()
    session.flush()
    measurement.version += 1
    measurement.source = source
    measurement.filename = filename[:255]
    measurement.submitted_at = now
    measurement.submitted_by_id = actor.user_id
    _keep_file(session, measurement, file, storage)
    if replaced_key and storage is not None:
        enqueue_after_commit(session, partial(_drop_blob, storage, replaced_key))
    for meter_id, hours in sorted(values.items(), key=lambda kv: meters[kv[0]]):
        measurement.rows.append(
            ControlValue(
                meter_id=meter_id,
                position=meters[meter_id],
                hours=[str(v) for v in hours],
            )
        )
    session.flush()
    record(
        session,
        user=actor.user,
        action="hourly.control_submitted",
        object_type="contract",
        object_id=contract_id,
        details={
            "day": day.isoformat(),
            "version": measurement.version,
            "source": source,
            "meters": len(values),
            "total": str(sum((sum(h) for h in values.values()), Decimal(0))),
            "sha256": measurement.file_sha256,
        },
        request_info=actor.request_info,
    )
    return measurement


def _keep_file(
    session: Session,
    measurement: ControlMeasurement,
    file: bytes | None,
    storage: BlobStorage | None,
) -> None:
    """Put the uploaded form into the blob store and on the record (or clear
    the record's file: values from the hourly data have none)."""
    if file is None or storage is None:
        measurement.blob_key = measurement.file_size = measurement.file_sha256 = None
        return
    info = storage.put_bytes(file, content_type=XLSX_TYPE)
    blobs_of_transaction(session, storage, info.key)
    measurement.blob_key = info.key
    measurement.file_size = info.size
    measurement.file_sha256 = info.sha256


def _drop_blob(storage: BlobStorage, key: str) -> None:
    """Delete the file of a replaced submission, after the commit: a failure
    only leaves an orphan, which ``docflow fsck`` lists."""
    try:
        storage.delete(key)
    except Exception:  # noqa: BLE001 - the submission is committed; see above
        log.warning("could not remove blob %s of a replaced control measurement", key)


def _control_blob_keys(session: Session) -> Iterable[str]:
    """The kept control-measurement forms, for ``docflow fsck`` (not orphans)."""
    return session.scalars(
        select(ControlMeasurement.blob_key).where(
            ControlMeasurement.blob_key.is_not(None)
        )
    )


register_blob_source(_control_blob_keys)


def control_file(
    session: Session, *, actor: Actor, contract_id: uuid.UUID, day: dt.date
) -> ControlMeasurement:
    """The measurement of ``day`` whose uploaded form is kept, for its
    download: whoever sees the contract's control data may have it.

    :raises NotFoundError: not the actor's contract, not a measurement day,
        or no file kept for the day.
    """
    sheet = control_sheet(session, actor=actor, contract_id=contract_id, day=day)
    measurement = sheet.measurement
    if measurement is None or not measurement.blob_key:
        raise NotFoundError(
            f"Загруженного файла контрольного замера за {day:%d.%m.%Y} нет."
        )
    return measurement


@dataclass(frozen=True)
class Filled:
    measurement: ControlMeasurement
    taken: list[str]  # meter numbers filled
    skipped: list[str]  # meter numbers without the whole day


def control_from_hourly(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    day: dt.date,
    today: dt.date,
    storage: BlobStorage | None = None,
) -> Filled:
    """«Заполнить из почасовых данных»: each meter whose metering point has
    all 24 hours of ``day`` (channel A+, newest versions) is submitted with
    them; the others are named. A form uploaded before is no longer the
    measurement's: its file is deleted after the commit (given ``storage``).

    :raises ValidationError: no meter has the whole day.
    """
    require_hourly_upload(session, actor, contract_id)
    _control_date_of(session, day)
    _check_submittable(day, today)
    points: dict[uuid.UUID, uuid.UUID] = {
        point_id: meter_id
        for point_id, meter_id in session.execute(
            select(HourlyPoint.id, HourlyPoint.meter_id).where(
                HourlyPoint.contract_id == contract_id
            )
        )
        if meter_id is not None
    }
    found: dict[uuid.UUID, list[Decimal | None]] = {}
    if points:
        for point_id, _day, hour, value in session.execute(
            newest_values(list(points), "A+", day, day)
        ):
            meter_id = points[point_id]
            found.setdefault(meter_id, [None] * HOURS)[int(hour)] = Decimal(str(value))
    values: dict[uuid.UUID, list[Decimal]] = {}
    taken, skipped = [], []
    for meter, _obj, _code in contract_meters(session, contract_id):
        hours = found.get(meter.id)
        if hours is not None and all(v is not None for v in hours):
            values[meter.id] = [v for v in hours if v is not None]
            taken.append(meter.number)
        else:
            skipped.append(meter.number)
    if not values:
        raise ValidationError(
            f"Почасовые данные за {day:%d.%m.%Y} не загружены ни по одному счётчику "
            "(нужны все 24 часа по каналу A+): загрузите их на странице «Почасовые "
            "объёмы» или заполните форму Excel.",
            code="control_no_hourly",
        )
    measurement = submit_control(
        session,
        actor=actor,
        contract_id=contract_id,
        day=day,
        values=values,
        source="hourly",
        storage=storage,
        today=today,
    )
    return Filled(measurement, taken, skipped)


def parse_control_rows(
    rows: Sequence[tuple[int, str, list[object]]],
    meters: dict[str, uuid.UUID],
) -> tuple[dict[uuid.UUID, list[Decimal]], list[tuple[int, str, str]]]:
    """The values of a filled form: ``rows`` are (row number, meter number,
    24 raw cells). A row with every hour blank is skipped; anything else must
    be 24 numbers. Returns the values and the problems (row, column, text)."""
    values: dict[uuid.UUID, list[Decimal]] = {}
    problems: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for number, meter, cells in rows:
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        meter_id = meters.get(meter)
        if meter_id is None:
            problems.append(
                (
                    number,
                    "Счётчик",
                    f"счётчик № {meter[:50] or '(пусто)'} не найден в договоре",
                )
            )
            continue
        if meter in seen:
            problems.append(
                (
                    number,
                    "Счётчик",
                    f"счётчик № {meter} уже есть в строке {seen[meter]}",
                )
            )
            continue
        seen[meter] = number
        raw = [
            format(Decimal(repr(c)), "f") if isinstance(c, float) else c for c in cells
        ]
        try:
            parsed = parse_hours(raw, complete=True)
        except ValidationError as exc:
            for hour, reason in sorted(
                (exc.details or {}).get("hours", {}).items(), key=lambda kv: int(kv[0])
            ):
                problems.append((number, hour_title(int(hour) - 1), reason))
            continue
        values[meter_id] = [Decimal(v) for v in parsed if v is not None]
    return values, problems


@dataclass(frozen=True)
class ControlListRow:
    contract: Contract
    measurement: ControlMeasurement | None

    @property
    def total(self) -> Decimal | None:
        if self.measurement is None:
            return None
        return sum(
            (Decimal(v) for r in self.measurement.rows for v in r.hours if v),
            Decimal(0),
        )


def control_list(
    session: Session,
    *,
    actor: Actor,
    day: dt.date,
    status: str = "",
    number: str = "",
    limit: int = 1000,
) -> list[ControlListRow]:
    """The supplier's list: every active contract and its measurement of
    ``day`` (``status`` "submitted" / "missing" filters).

    :raises NotFoundError: not the supplier's person (as the staff pages).
    """
    if not accepts_planned(actor):
        raise NotFoundError("Страница не найдена.")
    _control_date_of(session, day)
    q = (
        select(Contract, ControlMeasurement)
        .outerjoin(
            ControlMeasurement,
            and_(
                ControlMeasurement.contract_id == Contract.id,
                ControlMeasurement.day == day,
            ),
        )
        .options(selectinload(Contract.organisation))
        .where(Contract.is_active.is_(True))
    )
    if number:
        q = q.where(Contract.number.contains(number, autoescape=True))
    if status == "submitted":
        q = q.where(ControlMeasurement.id.is_not(None))
    elif status == "missing":
        q = q.where(ControlMeasurement.id.is_(None))
    rows = session.execute(q.order_by(Contract.number).limit(limit)).all()
    measurements = [m for _c, m in rows if m is not None]
    if measurements:  # their values in one query
        session.scalars(
            select(ControlMeasurement)
            .options(selectinload(ControlMeasurement.rows))
            .where(ControlMeasurement.id.in_([m.id for m in measurements]))
        ).all()
    return [ControlListRow(c, m) for c, m in rows]


def meter_numbers(
    session: Session, contract_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Meter id → number, for the contracts of a list."""
    return dict(
        session.execute(
            select(Meter.id, Meter.number).where(Meter.contract_id.in_(contract_ids))
        ).all()
    )


def control_status(
    session: Session, contract_id: uuid.UUID, day: dt.date
) -> ControlMeasurement | None:
    """The contract's measurement of ``day``, if submitted (for the analysis page)."""
    return session.scalar(
        select(ControlMeasurement).where(
            ControlMeasurement.contract_id == contract_id,
            ControlMeasurement.day == day,
        )
    )


# -- the whole page ------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    scope: Scope
    grid: Grid
    profile: Profile
    scale: HeatScale
    plan: PlanComparison
    actual: Grid  # the contract's A+ (the plan's comparison)
    peaks: PeakFigures
    plan_day: dt.date | None
    control: ControlDate | None
    control_measurement: ControlMeasurement | None
    days_off: frozenset[dt.date] = frozenset()  # see :func:`days_off`

    @property
    def month(self) -> dt.date:
        return self.scope.filters.month

    def is_day_off(self, day: dt.date) -> bool:
        """A Saturday, a Sunday or a day the supplier set as non-working."""
        return day in self.days_off


def analyse(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    filters: Filters,
    day: dt.date | None = None,
    plan_day: dt.date | None = None,
    threshold: Decimal = DEFAULT_THRESHOLD,
    today: dt.date | None = None,
) -> Analysis:
    """Everything the page and the Excel export show for a contract's month.

    :raises NotFoundError: see :func:`open_scope`.
    :raises ValidationError: ``day`` or ``plan_day`` outside the month.
    """
    first, last = month_bounds(filters.month)
    for chosen, name in ((day, "day"), (plan_day, "plan_day")):
        if chosen is not None and not first <= chosen <= last:
            raise ValidationError(
                f"День должен быть в месяце «{month_title(first)}».",
                details={"field": name},
            )
    scope = open_scope(session, actor=actor, contract_id=contract_id, filters=filters)
    grid = month_grid(
        session, point_ids=scope.chosen_ids, channel=filters.channel, month=first
    )
    if scope.is_whole_contract and filters.channel == "A+":
        actual = grid
    else:
        actual = month_grid(session, point_ids=scope.all_ids, channel="A+", month=first)
    plan = plan_vs_actual(
        session,
        contract_id=contract_id,
        month=first,
        actual=actual,
        threshold=threshold,
    )
    if plan_day is None:
        over = [d for d in plan.planned_days if d.hours_over]
        planned = over or plan.planned_days
        plan_day = planned[0].day if planned else None
    today = today or today_msk()
    control = latest_control_date(session, today)
    peaks = peak_figures(
        session, point_ids=scope.chosen_ids, channel=filters.channel, month=first
    )
    off = days_off(first, peaks.hours)
    return Analysis(
        scope=scope,
        grid=grid,
        profile=daily_profile(grid, day, off),
        scale=heat_scale(grid),
        plan=plan,
        actual=actual,
        peaks=peaks,
        plan_day=plan_day,
        control=control,
        control_measurement=control_status(session, contract_id, control.day),
        days_off=off,
    )
