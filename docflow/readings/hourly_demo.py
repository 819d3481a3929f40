"""The demo world's hourly volumes: each meter of ООО «Ромашка»'s contract
77-0001-ЮЛ gets a metering point with an 80020-style code and the last full
month of hourly values (channels A+ and R+), shaped like a working day.
Idempotent: points and a month already there are left as they are."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import Contract
from docflow.readings import hourly_services as hs
from docflow.readings.hourly_formats import HourRow
from docflow.readings.hourly_models import Channel, HourlyPoint, HourlyValue
from docflow.readings.models import Meter

CONTRACT = "77-0001-ЮЛ"


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
    rows: list[HourRow] = []
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
            for hour in range(24):
                active = _load(hour, day, base)
                rows.append(HourRow(point.code, Channel.AP, day, hour, active))
                rows.append(
                    HourRow(
                        point.code, Channel.RP, day, hour, (active * Decimal("0.3"))
                    )
                )
            day += dt.timedelta(days=1)
    hs.write_rows(session, contract.id, None, rows, points)
    world.setdefault("hourly", {})["contract"] = CONTRACT
