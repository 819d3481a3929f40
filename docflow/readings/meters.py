"""The contract a reading is about (access), its objects and meters, the
meters' effective state, and the transit volumes of its objects.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Actor,
    Right,
    acts_for_supplier,
    contract_rights,
    visible_contract_ids,
)
from docflow.contracts.models import Contract
from docflow.errors import (
    NotFoundError,
    PermissionDeniedError,
)
from docflow.readings import calc
from docflow.readings.models import (
    Meter,
    MeterStatus,
    SupplyObject,
    TransitVolume,
)

CONTRACT_NOT_FOUND = "Договор не найден."


# -- access --------------------------------------------------------------------


def get_contract(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    right: Right = Right.SUBMIT_READINGS,
) -> Contract:
    """The contract if the actor holds ``right`` on it.

    :raises NotFoundError: the actor cannot see the contract (or there is none).
    :raises PermissionDeniedError: it sees the contract but lacks ``right``.
    """
    contract = session.get(Contract, contract_id)
    rights = (
        contract_rights(session, actor, contract_id) if contract is not None else None
    )
    if contract is None or rights is None or not rights.view:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    if not rights.has(right):
        raise PermissionDeniedError(
            f"У вас нет права передачи показаний по договору № {contract.number}. "
            "Его даёт администратор договора в разделе «Управление доступом»."
        )
    return contract


def contracts_for_readings(session: Session, *, actor: Actor) -> list[Contract]:
    """Contracts the actor may submit readings for (for the supplier: those
    that have meters)."""
    stmt = (
        select(Contract)
        .where(Contract.id.in_(visible_contract_ids(actor, Right.SUBMIT_READINGS)))
        .options(selectinload(Contract.organisation))
        .order_by(Contract.number)
    )
    if acts_for_supplier(actor):
        stmt = stmt.where(Contract.id.in_(select(Meter.contract_id)))
    return list(session.scalars(stmt))


def effective_status(meter: Meter, today: dt.date) -> tuple[MeterStatus, str, str]:
    """(status, why no value can be entered, calibration warning)."""
    if meter.status == MeterStatus.FAULTY:
        return (
            meter.status,
            "Не исправен: показания не принимаются, обратитесь к куратору.",
            "",
        )
    if meter.status == MeterStatus.CALIBRATION_EXPIRED or calc.calibration_expired(
        meter.next_calibration, today
    ):
        when = f" ({meter.next_calibration:%d.%m.%Y})" if meter.next_calibration else ""
        return (
            MeterStatus.CALIBRATION_EXPIRED,
            f"Истёк срок МПИ{when}: показания не принимаются до поверки.",
            "",
        )
    if calc.calibration_due(meter.next_calibration, today):
        assert meter.next_calibration is not None
        days = (meter.next_calibration - today).days
        return (
            meter.status,
            "",
            f"Поверка до {meter.next_calibration:%d.%m.%Y} (осталось {days} дн.): "
            "не забудьте провести поверку.",
        )
    return meter.status, "", ""


def objects_of(
    session: Session, contract_ids: Sequence[uuid.UUID]
) -> list[SupplyObject]:
    return list(
        session.scalars(
            select(SupplyObject)
            .where(SupplyObject.contract_id.in_(contract_ids))
            .options(selectinload(SupplyObject.meters))
            .order_by(SupplyObject.position, SupplyObject.name)
        )
    )


def transit_volumes(
    session: Session,
    object_ids: Sequence[uuid.UUID],
    periods: Sequence[dt.date] | None = None,
) -> dict[tuple[uuid.UUID, dt.date], Decimal]:
    stmt = select(TransitVolume).where(TransitVolume.object_id.in_(object_ids))
    if periods is not None:
        stmt = stmt.where(TransitVolume.period.in_(periods))
    out: dict[tuple[uuid.UUID, dt.date], Decimal] = defaultdict(Decimal)
    for t in session.scalars(stmt):
        out[(t.object_id, t.period)] += Decimal(t.kwh)
    return out
