"""The demo world's hourly volumes: each meter of ООО «Ромашка»'s contract
77-0001-ЮЛ gets a metering point with an 80020-style code and the last full
month of hourly values (channels A+ and R+), shaped like a working day. One
more point came with an 80020 file under a code the supplier has not mapped
yet («не сопоставлена» on «Точки измерений»); its values are of the month
before (the analysis pages, which read the last full month and the current
one, do not see it). Idempotent: points and months already there are left
as they are."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import Contract
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_formats import HOURS, Series, value_text
from docflow.readings.hourly_models import Channel, HourlyPoint, HourlyValue
from docflow.readings.models import Meter

CONTRACT = "77-0001-ЮЛ"
UNMAPPED_CODE = "770001000000099901"
UNMAPPED_NAME = "Новый ввод (ТП-14)"


def _load(hour: int, day: dt.date, base: float) -> Decimal:
    workday = day.weekday() < 5
    shape = 0.35 + (0.65 if workday else 0.25) * max(
        0.0, math.sin(math.pi * (hour - 6) / 14)
    )
    wiggle = ((day.toordinal() * 7 + hour * 13) % 11) / 100
    return Decimal(str(round(base * (shape + wiggle), 1)))


def seed_demo(
    session: Session, world: dict[str, Any], today: dt.date | None = None
) -> None:
    contract = session.scalar(select(Contract).where(Contract.number == CONTRACT))
    if contract is None:
        return
    today = today or dt.date.today()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    first, last = hs.month_bounds(month)
    meters = list(
        session.scalars(
            select(Meter).where(Meter.contract_id == contract.id).order_by(Meter.number)
        )
    )
    points: dict[str, Any] = {}
    series: list[Series] = []
    for index, meter in enumerate(meters, 1):
        point = session.scalar(
            select(HourlyPoint).where(
                HourlyPoint.contract_id == contract.id, HourlyPoint.meter_id == meter.id
            )
        )
        if point is None:
            point = HourlyPoint(
                contract_id=contract.id,
                object_id=meter.object_id,
                meter_id=meter.id,
                code=f"7700010000000{index:05d}",
                name=f"Счётчик № {meter.number}",
            )
            session.add(point)
            session.flush()
        has_month = session.scalar(
            select(HourlyValue.day)
            .where(
                HourlyValue.point_id == point.id, HourlyValue.day.between(first, last)
            )
            .limit(1)
        )
        if has_month is not None:
            continue
        points[point.code] = point.id
        base = 40.0 * index
        day = first
        while day <= last:
            active = [_load(hour, day, base) for hour in HOURS]
            reactive = [value * Decimal("0.3") for value in active]
            for channel, values in ((Channel.AP, active), (Channel.RP, reactive)):
                texts = [value_text(v) for v in values]
                series.append(Series(point.code, channel, day, HOURS, texts, [0] * 24))
            day += dt.timedelta(days=1)
    series += _unmapped_point(session, contract, first, points)
    hs.write_series(session, contract.id, None, series, points)
    world.setdefault("hourly", {})["contract"] = CONTRACT


def _unmapped_point(
    session: Session, contract: Contract, month_after: dt.date, points: dict[str, Any]
) -> list[Series]:
    """The point without a meter and the month before ``month_after`` of its
    values (A+), unless it is there."""
    first, last = hs.month_bounds(month_after - dt.timedelta(days=1))
    point = session.scalar(
        select(HourlyPoint).where(
            HourlyPoint.contract_id == contract.id, HourlyPoint.code == UNMAPPED_CODE
        )
    )
    if point is not None:
        return []
    point = HourlyPoint(contract_id=contract.id, code=UNMAPPED_CODE, name=UNMAPPED_NAME)
    session.add(point)
    session.flush()
    points[point.code] = point.id
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        Series(
            point.code,
            Channel.AP,
            day,
            HOURS,
            [value_text(_load(hour, day, 25.0)) for hour in HOURS],
            [0] * 24,
        )
        for day in days
    ]
