"""The demo world's readings: ООО «Ромашка»'s contract 77-0001-ЮЛ gets objects
at four voltage levels, meters (one faulty, one past its calibration date, one
due for calibration soon, one that passed through zero) and a year of accepted
readings (one not accepted, with a reason), so that the submission page, the
ПРОМ10 act and the consumption chart have something to show at once.

Idempotent: a contract that has objects already is left as it is.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import Contract
from docflow.readings import calc
from docflow.readings.models import (
    Meter,
    MeterStatus,
    Reading,
    ReadingKind,
    ReadingStatus,
    SupplyObject,
    TransitVolume,
    VoltageLevel,
)

CONTRACT = "77-0001-ЮЛ"
ADDRESS = "г. Москва, ул. Энергетиков, д. 7"
HISTORY_MONTHS = 12
REJECTED_REASON = (
    "Показание меньше контрольного снятия сетевой организации от 28-го "
    "числа; за месяц применён расчётный способ"
)

# (code, name, address, voltage, meters: (number, type, digits, ratio, status,
#  calibration in days from today or None, register at the start, units per month))
OBJECTS: list[tuple[str, str, str, VoltageLevel, list[tuple[Any, ...]]]] = [
    (
        "ОБ-1",
        "Административный корпус",
        ADDRESS,
        VoltageLevel.SN2,
        [
            (
                "01234567",
                "Меркурий 230 ART-03",
                8,
                80,
                MeterStatus.WORKING,
                1800,
                123_456,
                2100,
            ),
            (
                "01234568",
                "Меркурий 230 ART-03",
                8,
                80,
                MeterStatus.WORKING,
                40,
                654_321,
                800,
            ),
        ],
    ),
    (
        "ОБ-2",
        "Производственный цех № 1",
        f"{ADDRESS}, стр. 2",
        VoltageLevel.SN1,
        [
            (
                "11002233",
                "СЭТ-4ТМ.03М",
                8,
                2400,
                MeterStatus.WORKING,
                2200,
                4_410_020,
                150,
            ),
            (
                "11002234",
                "СЭТ-4ТМ.03М",
                8,
                2400,
                MeterStatus.FAULTY,
                900,
                1_200_400,
                40,
            ),
        ],
    ),
    (
        "ОБ-3",
        "Подстанция ПС-110 «Заводская», ввод Т-1",
        f"{ADDRESS}, стр. 9",
        VoltageLevel.VN,
        [
            (
                "22003344",
                "Альфа A1800",
                7,
                13_200,
                MeterStatus.WORKING,
                3000,
                18_250,
                45,
            ),
        ],
    ),
    (
        "ОБ-4",
        "Склад готовой продукции",
        f"{ADDRESS}, стр. 4",
        VoltageLevel.NN,
        [
            ("3300445", "Меркурий 201.8", 6, 1, MeterStatus.WORKING, -20, 45_000, 900),
            (
                "4400556",
                "Меркурий 230 ART-02",
                6,
                60,
                MeterStatus.WORKING,
                1500,
                991_900,
                1900,
            ),
        ],
    ),
]
TRANSIT = ("ОБ-2", "ООО «Сосед» (магазин, транзит через ТП-1452)", 12_500)


def _season(period: dt.date) -> float:
    """More in winter, less in summer."""
    return 1 + 0.25 * math.cos(2 * math.pi * (period.month - 1) / 12)


def seed_readings(
    session: Session, world: dict[str, Any], today: dt.date | None = None
) -> None:
    contract = session.scalar(select(Contract).where(Contract.number == CONTRACT))
    if contract is None:
        return
    world["readings"] = {"contract": CONTRACT}
    if (
        session.scalar(
            select(SupplyObject.id)
            .where(SupplyObject.contract_id == contract.id)
            .limit(1)
        )
        is not None
    ):
        return
    today = today or calc.moscow_now().date()
    current = calc.period_of(today)
    first = calc.add_months(current, -HISTORY_MONTHS - 1)
    rejected_period = calc.add_months(current, -2)
    for position, (code, name, address, voltage, meters) in enumerate(OBJECTS):
        obj = SupplyObject(
            contract_id=contract.id,
            code=code,
            name=name,
            address=address,
            voltage=voltage,
            position=position,
        )
        session.add(obj)
        session.flush()
        for index, (
            number,
            mtype,
            digits,
            ratio,
            status,
            calib,
            start,
            per_month,
        ) in enumerate(meters):
            meter = Meter(
                contract_id=contract.id,
                object_id=obj.id,
                number=number,
                meter_type=mtype,
                digits=digits,
                ratio=ratio,
                status=status,
                next_calibration=(
                    today + dt.timedelta(days=calib) if calib is not None else None
                ),
                position=index,
            )
            session.add(meter)
            session.flush()
            value = start
            for months in range(HISTORY_MONTHS + 1):
                period = calc.add_months(first, months)
                if months:
                    value = (value + round(per_month * _season(period))) % 10**digits
                if status == MeterStatus.FAULTY and months > HISTORY_MONTHS - 3:
                    continue  # broken three months ago: no readings since
                rejected = period == rejected_period and number == "01234567"
                decided = dt.datetime.combine(
                    calc.last_day(period), dt.time(12), tzinfo=calc.MSK
                ) + dt.timedelta(days=3)
                session.add(
                    Reading(
                        contract_id=contract.id,
                        meter_id=meter.id,
                        period=period,
                        kind=ReadingKind.END,
                        value=value + (-900 if rejected else 0),
                        is_rollover=months > 0 and value < per_month * 2,
                        status=ReadingStatus.REJECTED
                        if rejected
                        else ReadingStatus.ACCEPTED,
                        rejection_reason=REJECTED_REASON if rejected else None,
                        source="demo",
                        sent_at=decided - dt.timedelta(days=8),
                        decided_at=decided,
                    )
                )
        if code == TRANSIT[0]:
            for months in range(1, HISTORY_MONTHS + 2):
                session.add(
                    TransitVolume(
                        object_id=obj.id,
                        period=calc.add_months(first, months),
                        consumer=TRANSIT[1],
                        kwh=TRANSIT[2],
                    )
                )
    session.flush()
