"""The ledger of a contract's readings: every reading of some meters up to a
period, indexed for the sheet, the calculation, the chart and the act.
The caller scopes the contracts (it has checked the actor's rights).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.readings import calc
from docflow.readings.models import (
    Reading,
    ReadingKind,
    ReadingStatus,
)

# A reading in one of these states is a value the supplier has (or may take).
SUBMITTED = (ReadingStatus.SENT, ReadingStatus.ACCEPTED)
LOCKED = (ReadingStatus.SENT, ReadingStatus.ACCEPTED)


# -- the ledger of a contract's readings ------------------------------------------


class Ledger:
    """Every reading of some meters up to a period, indexed for the lookups of
    the sheet, the calculation and the chart."""

    def __init__(self, readings: Iterable[Reading]) -> None:
        self._by_meter: dict[uuid.UUID, list[Reading]] = defaultdict(list)
        for r in readings:
            self._by_meter[r.meter_id].append(r)
        for items in self._by_meter.values():
            items.sort(key=lambda r: (r.period, r.kind != ReadingKind.START))

    @classmethod
    def load(
        cls,
        session: Session,
        contract_ids: Sequence[uuid.UUID],
        until: dt.date | None = None,
    ) -> Ledger:
        stmt = select(Reading).where(Reading.contract_id.in_(contract_ids))
        if until is not None:
            stmt = stmt.where(Reading.period <= until)
        return cls(session.scalars(stmt))

    def get(
        self, meter_id: uuid.UUID, period: dt.date, kind: ReadingKind
    ) -> Reading | None:
        return next(
            (
                r
                for r in self._by_meter.get(meter_id, ())
                if r.period == period and r.kind == kind
            ),
            None,
        )

    def previous(
        self,
        meter_id: uuid.UUID,
        period: dt.date,
        statuses: Sequence[ReadingStatus] = SUBMITTED,
        *,
        ready_start: bool = False,
    ) -> tuple[Reading | None, Reading | None]:
        """(the reading that counts as the previous value for ``period``, the
        start reading of ``period`` if one was entered).

        A start-of-period reading in one of ``statuses`` (or not sent yet, with
        ``ready_start``: the sheet where it is being entered) comes first; else
        the latest end-of-period reading of an earlier period in one of
        ``statuses`` (a reading the supplier did not accept does not count).
        """
        start = self.get(meter_id, period, ReadingKind.START)
        if start is not None and (
            start.status in statuses
            or (ready_start and start.status == ReadingStatus.READY)
        ):
            return start, start
        earlier = [
            r
            for r in self._by_meter.get(meter_id, ())
            if r.kind == ReadingKind.END and r.period < period and r.status in statuses
        ]
        return (earlier[-1] if earlier else None), start

    def history(
        self, meter_id: uuid.UUID, before: dt.date, months: int = 12
    ) -> list[tuple[dt.date, int]]:
        since = calc.add_months(before, -months)
        return [
            (r.period, r.value)
            for r in self._by_meter.get(meter_id, ())
            if r.kind == ReadingKind.END
            and since <= r.period < before
            and r.status in SUBMITTED
        ]
