"""The history of submitted readings and the supplier's decisions (accepted
into the calculation or refused with a reason).

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Actor,
    acts_for_supplier,
)
from docflow.audit import record
from docflow.contracts.models import Contract
from docflow.db import utcnow
from docflow.errors import (
    PermissionDeniedError,
    ValidationError,
)
from docflow.readings import calc
from docflow.readings.meters import (
    get_contract,
)
from docflow.readings.models import (
    Meter,
    Reading,
    ReadingStatus,
    SupplyObject,
)

# -- history and the supplier's decisions ----------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    reading: Reading
    meter: Meter
    obj: SupplyObject

    @property
    def padded(self) -> str:
        return calc.pad(self.reading.value, self.meter.digits)


@dataclass(frozen=True)
class HistoryPeriod:
    period: dt.date
    rows: list[HistoryRow]

    @property
    def title(self) -> str:
        return calc.period_title(self.period)

    def count(self, status: ReadingStatus) -> int:
        return sum(1 for r in self.rows if r.reading.status == status)


def reading_history(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date | None = None,
) -> list[HistoryPeriod]:
    """Submitted readings by period (newest first), with whether each was
    accepted into the calculation."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    stmt = (
        select(Reading, Meter, SupplyObject)
        .join(Meter, Meter.id == Reading.meter_id)
        .join(SupplyObject, SupplyObject.id == Meter.object_id)
        .where(
            Reading.contract_id == contract.id, Reading.status != ReadingStatus.READY
        )
        .order_by(
            Reading.period.desc(),
            SupplyObject.position,
            SupplyObject.name,
            Meter.position,
            Meter.number,
            Reading.kind.desc(),
        )
    )
    if period is not None:
        stmt = stmt.where(Reading.period == period)
    grouped: dict[dt.date, list[HistoryRow]] = {}
    for reading, meter, obj in session.execute(stmt).tuples():
        grouped.setdefault(reading.period, []).append(HistoryRow(reading, meter, obj))
    return [HistoryPeriod(p, rows) for p, rows in grouped.items()]


@dataclass(frozen=True)
class PendingGroup:
    contract: Contract
    period: dt.date
    rows: list[HistoryRow]

    @property
    def title(self) -> str:
        return calc.period_title(self.period)


def pending_decisions(
    session: Session, *, actor: Actor, limit: int = 500
) -> list[PendingGroup]:
    """Readings sent into the calculation and not decided yet (the supplier's view)."""
    if not acts_for_supplier(actor):
        raise PermissionDeniedError("Только для сотрудников поставщика.")
    stmt = (
        select(Reading, Meter, SupplyObject)
        .join(Meter, Meter.id == Reading.meter_id)
        .join(SupplyObject, SupplyObject.id == Meter.object_id)
        .where(Reading.status == ReadingStatus.SENT)
        .order_by(
            Reading.period, Reading.contract_id, SupplyObject.position, Meter.number
        )
        .limit(limit)
    )
    groups: dict[tuple[uuid.UUID, dt.date], list[HistoryRow]] = {}
    for reading, meter, obj in session.execute(stmt).tuples():
        groups.setdefault((reading.contract_id, reading.period), []).append(
            HistoryRow(reading, meter, obj)
        )
    contracts = {
        c.id: c
        for c in session.scalars(
            select(Contract)
            .where(Contract.id.in_({k[0] for k in groups}))
            .options(selectinload(Contract.organisation))
        )
    }
    return [
        PendingGroup(contracts[cid], period, rows)
        for (cid, period), rows in groups.items()
    ]


def decide_readings(
    session: Session,
    *,
    actor: Actor,
    reading_ids: Sequence[uuid.UUID],
    accept: bool,
    reason: str = "",
) -> int:
    """The supplier accepts readings into the calculation or refuses them with a
    reason («Не принято»). Only readings «Передано» change; returns how many.

    :raises PermissionDeniedError: not the supplier.
    :raises ValidationError: a refusal without a reason.
    """
    if not acts_for_supplier(actor):
        raise PermissionDeniedError("Решение о принятии показаний принимает поставщик.")
    reason = reason.strip()
    if not accept and len(reason) < 3:
        raise ValidationError(
            "Укажите причину, по которой показания не приняты.",
            details={"field": "reason"},
        )
    readings = list(
        session.scalars(
            select(Reading).where(
                Reading.id.in_(list(reading_ids)), Reading.status == ReadingStatus.SENT
            )
        )
    )
    moment = utcnow()
    for r in readings:
        r.status = ReadingStatus.ACCEPTED if accept else ReadingStatus.REJECTED
        r.rejection_reason = None if accept else reason[:2000]
        r.decided_at = moment
        r.decided_by_id = actor.user_id
    session.flush()
    for contract_id in {r.contract_id for r in readings}:
        mine = [r for r in readings if r.contract_id == contract_id]
        record(
            session,
            user=actor.user,
            action="readings.accepted" if accept else "readings.rejected",
            object_type="contract",
            object_id=contract_id,
            details={
                "count": len(mine),
                "reason": reason,
                "periods": sorted({calc.period_key(r.period) for r in mine}),
            },
            request_info=actor.request_info,
            actor_label=actor.label,
        )
    return len(readings)
