"""The submission sheet of a contract's period: objects, meters, previous and
current values, what may be entered, the preliminary consumption.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
)
from docflow.contracts.models import Contract
from docflow.errors import (
    ValidationError,
)
from docflow.readings import calc
from docflow.readings.calc import Window
from docflow.readings.ledger import SUBMITTED, Ledger
from docflow.readings.meters import (
    effective_status,
    get_contract,
    objects_of,
    transit_volumes,
)
from docflow.readings.models import (
    VOLTAGE_TITLES,
    Meter,
    MeterStatus,
    Reading,
    ReadingKind,
    ReadingStatus,
    SupplyObject,
)
from docflow.readings.window import (
    DEFAULT_WINDOW_DAYS,
    WindowDays,
    window_for,
)

# -- the submission sheet ----------------------------------------------------------


@dataclass
class MeterLine:
    meter: Meter
    status: MeterStatus  # effective: a meter past its calibration date is expired
    blocked_reason: str  # why no value can be entered («Не исправен»…)
    calibration_warning: str
    previous: Reading | None
    start: Reading | None
    current: Reading | None
    average: Decimal | None
    result: calc.MeterResult | None = None

    @property
    def can_read(self) -> bool:
        return not self.blocked_reason

    @property
    def blocked_hint(self) -> str:
        """The reason without the status the page shows beside it."""
        hint = self.blocked_reason.split(": ", 1)[-1]
        return hint[:1].upper() + hint[1:]

    @property
    def previous_padded(self) -> str:
        return calc.pad(
            self.previous.value if self.previous else None, self.meter.digits
        )

    @property
    def previous_label(self) -> str:
        """«00123456 (октябрь 2026 г.)» / «00123456 (на начало периода)»."""
        if self.previous is None:
            return ""
        if self.previous.kind == ReadingKind.START:
            return f"{self.previous_padded} (на начало периода)"
        return f"{self.previous_padded} ({calc.period_title(self.previous.period)})"

    @property
    def start_padded(self) -> str:
        return calc.pad(self.start.value if self.start else None, self.meter.digits)

    @property
    def current_padded(self) -> str:
        return calc.pad(self.current.value if self.current else None, self.meter.digits)


@dataclass
class ObjectBlock:
    obj: SupplyObject
    lines: list[MeterLine]
    transit: Decimal
    result: calc.ObjectResult | None = None

    @property
    def voltage_title(self) -> str:
        return VOLTAGE_TITLES[self.obj.voltage]


@dataclass
class Sheet:
    """What «Передача показаний» shows for a contract and period."""

    contract: Contract
    period: dt.date
    window: Window
    objects: list[ObjectBlock]
    can_submit: bool  # the window is open and this is its period
    calculation: calc.Calculation
    periods: list[dt.date] = field(default_factory=list)

    @property
    def period_title(self) -> str:
        return calc.period_title(self.period)

    @property
    def unsent(self) -> int:
        return sum(
            1
            for b in self.objects
            for ln in b.lines
            for r in (ln.current, ln.start)
            if r is not None and r.status == ReadingStatus.READY
        )

    @property
    def meters(self) -> list[MeterLine]:
        return [ln for b in self.objects for ln in b.lines]

    @property
    def sent_count(self) -> int:
        """End-of-period values sent into the calculation (what a filled act prints)."""
        return sum(
            1
            for ln in self.meters
            if ln.current is not None and ln.current.status in SUBMITTED
        )

    @property
    def previous_period(self) -> dt.date | None:
        """The latest earlier period with readings (where the history is)."""
        return next((p for p in self.periods if p < self.period), None)

    @property
    def closed_reason(self) -> str:
        if self.can_submit:
            return ""
        if self.period != self.window.period:
            return (
                f"Это история за {self.period_title}: показания за прошедшие периоды "
                "не принимаются."
            )
        return self.window.message


def _periods(
    session: Session, contract_id: uuid.UUID, current: dt.date
) -> list[dt.date]:
    """The periods to choose from: the current one, and every one with readings."""
    found = set(
        session.scalars(
            select(Reading.period).where(Reading.contract_id == contract_id).distinct()
        )
    )
    found.add(current)
    return sorted((p for p in found if p <= current), reverse=True)


def list_meters(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date | None = None,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> Sheet:
    """The contract's objects with their meters for ``period`` (default: the
    current one): previous and current values, what may be entered, and the
    preliminary consumption.

    :raises NotFoundError: the contract is not visible to the actor.
    :raises PermissionDeniedError: the actor may not submit readings for it.
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    window = window_for(now, window_days)
    period = period or window.period
    if period > window.period:
        raise ValidationError(
            "Показания за будущий период не принимаются.", details={"field": "period"}
        )
    today = calc.moscow_now(now).date()
    objects = objects_of(session, [contract.id])
    ledger = Ledger.load(session, [contract.id], until=period)
    transit = transit_volumes(session, [o.id for o in objects], [period])
    blocks: list[ObjectBlock] = []
    inputs: list[calc.ObjectInput] = []
    for obj in objects:
        lines: list[MeterLine] = []
        for meter in obj.meters:
            status, blocked, warning = effective_status(meter, today)
            previous, start = ledger.previous(meter.id, period, ready_start=True)
            history = ledger.history(meter.id, period)
            lines.append(
                MeterLine(
                    meter=meter,
                    status=status,
                    blocked_reason=blocked,
                    calibration_warning=warning,
                    previous=previous,
                    start=start,
                    current=ledger.get(meter.id, period, ReadingKind.END),
                    average=calc.average_monthly(history, meter.digits),
                )
            )
        block = ObjectBlock(obj, lines, transit.get((obj.id, period), Decimal(0)))
        blocks.append(block)
        inputs.append(
            calc.ObjectInput(
                key=str(obj.id),
                name=obj.name,
                transit=block.transit,
                meters=[
                    calc.MeterInput(
                        key=str(ln.meter.id),
                        number=ln.meter.number,
                        digits=ln.meter.digits,
                        ratio=ln.meter.ratio,
                        previous=ln.previous.value if ln.previous else None,
                        current=(
                            ln.current.value
                            if ln.current is not None
                            and ln.current.status != ReadingStatus.REJECTED
                            else None
                        ),
                        can_read=ln.can_read,
                    )
                    for ln in lines
                ],
            )
        )
    calculation = calc.calculate(inputs)
    for block, result in zip(blocks, calculation.objects, strict=True):
        block.result = result
        for line, mres in zip(block.lines, result.meters, strict=True):
            line.result = mres
    can_submit = window.is_open and period == window.period
    return Sheet(
        contract,
        period,
        window,
        blocks,
        can_submit,
        calculation,
        periods=_periods(session, contract.id, window.period),
    )
