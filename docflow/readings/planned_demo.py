"""The demo world's ППП: on ООО «Ромашка»'s contract 77-0001-ЮЛ a request
submitted for the day after tomorrow + 1 (tomorrow + 2, still open for a
re-submission) and a draft for the day after it. Idempotent: a day that has a
request already is left as it is."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.contracts.models import Contract
from docflow.readings.planned_models import (
    PlannedRequest,
    PlannedStatus,
    PlannedVersion,
)
from docflow.readings.planned_services import MSK, utcnow

CONTRACT = "77-0001-ЮЛ"


def profile(scale: int = 1) -> list[str]:
    """A working day: a night base, the morning rise, a lunch dip, the evening fall."""
    base = [
        120,
        115,
        110,
        110,
        115,
        130,
        210,
        380,
        520,
        560,
        570,
        565,
        480,
        540,
        555,
        550,
        530,
        470,
        360,
        260,
        200,
        170,
        150,
        130,
    ]
    return [f"{v * scale:.3f}" for v in base]


def seed_demo(session: Session, world: dict[str, Any]) -> None:
    contract = session.scalar(select(Contract).where(Contract.number == CONTRACT))
    if contract is None:
        return
    today = utcnow().astimezone(MSK).date()
    submitted_day = today + dt.timedelta(days=3)
    draft_day = today + dt.timedelta(days=4)
    if (
        session.scalar(
            select(PlannedRequest.id).where(
                PlannedRequest.contract_id == contract.id,
                PlannedRequest.day == submitted_day,
            )
        )
        is None
    ):
        req = PlannedRequest(
            contract_id=contract.id,
            day=submitted_day,
            status=PlannedStatus.SUBMITTED.value,
            hours=profile(),
            version=1,
            submitted_at=utcnow(),
        )
        session.add(req)
        session.flush()
        session.add(
            PlannedVersion(request_id=req.id, version=1, hours=profile(), source="demo")
        )
    if (
        session.scalar(
            select(PlannedRequest.id).where(
                PlannedRequest.contract_id == contract.id,
                PlannedRequest.day == draft_day,
            )
        )
        is None
    ):
        hours: list[str | None] = list(profile())
        hours[18:] = [None] * 6  # the evening is not planned yet
        session.add(
            PlannedRequest(
                contract_id=contract.id,
                day=draft_day,
                status=PlannedStatus.DRAFT.value,
                hours=hours,
                version=0,
            )
        )
    session.flush()
