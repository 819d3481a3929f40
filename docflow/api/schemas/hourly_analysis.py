"""The hourly analysis («Почасовой анализ») of a contract's month: the filters
of the page as query parameters, and its figures as one answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from docflow.api.schemas.fields import (
    DOCUMENTED,
    QueryModel,
    ResponseModel,
    choice_param,
    component,
    refusal,
)
from docflow.readings import hourly_analysis as ha

DAY_SCHEMA = {"type": "string", "format": "date"}
MONTH = r"^\d{4}-\d{2}$"
CHANNELS = ("A+", "A-", "R+", "R-")
THRESHOLDS = tuple(str(t) for t in ha.THRESHOLDS)
#: A kWh (kvarh) figure, an average or a percentage: a decimal written as a
#: string, at most four decimals (the precision of the stored values).
NUMBER_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d{1,4})?$"}
Number = Annotated[str, WithJsonSchema(NUMBER_SCHEMA)]
OptionalNumber = Annotated[
    str | None, WithJsonSchema({**NUMBER_SCHEMA, "nullable": True})
]
#: The 24 hours of a day (hour 0: 00:00–01:00 МСК); null: no value.
Hours = Annotated[
    list[str | None],
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 24,
            "maxItems": 24,
            "items": {**NUMBER_SCHEMA, "nullable": True},
        }
    ),
]
HourSums = Annotated[
    list[str],
    WithJsonSchema(
        {"type": "array", "minItems": 24, "maxItems": 24, "items": NUMBER_SCHEMA}
    ),
]
Day = Annotated[str, WithJsonSchema(DAY_SCHEMA)]
OptionalDay = Annotated[str | None, WithJsonSchema({**DAY_SCHEMA, "nullable": True})]
Hour = Annotated[int, Field(ge=0, le=23)]


def _month(raw: Any) -> dt.date:
    try:
        if not isinstance(raw, str) or len(raw) != 7 or not raw.isascii():
            raise ValueError(raw)
        month = dt.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise refusal("Параметр «{field}»: ожидается месяц ГГГГ-ММ.") from None
    if not 2000 <= month.year <= 2100:
        raise refusal("Параметр «{field}»: месяц вне допустимого диапазона.")
    return month


def _day(raw: Any) -> dt.date:
    try:
        if not isinstance(raw, str) or len(raw) != 10 or not raw.isascii():
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise refusal("Параметр «{field}»: ожидается дата ГГГГ-ММ-ДД.") from None


def _channel(raw: Any) -> str:
    # Exactly as written in the document (as the page's choice): a lenient
    # reading («a+», a Cyrillic «А») would take what the description refuses.
    if raw not in CHANNELS:
        raise refusal("Параметр «{field}»: A+, A-, R+ или R-.")
    return str(raw)


class HourlyAnalysisQuery(QueryModel):
    """The page's filters (``hourly_analysis_views._filters``) with the point
    named by its code, as the other hourly operations name it. An empty
    ``month`` or ``day`` is refused, not taken for the default: the document
    says what a value looks like, and an empty one is not that."""

    month: Annotated[
        dt.date | None,
        BeforeValidator(_month),
        WithJsonSchema({"type": "string", "pattern": MONTH}),
    ] = Field(None, description="Месяц ГГГГ-ММ (по умолчанию — прошлый).")
    point: str = Field(
        "",
        description="Код точки измерений (по умолчанию — все точки договора).",
        max_length=30,
    )
    channel: Annotated[
        str,
        BeforeValidator(_channel),
        WithJsonSchema({"type": "string", "enum": list(CHANNELS)}),
    ] = Field("A+", description="Канал (по умолчанию A+).")
    threshold: Annotated[
        str,
        choice_param(THRESHOLDS),
        WithJsonSchema({"type": "string", "enum": list(THRESHOLDS)}),
    ] = Field(
        str(ha.DEFAULT_THRESHOLD),
        description="Порог отклонения факта от плана ППП, %.",
        json_schema_extra=DOCUMENTED,
    )
    day: Annotated[
        dt.date | None, BeforeValidator(_day), WithJsonSchema(DAY_SCHEMA)
    ] = Field(
        None,
        description="День суточного профиля (по умолчанию — день максимальной "
        "часовой нагрузки месяца).",
    )


class AnalysisMaximum(ResponseModel):
    day: Day
    hour: Hour
    value: Number


class AnalysisTotals(ResponseModel):
    total: Number
    days_with_data: int
    maximum: AnalysisMaximum | None
    mean: OptionalNumber


class AnalysisDay(ResponseModel):
    day: Day
    workday: bool
    total: OptionalNumber
    hours: Hours
    peak_hours: list[Hour]


class AnalysisProfile(ResponseModel):
    day: OptionalDay
    values: Hours
    day_total: OptionalNumber
    workdays: Hours
    weekends: Hours
    workday_count: int
    weekend_count: int


class AnalysisPeakHour(ResponseModel):
    day: Day
    hour: Hour
    value: OptionalNumber


class AnalysisPeaks(ResponseModel):
    is_set: bool
    count: int
    with_data: int
    missing: int
    total: OptionalNumber
    average: OptionalNumber
    maximum: OptionalNumber
    hours: list[AnalysisPeakHour]


class AnalysisPlanHour(ResponseModel):
    hour: Hour
    plan: OptionalNumber
    fact: OptionalNumber
    deviation: OptionalNumber
    percent: OptionalNumber
    over_threshold: bool


class AnalysisPlanDay(ResponseModel):
    day: Day
    workday: bool
    status: Literal["submitted", "accepted"]
    status_title: str
    version: int
    plan_total: OptionalNumber
    fact_total: OptionalNumber
    hours_with_fact: int
    deviation: OptionalNumber
    percent: OptionalNumber
    hours_over: int
    over_threshold: bool
    hours: list[AnalysisPlanHour]


class AnalysisPlan(ResponseModel):
    threshold: Number
    has_plan: bool
    compared_hours: int
    plan_total: OptionalNumber
    fact_total: OptionalNumber
    deviation: OptionalNumber
    percent: OptionalNumber
    hours_over: int
    days: list[AnalysisPlanDay]


@component
class HourlyAnalysis(ResponseModel):
    contract: str
    month: Annotated[str, WithJsonSchema({"type": "string", "pattern": MONTH})]
    channel: Literal["A+", "A-", "R+", "R-"]
    units: str
    point: str | None
    points: int
    totals: AnalysisTotals
    hour_totals: HourSums
    days: list[AnalysisDay]
    profile: AnalysisProfile
    peaks: AnalysisPeaks
    plan: AnalysisPlan
