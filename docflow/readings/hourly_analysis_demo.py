"""The demo world's hourly analysis, on ООО «Ромашка»'s contract 77-0001-ЮЛ
(whose last full month of hourly values :mod:`docflow.readings.hourly_demo`
loads): a ППП for each working day of that month — accepted, some filed
twice — planned a few per cent off the actual hours, so planned against
actual shows deviations on both sides of ±5 %; the plan peak hours of that
month and of the current one (an hour of each working day); and the control
measurement of the latest June or December day, filled from hourly values
of that day (loaded here when the point has none).

Idempotent: a day with a request, a month with peak hours, a control day
with a measurement are left as they are.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.contracts.models import Contract
from docflow.readings import hourly_analysis as ha
from docflow.readings.hourly_analysis_models import ControlMeasurement, PeakHour
from docflow.readings.hourly_models import HourlyPoint, HourlyValue
from docflow.readings.planned_demo import profile
from docflow.readings.planned_models import (
    PlannedRequest,
    PlannedStatus,
    PlannedVersion,
)
from docflow.readings.planned_services import MSK

CONTRACT = "77-0001-ЮЛ"
#: The hour of a working day's plan peak: mornings early in the week,
#: evenings late in it (as the market operator's hours move about).
PEAK_BY_WEEKDAY = (10, 11, 10, 17, 18)


def _off(day: dt.date, hour: int) -> Decimal:
    """The plan's share of the actual hour: within ±5.6 % (one hour in eight
    beyond ±5 %), a day's evening planned 12 % short now and then."""
    k = (day.toordinal() * 7 + hour * 3) % 17
    share = Decimal(1) + Decimal(k - 8) * Decimal("0.007")
    if day.day % 9 == 4 and hour >= 18:
        share = Decimal("0.88")
    return share


def _plans(session: Session, contract: Contract, month: dt.date) -> None:
    point_ids = list(
        session.scalars(
            select(HourlyPoint.id).where(HourlyPoint.contract_id == contract.id)
        )
    )
    grid = ha.month_grid(session, point_ids=point_ids, channel="A+", month=month)
    have = set(
        session.scalars(
            select(PlannedRequest.day).where(
                PlannedRequest.contract_id == contract.id,
                PlannedRequest.day.between(*ha.month_bounds(month)),
            )
        )
    )
    fallback = [Decimal(v) for v in profile()]
    for day in ha.month_days(month):
        if day in have or not ha.is_workday(day):
            continue
        actual = [grid.get(day, h) for h in range(ha.HOURS)]
        hours = [
            f"{(a if a is not None else fallback[h]) * _off(day, h):.3f}"
            for h, a in enumerate(actual)
        ]
        first = [f"{Decimal(v) * Decimal('1.1'):.3f}" for v in hours]
        versions = [first, hours] if day.day % 5 == 1 else [hours]
        req = PlannedRequest(
            contract_id=contract.id,
            day=day,
            status=(
                PlannedStatus.SUBMITTED.value
                if day.day % 5 == 1
                else PlannedStatus.ACCEPTED.value
            ),
            hours=hours,
            version=len(versions),
            submitted_at=dt.datetime.combine(
                day - dt.timedelta(days=3), dt.time(9), MSK
            ),
        )
        session.add(req)
        session.flush()
        session.add_all(
            PlannedVersion(request_id=req.id, version=n, hours=v, source="demo")
            for n, v in enumerate(versions, 1)
        )


def _peak_hours(session: Session, month: dt.date) -> None:
    first, last = ha.month_bounds(month)
    if session.scalar(
        select(func.count())
        .select_from(PeakHour)
        .where(PeakHour.day.between(first, last))
    ):
        return
    session.add_all(
        PeakHour(day=d, hour=PEAK_BY_WEEKDAY[d.weekday()])
        for d in ha.month_days(month)
        if ha.is_workday(d)
    )


def _control(session: Session, contract: Contract, today: dt.date) -> None:
    day = ha.latest_control_date(session, today).day
    if session.scalar(
        select(ControlMeasurement.id).where(
            ControlMeasurement.contract_id == contract.id, ControlMeasurement.day == day
        )
    ):
        return
    points = list(
        session.scalars(
            select(HourlyPoint)
            .where(
                HourlyPoint.contract_id == contract.id,
                HourlyPoint.meter_id.is_not(None),
            )
            .order_by(HourlyPoint.code)
        )
    )
    for index, point in enumerate(points, 1):
        loaded = session.scalar(
            select(HourlyValue.day)
            .where(HourlyValue.point_id == point.id, HourlyValue.day == day)
            .limit(1)
        )
        if loaded is not None:
            continue
        session.add_all(
            HourlyValue(
                point_id=point.id,
                channel="A+",
                day=day,
                hour=h,
                version=1,
                value=Decimal(
                    str(
                        round(
                            38.0
                            * index
                            * (0.4 + 0.6 * max(0.0, math.sin(math.pi * (h - 6) / 14))),
                            1,
                        )
                    )
                ),
                status=0,
            )
            for h in range(ha.HOURS)
        )
    session.flush()
    if points:
        ha.control_from_hourly(
            session,
            actor=Actor.system("демо-данные"),
            contract_id=contract.id,
            day=day,
            today=today,
        )


def seed_demo(
    session: Session, world: dict[str, Any], today: dt.date | None = None
) -> None:
    contract = session.scalar(select(Contract).where(Contract.number == CONTRACT))
    if contract is None:
        return
    today = today or ha.today_msk()
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    _plans(session, contract, month)
    _peak_hours(session, month)
    _peak_hours(session, today.replace(day=1))
    _control(session, contract, today)
    session.flush()
    world["hourly_analysis"] = {
        "contract": CONTRACT,
        "contract_id": str(contract.id),
        "month": month.isoformat(),
    }
