"""The metering points of a contract and their mapping to its supply objects
and meters, kept by the supplier's people.

A point arrives with a file: the 80020 file names it by the market operator's
code (and a name), and a code not seen before is created without a meter —
«не сопоставлена» — until the supplier assigns it an object and a meter of the
contract (or renames it). The customer sees the mapping read-only. Every
change is audited with what it was before.

Flask-free: the functions take the :class:`~docflow.access.Actor`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docflow.access import Actor
from docflow.access.policy import require_hourly_mapping
from docflow.audit import record
from docflow.errors import NotFoundError, ValidationError
from docflow.readings.hourly_models import HourlyPoint, HourlyValue
from docflow.readings.models import Meter, SupplyObject

PAGE_SIZE = 50
MAX_NAME = 300


class MappingState(enum.StrEnum):
    MAPPED = "mapped"  # a meter (and so its object)
    OBJECT = "object"  # an object, no meter
    UNMAPPED = "unmapped"


STATE_TITLES = {
    MappingState.MAPPED: "сопоставлена",
    MappingState.OBJECT: "только объект",
    MappingState.UNMAPPED: "не сопоставлена",
}


def state_of(point: HourlyPoint) -> MappingState:
    if point.meter_id is not None:
        return MappingState.MAPPED
    if point.object_id is not None:
        return MappingState.OBJECT
    return MappingState.UNMAPPED


@dataclass(frozen=True)
class PointRow:
    """A point with what it holds: the hours with a value (any channel, each
    counted once however often it was loaded) and the first and last day."""

    point: HourlyPoint
    values: int
    first_day: dt.date | None
    last_day: dt.date | None

    @property
    def state(self) -> MappingState:
        return state_of(self.point)


@dataclass(frozen=True)
class PointPage:
    rows: list[PointRow]
    total: int  # points matching the filter
    unmapped: int  # points of the contract without an object or meter
    page: int
    pages: int


def _unmapped() -> Any:
    return HourlyPoint.meter_id.is_(None) & HourlyPoint.object_id.is_(None)


def point_page(
    session: Session, contract_id: uuid.UUID, *, only_unmapped: bool, page: int
) -> PointPage:
    """One page of a contract's points by code, with their values counted
    (the counting reads the index of the page's points only)."""
    where = [HourlyPoint.contract_id == contract_id]
    if only_unmapped:
        where.append(_unmapped())
    total = session.scalar(select(func.count()).select_from(HourlyPoint).where(*where))
    unmapped = session.scalar(
        select(func.count())
        .select_from(HourlyPoint)
        .where(HourlyPoint.contract_id == contract_id, _unmapped())
    )
    pages = max(1, -(-(total or 0) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    points = list(
        session.scalars(
            select(HourlyPoint)
            .where(*where)
            .order_by(HourlyPoint.code)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    stats: dict[uuid.UUID, tuple[int, dt.date, dt.date]] = {}
    if points:
        # Version 1 is each hour's first load: one row per hour with a value.
        for point_id, count, first, last in session.execute(
            select(
                HourlyValue.point_id,
                func.count(),
                func.min(HourlyValue.day),
                func.max(HourlyValue.day),
            )
            .where(
                HourlyValue.point_id.in_([p.id for p in points]),
                HourlyValue.version == 1,
            )
            .group_by(HourlyValue.point_id)
        ):
            stats[point_id] = (count, first, last)
    rows = [PointRow(p, *stats.get(p.id, (0, None, None))) for p in points]
    return PointPage(rows, total or 0, unmapped or 0, page, pages)


def contract_choices(
    session: Session, contract_id: uuid.UUID
) -> tuple[list[SupplyObject], list[Meter]]:
    """The objects and meters a point of the contract may be mapped to."""
    objects = list(
        session.scalars(
            select(SupplyObject)
            .where(SupplyObject.contract_id == contract_id)
            .order_by(SupplyObject.position, SupplyObject.name)
        )
    )
    meters = list(
        session.scalars(
            select(Meter).where(Meter.contract_id == contract_id).order_by(Meter.number)
        )
    )
    return objects, meters


def _clean_name(raw: str) -> str:
    name = " ".join("".join(c if c.isprintable() else " " for c in raw).split())
    if len(name) > MAX_NAME:
        raise ValidationError(
            f"Наименование точки — не длиннее {MAX_NAME} знаков.",
            details={"field": "name"},
        )
    return name


def map_point(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    point_id: uuid.UUID,
    object_id: uuid.UUID | None,
    meter_id: uuid.UUID | None,
    name: str,
) -> HourlyPoint:
    """Assign a point an object and a meter of its contract (either may be
    none; a meter alone brings its object) and a name.

    :raises NotFoundError: the contract or the point is not the actor's to see.
    :raises PermissionDeniedError: the actor is not the supplier's.
    :raises ValidationError: an object or meter of another contract, a meter
        of another object, a name too long.
    """
    require_hourly_mapping(session, actor, contract_id)
    point = session.get(HourlyPoint, point_id)
    if point is None or point.contract_id != contract_id:
        raise NotFoundError("Точка измерений не найдена.")
    clean = _clean_name(name)
    meter = session.get(Meter, meter_id) if meter_id else None
    if meter_id and (meter is None or meter.contract_id != contract_id):
        raise ValidationError(
            "Счётчик не из этого договора.", details={"field": "meter"}
        )
    obj = session.get(SupplyObject, object_id) if object_id else None
    if object_id and (obj is None or obj.contract_id != contract_id):
        raise ValidationError(
            "Объект не из этого договора.", details={"field": "object"}
        )
    if meter is not None and obj is not None and meter.object_id != obj.id:
        raise ValidationError(
            f"Счётчик № {meter.number} установлен не на объекте «{obj.name}».",
            details={"field": "meter"},
        )
    before = _snapshot(point)
    point.meter_id = meter.id if meter is not None else None
    point.object_id = (
        obj.id if obj is not None else (meter.object_id if meter is not None else None)
    )
    point.name = clean
    after = _snapshot(point)
    session.flush()
    if before != after:
        record(
            session,
            user=actor.user,
            action="hourly.point_mapped",
            object_type="contract",
            object_id=contract_id,
            details={
                "point": str(point.id),
                "code": point.code,
                "before": before,
                "after": after,
            },
            request_info=actor.request_info,
            actor_label=actor.label,
        )
    return point


def _snapshot(point: HourlyPoint) -> dict[str, Any]:
    return {
        "name": point.name,
        "object": str(point.object_id) if point.object_id else None,
        "meter": str(point.meter_id) if point.meter_id else None,
    }


def mapping_summary(
    session: Session, contract_id: uuid.UUID
) -> list[tuple[HourlyPoint, str, str]]:
    """Every point of a contract with its object's and meter's names, for the
    customer's read-only view on the hourly page."""
    rows = session.execute(
        select(HourlyPoint, SupplyObject.name, Meter.number)
        .outerjoin(SupplyObject, SupplyObject.id == HourlyPoint.object_id)
        .outerjoin(Meter, Meter.id == HourlyPoint.meter_id)
        .where(HourlyPoint.contract_id == contract_id)
        .order_by(HourlyPoint.code)
    ).all()
    return [(point, obj or "", meter or "") for point, obj, meter in rows]
