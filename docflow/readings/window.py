"""The submission window («Передача показаний доступна с 15 по 26 число») and
its announcement to the users who may submit readings.

Functions that depend on the date take ``now`` (aware; None means the clock),
so that the window can be tested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    Right,
    users_with_right,
)
from docflow.contracts.models import Contract
from docflow.errors import (
    ValidationError,
)
from docflow.outbox.services import publish
from docflow.readings import calc
from docflow.readings.calc import Window
from docflow.readings.models import (
    Meter,
    WindowNotice,
)
from docflow.runtime import Runtime


@dataclass(frozen=True)
class WindowDays:
    start: int = 15
    end: int = 26


DEFAULT_WINDOW_DAYS = WindowDays()  # 15–26; the app's settings override it


def window_for(now: dt.datetime | None, days: WindowDays) -> Window:
    return calc.submission_window(now, days.start, days.end)


def require_window(window: Window, period: dt.date) -> None:
    if not window.is_open:
        raise ValidationError(window.message, code="window_closed")
    if period != window.period:
        raise ValidationError(
            f"Сейчас принимаются показания за {calc.period_title(window.period)}; "
            f"за {calc.period_title(period)} передать их нельзя.",
            code="window_closed",
        )


# -- «Открыт приём показаний» ----------------------------------------------------------


def announce_window(
    session: Session,
    *,
    now: dt.datetime | None = None,
    runtime: Runtime,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> int:
    """While the window is open, tell the users who may submit readings for each
    contract with meters (once per contract and period). Returns how many
    contracts were announced; idempotent."""
    window = window_for(now, window_days)
    if not window.is_open:
        return 0
    done = set(
        session.scalars(
            select(WindowNotice.contract_id).where(WindowNotice.period == window.period)
        )
    )
    contracts = list(
        session.scalars(
            select(Contract).where(
                Contract.id.in_(select(Meter.contract_id)), Contract.is_active.is_(True)
            )
        )
    )
    count = 0
    for contract in contracts:
        if contract.id in done:
            continue
        url = f"{runtime.base_url}/readings/{contract.id}"
        context = {
            "contract_number": contract.number,
            "period": calc.period_title(window.period),
            "window_from": f"{window.opens_on:%d.%m.%Y}",
            "window_to": f"{window.closes_on:%d.%m.%Y}",
            "url": url,
        }
        publish(
            session,
            kind="readings.window_open",
            users=users_with_right(session, contract.id, Right.SUBMIT_READINGS),
            context=context,
            title=(
                f"Открыт приём показаний за {calc.period_title(window.period)} по "
                f"договору № {contract.number}"
            ),
            body=window.message,
            link=f"/readings/{contract.id}",
            organisation_id=contract.organisation_id,
        )
        session.add(WindowNotice(contract_id=contract.id, period=window.period))
        count += 1
    session.flush()
    return count
