"""The contract card's «Объекты и приборы учёта» and the main page's
«Показания» widget.

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
    contract_rights,
)
from docflow.contracts.models import Contract
from docflow.readings.analysis import (
    ConsumptionChart,
    consumption_by_month,
)
from docflow.readings.calc import Window
from docflow.readings.meters import (
    contracts_for_readings,
    objects_of,
)
from docflow.readings.models import (
    Meter,
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

# -- the contract card's «Объекты и приборы учёта» and the main-page widgets ------------


@dataclass
class ContractObjects:
    """The contract card's section: its objects and the consumption chart.
    Iterable over the objects, for a template that only lists them."""

    contract_id: uuid.UUID
    objects: list[SupplyObject]
    chart: ConsumptionChart
    can_submit: bool

    def __iter__(self) -> Any:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def meter_count(self) -> int:
        return sum(len(o.meters) for o in self.objects)


def list_objects_for_contract(
    session: Session,
    *,
    contract_id: uuid.UUID,
    user: Any,
    now: dt.datetime | None = None,
) -> ContractObjects:
    """The hook the contract card calls (the user sees the contract already)."""
    actor = Actor.for_user(user)
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        return ContractObjects(contract_id, [], ConsumptionChart([], []), False)
    return ContractObjects(
        contract_id,
        objects_of(session, [contract_id]),
        consumption_by_month(session, contract_ids=[contract_id], now=now),
        rights.submit_readings,
    )


@dataclass(frozen=True)
class ContractStatus:
    contract: Contract
    meters: int
    ready: int
    sent: int
    accepted: int
    rejected: int


def readings_overview(
    session: Session,
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> tuple[Window, list[ContractStatus]]:
    """The main page's «Показания»: the window and each contract's state."""
    window = window_for(now, window_days)
    contracts = contracts_for_readings(session, actor=actor)[:20]
    ids = [c.id for c in contracts]
    meters: dict[uuid.UUID, int] = defaultdict(int)
    for cid in session.scalars(
        select(Meter.contract_id).where(Meter.contract_id.in_(ids))
    ):
        meters[cid] += 1
    counts: dict[tuple[uuid.UUID, ReadingStatus], int] = defaultdict(int)
    for cid, status in session.execute(
        select(Reading.contract_id, Reading.status).where(
            Reading.contract_id.in_(ids),
            Reading.period == window.period,
            Reading.kind == ReadingKind.END,
        )
    ).tuples():
        counts[(cid, status)] += 1
    return window, [
        ContractStatus(
            c,
            meters[c.id],
            counts[(c.id, ReadingStatus.READY)],
            counts[(c.id, ReadingStatus.SENT)],
            counts[(c.id, ReadingStatus.ACCEPTED)],
            counts[(c.id, ReadingStatus.REJECTED)],
        )
        for c in contracts
        if meters[c.id]
    ]
