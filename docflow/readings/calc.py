"""The arithmetic of readings, free of the database and of Flask: periods and
the submission window, checking an entered value, and the preliminary
consumption (предварительный расход) of meters, objects and a contract.

Register values are integers of at most ``digits`` digits; consumption is a
:class:`~decimal.Decimal` (a register difference times the transformation
ratio Ктт × Ктн), never a float.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")

MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)
MONTHS_SHORT = (
    "янв",
    "фев",
    "мар",
    "апр",
    "май",
    "июн",
    "июл",
    "авг",
    "сен",
    "окт",
    "ноя",
    "дек",
)

# A reading lower than the previous one is taken as the register passing
# through zero only when the consumption that implies is plausible: below this
# share of the register's range, and below ROLLOVER_MAX_AVERAGES times the
# meter's average monthly consumption when its history gives one.
ROLLOVER_MAX_RANGE_SHARE = Decimal("0.1")
ROLLOVER_MAX_AVERAGES = 3
CALIBRATION_WARNING_DAYS = 60
MIN_DIGITS, MAX_DIGITS = 3, 12


# -- periods --------------------------------------------------------------------


def period_of(day: dt.date) -> dt.date:
    """The period (its first day) a date falls in."""
    return day.replace(day=1)


def add_months(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def last_day(period: dt.date) -> dt.date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def period_title(period: dt.date) -> str:
    """«ноябрь 2026 г.»"""
    return f"{MONTHS[period.month - 1]} {period.year} г."


def period_key(period: dt.date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def parse_period(text: str | None) -> dt.date | None:
    """``2026-11`` (or ``11.2026``) → 2026-11-01; None when malformed."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text) or None
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"\s*(\d{1,2})\.(\d{4})\s*", text)
        if not m:
            return None
        month, year = int(m.group(1)), int(m.group(2))
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return dt.date(year, month, 1)


def moscow_now(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (aware; naive is taken as UTC) in Moscow time; the clock when None."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(MSK)


# -- the submission window -------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The submission window as of a moment, in Moscow time."""

    is_open: bool
    period: dt.date  # the period being submitted now (the current month)
    opens_on: dt.date  # this month's window, or the next one when it has passed
    closes_on: dt.date
    start_day: int
    end_day: int

    @property
    def message(self) -> str:
        """«Передача показаний доступна с 15 по 26 число месяца. Следующее окно …»"""
        text = f"Передача показаний доступна с {self.start_day} по {self.end_day} число месяца."
        if self.is_open:
            return f"{text} Приём открыт до {self.closes_on:%d.%m.%Y} включительно."
        return f"{text} Следующее окно откроется {self.opens_on:%d.%m.%Y}."


def _window_days(
    period: dt.date, start_day: int, end_day: int
) -> tuple[dt.date, dt.date]:
    last = last_day(period).day
    return period.replace(day=min(start_day, last)), period.replace(
        day=min(end_day, last)
    )


def submission_window(
    now: dt.datetime | None, start_day: int = 15, end_day: int = 26
) -> Window:
    """Whether readings may be submitted at ``now``, and when the window is."""
    today = moscow_now(now).date()
    period = period_of(today)
    opens, closes = _window_days(period, start_day, end_day)
    if today > closes:
        opens, closes = _window_days(add_months(period, 1), start_day, end_day)
    return Window(
        is_open=opens <= today <= closes,
        period=period,
        opens_on=opens,
        closes_on=closes,
        start_day=start_day,
        end_day=end_day,
    )


# -- meters ----------------------------------------------------------------------


def pad(value: int | None, digits: int) -> str:
    """The register as the meter shows it: ``123456`` on 8 digits → ``00123456``."""
    if value is None:
        return ""
    return str(value).zfill(digits)


def calibration_due(next_calibration: dt.date | None, today: dt.date) -> bool:
    """The calibration date is within :data:`CALIBRATION_WARNING_DAYS` days."""
    if next_calibration is None:
        return False
    return (
        today <= next_calibration <= today + dt.timedelta(days=CALIBRATION_WARNING_DAYS)
    )


def calibration_expired(next_calibration: dt.date | None, today: dt.date) -> bool:
    return next_calibration is not None and next_calibration < today


def difference(previous: int, current: int, digits: int) -> tuple[int, bool]:
    """The register difference, with a pass through zero when ``current`` is
    lower: (difference, is_rollover)."""
    if current >= previous:
        return current - previous, False
    return 10**digits - previous + current, True


def average_monthly(
    history: Sequence[tuple[dt.date, int]], digits: int
) -> Decimal | None:
    """The average register advance per month from ``(period, value)`` pairs
    (oldest first), or None when the history has fewer than two readings."""
    points = sorted(history)
    if len(points) < 2:
        return None
    total, months = 0, 0
    for (p1, v1), (p2, v2) in zip(points, points[1:], strict=False):
        gap = months_between(p1, p2)
        if gap <= 0:
            continue
        total += difference(v1, v2, digits)[0]
        months += gap
    if months == 0:
        return None
    return Decimal(total) / months


class ReadingValueError(ValueError):
    """A value that cannot be taken; the message says why, in Russian, as a
    fragment («не число») that a form or a file report puts after its place."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedValue:
    value: int
    is_rollover: bool = False
    consumption: int | None = None  # register units, when a previous value is known
    note: str = ""  # told to the user (the rollover)


_NUMBER = re.compile(r"\d+")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_value(raw: object) -> int:
    """A register value typed in a form or found in a spreadsheet cell.

    :raises ReadingValueError: not a whole non-negative number.
    """
    if isinstance(raw, bool):
        raise ReadingValueError("не число")
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise ReadingValueError(
                "показание вводится целым числом, без дробной части"
            )
        text = str(int(raw))
    elif isinstance(raw, Decimal):
        if raw != raw.to_integral_value():
            raise ReadingValueError(
                "показание вводится целым числом, без дробной части"
            )
        text = str(int(raw))
    else:
        text = _SPACES.sub("", str(raw if raw is not None else ""))
    if not text:
        raise ReadingValueError("введите показание")
    if text.startswith("-"):
        raise ReadingValueError("показание не может быть отрицательным")
    if re.fullmatch(r"\d+[.,]\d*", text):
        if set(text.replace(",", ".").split(".", 1)[1]) <= {"0"}:
            text = re.split(r"[.,]", text, maxsplit=1)[0]
        else:
            raise ReadingValueError(
                "показание вводится целым числом, без дробной части"
            )
    if not _NUMBER.fullmatch(text):
        raise ReadingValueError("не число")
    return int(text)


def check_value(
    raw: object, *, digits: int, previous: int | None, average: Decimal | None = None
) -> CheckedValue:
    """Check a reading against its meter.

    A value lower than ``previous`` is accepted as a pass through zero when
    the consumption it implies, ``10**digits − previous + value``, is below
    :data:`ROLLOVER_MAX_RANGE_SHARE` of the register's range and, when the
    meter's history gives an ``average`` monthly advance, below
    :data:`ROLLOVER_MAX_AVERAGES` times that average.

    :raises ReadingValueError: not a number, too many digits, or lower than
        the previous value without a plausible pass through zero.
    """
    value = parse_value(raw)
    if value >= 10**digits:
        raise ReadingValueError(
            f"больше знаков, чем у счётчика: {len(str(value))} при значности {digits}"
        )
    if previous is None:
        return CheckedValue(value)
    used, rolled = difference(previous, value, digits)
    if not rolled:
        return CheckedValue(value, consumption=used)
    limit = ROLLOVER_MAX_RANGE_SHARE * 10**digits
    plausible = used < limit and (
        average is None or used < ROLLOVER_MAX_AVERAGES * average
    )
    if not plausible:
        raise ReadingValueError(
            f"меньше предыдущего показания {pad(previous, digits)}; переход счётчика через "
            f"ноль маловероятен (расход составил бы {format_kwh(used)} ед.)"
        )
    return CheckedValue(
        value,
        is_rollover=True,
        consumption=used,
        note=(
            f"Показание меньше предыдущего ({pad(previous, digits)}) и принято как "
            f"переход счётчика через ноль: расход {format_kwh(used)} ед. по счётному "
            "механизму."
        ),
    )


# -- the preliminary consumption ---------------------------------------------------


@dataclass(frozen=True)
class MeterInput:
    key: str  # whatever identifies the meter to the caller
    number: str
    digits: int
    ratio: int
    previous: int | None
    current: int | None
    can_read: bool = True  # False: faulty or past its calibration date


@dataclass(frozen=True)
class ObjectInput:
    key: str
    name: str
    meters: Sequence[MeterInput]
    transit: Decimal = Decimal(0)


@dataclass(frozen=True)
class MeterResult:
    key: str
    number: str
    difference: int | None
    consumption: Decimal | None
    is_rollover: bool = False
    missing: str = ""  # «нет предыдущего показания» …
    is_blocked: bool = False  # faulty or past its calibration date


@dataclass(frozen=True)
class ObjectResult:
    key: str
    name: str
    meters: list[MeterResult]
    meters_total: Decimal
    transit: Decimal
    total: Decimal  # meters_total − transit
    is_complete: bool  # every meter has both readings


@dataclass(frozen=True)
class Calculation:
    objects: list[ObjectResult]
    total: Decimal
    messages: list[str] = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return all(o.is_complete for o in self.objects)


def _meter_result(m: MeterInput) -> MeterResult:
    if not m.can_read and m.current is None:
        return MeterResult(
            m.key,
            m.number,
            None,
            None,
            missing="показания не принимаются",
            is_blocked=True,
        )
    if m.previous is None or m.current is None:
        what = (
            "нет предыдущего и текущего показаний"
            if m.previous is None and m.current is None
            else "нет предыдущего показания"
            if m.previous is None
            else "нет текущего показания"
        )
        return MeterResult(m.key, m.number, None, None, missing=what)
    diff, rolled = difference(m.previous, m.current, m.digits)
    return MeterResult(
        m.key, m.number, diff, Decimal(diff) * Decimal(m.ratio), is_rollover=rolled
    )


def calculate(objects: Sequence[ObjectInput]) -> Calculation:
    """(current − previous, with rollover by the digit count) × ratio per meter;
    per object the sum minus the transit volumes; the total across objects; a
    message for each meter whose previous or current reading is missing."""
    results: list[ObjectResult] = []
    messages: list[str] = []
    grand = Decimal(0)
    for obj in objects:
        meters = [_meter_result(m) for m in obj.meters]
        counted = [m.consumption for m in meters if m.consumption is not None]
        summed = sum(counted, Decimal(0))
        # Transit is subtracted from what the meters counted; with nothing
        # counted yet there is nothing to subtract it from.
        transit = obj.transit if counted else Decimal(0)
        total = summed - transit
        for m in meters:
            if m.is_blocked:
                messages.append(
                    f"{obj.name}, счётчик № {m.number}: {m.missing} (не исправен "
                    "или истёк срок МПИ) — расход по нему определит поставщик."
                )
            elif m.missing:
                messages.append(
                    f"{obj.name}, счётчик № {m.number}: {m.missing} — "
                    "расход по нему не посчитан."
                )
        if total < 0:
            messages.append(
                f"{obj.name}: транзитный объём ({format_kwh(transit)}) больше "
                f"расхода по счётчикам ({format_kwh(summed)}) — проверьте "
                "показания."
            )
        results.append(
            ObjectResult(
                obj.key,
                obj.name,
                meters,
                summed,
                transit,
                total,
                is_complete=not any(m.missing for m in meters),
            )
        )
        grand += total
    return Calculation(results, grand, messages)


def format_kwh(value: Decimal | int | None) -> str:
    """«12 345» or «12 345,5»: no-break spaces between thousands, a decimal comma."""
    if value is None:
        return ""
    d = Decimal(value)
    sign = "−" if d < 0 else ""
    d = abs(d)
    whole = int(d)
    frac = d - whole
    text = f"{whole:,}".replace(",", "\u00a0")
    if frac:
        text += "," + format(frac.normalize(), "f").split(".")[1]
    return sign + text
