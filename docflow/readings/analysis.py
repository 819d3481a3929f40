"""Consumption by month (the analysis chart): accepted readings net of
transit, by the objects' voltage level.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
    Right,
)
from docflow.readings import calc
from docflow.readings.ledger import Ledger
from docflow.readings.meters import (
    get_contract,
    objects_of,
    transit_volumes,
)
from docflow.readings.models import (
    VOLTAGE_TITLES,
    ReadingKind,
    ReadingStatus,
    VoltageLevel,
)

# -- consumption by month (the analysis chart) -------------------------------------------


@dataclass(frozen=True)
class Series:
    voltage: VoltageLevel
    values: list[Decimal | None]  # one per period; None: no data

    @property
    def title(self) -> str:
        return VOLTAGE_TITLES[self.voltage]


@dataclass(frozen=True)
class ConsumptionChart:
    periods: list[dt.date]
    series: list[Series]

    @property
    def is_empty(self) -> bool:
        return not any(v is not None for s in self.series for v in s.values)

    def total(self, index: int) -> Decimal | None:
        values = [s.values[index] for s in self.series if s.values[index] is not None]
        return sum(values, Decimal(0)) if values else None  # type: ignore[arg-type]


def consumption_by_month(
    session: Session,
    *,
    contract_ids: Sequence[uuid.UUID],
    now: dt.datetime | None = None,
    months: int = 12,
) -> ConsumptionChart:
    """Consumption of closed periods (before the current month) from readings
    accepted into the calculation, net of transit, by the objects' voltage level.

    The caller scopes ``contract_ids`` (see :func:`chart_for_contract`).
    """
    current = calc.submission_window(now).period
    periods = [calc.add_months(current, -i) for i in range(months, 0, -1)]
    objects = objects_of(session, contract_ids) if contract_ids else []
    ledger = (
        Ledger.load(session, contract_ids, until=periods[-1])
        if contract_ids
        else Ledger([])
    )
    transit = transit_volumes(session, [o.id for o in objects], periods)
    accepted = (ReadingStatus.ACCEPTED,)
    by_level: dict[VoltageLevel, list[Decimal | None]] = {}
    for obj in objects:
        values = by_level.setdefault(obj.voltage, [None] * len(periods))
        for i, period in enumerate(periods):
            meters = []
            for meter in obj.meters:
                prev, _start = ledger.previous(meter.id, period, accepted)
                cur = ledger.get(meter.id, period, ReadingKind.END)
                meters.append(
                    calc.MeterInput(
                        key=str(meter.id),
                        number=meter.number,
                        digits=meter.digits,
                        ratio=meter.ratio,
                        previous=prev.value if prev else None,
                        current=cur.value if cur and cur.status in accepted else None,
                    )
                )
            result = calc.calculate(
                [
                    calc.ObjectInput(
                        str(obj.id),
                        obj.name,
                        meters,
                        transit.get((obj.id, period), Decimal(0)),
                    )
                ]
            )
            if any(m.consumption is not None for m in result.objects[0].meters):
                values[i] = (values[i] or Decimal(0)) + result.total
    order = list(VoltageLevel)
    series = [
        Series(level, by_level[level])
        for level in order
        if level in by_level and any(v is not None for v in by_level[level])
    ]
    return ConsumptionChart(periods, series)


def chart_for_contract(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    now: dt.datetime | None = None,
    right: Right = Right.VIEW,
) -> ConsumptionChart:
    contract = get_contract(session, actor=actor, contract_id=contract_id, right=right)
    return consumption_by_month(session, contract_ids=[contract.id], now=now)
