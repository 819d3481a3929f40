"""Saving and sending readings: each value checked against its meter (format
first, then the state of its reading, then the meter), «Готово к передаче»,
«Передано».

Flask-free; functions take the :class:`~docflow.access.Actor` and check its
rights on the contract (see :func:`docflow.readings.meters.get_contract`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docflow.access import (
    Actor,
)
from docflow.audit import record
from docflow.db import utcnow
from docflow.errors import (
    ValidationError,
)
from docflow.readings import calc
from docflow.readings.ledger import LOCKED, Ledger
from docflow.readings.meters import (
    effective_status,
    get_contract,
)
from docflow.readings.models import (
    Meter,
    MeterStatus,
    Reading,
    ReadingKind,
    ReadingStatus,
)
from docflow.readings.window import (
    DEFAULT_WINDOW_DAYS,
    WindowDays,
    require_window,
    window_for,
)

# -- saving and sending ---------------------------------------------------------------


@dataclass(frozen=True)
class ReadingRow:
    """One value to save: by meter id (the web form) or number (a file, the API)."""

    value: object
    meter_id: uuid.UUID | None = None
    meter_number: str | None = None
    kind: ReadingKind = ReadingKind.END


@dataclass(frozen=True)
class RowResult:
    row: ReadingRow
    reading: Reading | None = None
    error: str = ""  # a fragment: «не число»
    note: str = ""  # the rollover notice
    cleared: bool = False  # an empty value removed a reading not yet sent
    unchanged: bool = False  # the value (or a blank) of a reading already sent

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class SubmitResult:
    results: list[RowResult]

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.results if not r.ok]

    @property
    def saved(self) -> list[Reading]:
        """The readings written by this call (not the refused or removed ones)."""
        return [
            r.reading
            for r in self.results
            if r.reading is not None and r.ok and not r.cleared
        ]


class ReadingsRejected(ValidationError):  # noqa: N818 - a ValidationError, named for the UI
    """A set of values was refused as a whole; ``problems`` name each row."""

    def __init__(self, message: str, problems: Sequence[dict[str, Any]]) -> None:
        super().__init__(
            message, code="readings_rejected", details={"problems": list(problems)}
        )
        self.problems = list(problems)


def _blocked_fragment(status: MeterStatus) -> str:
    if status == MeterStatus.FAULTY:
        return "счётчик не исправен — показания по нему не принимаются"
    return "у счётчика истёк срок МПИ — показания не принимаются до поверки"


def _check_row(
    row: ReadingRow,
    meter: Meter | None,
    ledger: Ledger,
    period: dt.date,
    today: dt.date,
    start_values: dict[uuid.UUID, int],
) -> tuple[calc.CheckedValue | None, str, Reading | None]:
    """(the checked value or None for an empty one, an error, the existing reading)."""
    if meter is None:
        return None, "счётчика с таким номером нет в договоре", None
    existing = ledger.get(meter.id, period, row.kind)
    raw = row.value
    empty = raw is None or (isinstance(raw, str) and not raw.strip())
    parsed: int | None = None
    if not empty:
        # The value's format first: «не число» is the answer to a non-number,
        # whatever the state of the meter or of its reading.
        try:
            parsed = calc.check_value(raw, digits=meter.digits, previous=None).value
        except calc.ReadingValueError as exc:
            return None, exc.message, existing
    status, blocked, _warning = effective_status(meter, today)
    if existing is not None and existing.status in LOCKED:
        if empty or parsed == existing.value:
            return None, "", existing  # unchanged: the form sent back as downloaded
        return (
            None,
            (
                f"показание за {calc.period_title(period)} уже передано в расчёт "
                "и не может быть изменено"
            ),
            existing,
        )
    if blocked and not empty:
        return None, _blocked_fragment(status), existing
    if empty or blocked:
        return None, "", existing
    previous: int | None = None
    if row.kind == ReadingKind.END:
        if meter.id in start_values:
            previous = start_values[meter.id]
        else:
            prev, _start = ledger.previous(meter.id, period, ready_start=True)
            previous = prev.value if prev is not None else None
    average = calc.average_monthly(ledger.history(meter.id, period), meter.digits)
    try:
        return (
            calc.check_value(
                raw, digits=meter.digits, previous=previous, average=average
            ),
            "",
            existing,
        )
    except calc.ReadingValueError as exc:
        return None, exc.message, existing


def submit_readings(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date,
    rows: Sequence[ReadingRow],
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
    atomic: bool = False,
    source: str = "web",
) -> SubmitResult:
    """Save values as «Готово к передаче».

    Each row is checked against its meter (a number, the digit count, not
    lower than the previous value unless a plausible pass through zero). An
    empty value removes a reading not sent yet. With ``atomic`` any bad row
    refuses them all; otherwise the good rows are saved and the bad ones come
    back with their errors.

    :raises ValidationError: the window is closed (code ``window_closed``).
    :raises ReadingsRejected: ``atomic`` and some row is bad.
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    window = window_for(now, window_days)
    require_window(window, period)
    today = calc.moscow_now(now).date()
    meters = {
        m.id: m
        for m in session.scalars(select(Meter).where(Meter.contract_id == contract.id))
    }
    by_number = {m.number.strip().upper(): m for m in meters.values()}
    ledger = Ledger.load(session, [contract.id], until=period)

    seen: set[tuple[uuid.UUID, ReadingKind]] = set()
    start_values: dict[uuid.UUID, int] = {}
    # Start-of-period values first: an end value sent with one is checked against it.
    ordered = sorted(
        enumerate(rows), key=lambda item: item[1].kind != ReadingKind.START
    )
    by_index: dict[
        int,
        tuple[ReadingRow, Meter | None, calc.CheckedValue | None, str, Reading | None],
    ] = {}
    for index, row in ordered:
        meter = (
            meters.get(row.meter_id)
            if row.meter_id is not None
            else by_number.get((row.meter_number or "").strip().upper())
        )
        value, error, existing = _check_row(
            row, meter, ledger, period, today, start_values
        )
        if meter is not None and not error:
            if (meter.id, row.kind) in seen:
                error = "этот счётчик указан ещё раз"
            seen.add((meter.id, row.kind))
            if row.kind == ReadingKind.START and value is not None:
                start_values[meter.id] = value.value
        by_index[index] = (row, meter, value, error, existing)
    checked = [by_index[i] for i in range(len(rows))]
    if atomic and any(error for *_x, error, _e in checked):
        problems = [
            {
                "index": i,
                "meter": (meter.number if meter else row.meter_number),
                "message": error,
            }
            for i, (row, meter, _v, error, _e) in enumerate(checked)
            if error
        ]
        raise ReadingsRejected("Показания не сохранены: исправьте ошибки.", problems)

    results: list[RowResult] = []
    for row, meter, value, error, existing in checked:
        if error or meter is None:
            results.append(RowResult(row, existing, error=error or "счётчик не найден"))
            continue
        if value is None:
            if existing is not None and existing.status in (
                ReadingStatus.READY,
                ReadingStatus.REJECTED,
            ):
                session.delete(existing)
                results.append(RowResult(row, None, cleared=True))
            else:
                # nothing to change (an empty value, or the value already sent)
                results.append(
                    RowResult(
                        row,
                        None,
                        unchanged=existing is not None and existing.status in LOCKED,
                    )
                )
            continue
        reading = existing
        if reading is None:
            reading = Reading(
                contract_id=contract.id,
                meter_id=meter.id,
                period=period,
                kind=row.kind,
                value=value.value,
            )
            session.add(reading)
        reading.value = value.value
        reading.is_rollover = value.is_rollover
        reading.status = ReadingStatus.READY
        reading.rejection_reason = None
        reading.decided_at = None
        reading.decided_by_id = None
        reading.source = source
        reading.entered_by_id = actor.user_id
        results.append(RowResult(row, reading, note=value.note))
    session.flush()
    saved = [r for r in results if r.reading is not None and r.ok and not r.cleared]
    if saved:
        record(
            session,
            user=actor.user,
            action="readings.saved",
            object_type="contract",
            object_id=contract.id,
            details={
                "period": calc.period_key(period),
                "count": len(saved),
                "source": source,
                "values": {
                    r.reading.meter.number: r.reading.value
                    for r in saved
                    if r.reading is not None
                },
            },
            request_info=actor.request_info,
            actor_label=actor.label,
        )
    return SubmitResult(results)


def save_reading(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    meter_id: uuid.UUID,
    period: dt.date,
    value: object,
    kind: ReadingKind = ReadingKind.END,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> RowResult:
    """One value, as the page saves it when the field loses focus.

    :raises ValidationError: the value is refused (``details.field`` is the meter).
    """
    result = submit_readings(
        session,
        actor=actor,
        contract_id=contract_id,
        period=period,
        rows=[ReadingRow(value, meter_id=meter_id, kind=kind)],
        now=now,
        window_days=window_days,
    )
    row = result.results[0]
    if not row.ok:
        message = row.error[0].upper() + row.error[1:]
        raise ValidationError(message + ".", details={"field": str(meter_id)})
    return row


def send_readings(
    session: Session,
    *,
    actor: Actor,
    contract_id: uuid.UUID,
    period: dt.date,
    now: dt.datetime | None = None,
    window_days: WindowDays = DEFAULT_WINDOW_DAYS,
) -> int:
    """«Передать показания в расчёт»: every value «Готово к передаче» of the
    period becomes «Передано». Returns how many.

    :raises ValidationError: the window is closed, or nothing is ready.
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    require_window(window_for(now, window_days), period)
    ready = list(
        session.scalars(
            select(Reading).where(
                Reading.contract_id == contract.id,
                Reading.period == period,
                Reading.status == ReadingStatus.READY,
            )
        )
    )
    if not ready:
        raise ValidationError(
            "Нет показаний, готовых к передаче: сначала введите их.",
            code="nothing_to_send",
        )
    moment = utcnow()
    for r in ready:
        r.status = ReadingStatus.SENT
        r.sent_at = moment
        r.sent_by_id = actor.user_id
    session.flush()
    record(
        session,
        user=actor.user,
        action="readings.sent",
        object_type="contract",
        object_id=contract.id,
        details={
            "period": calc.period_key(period),
            "count": len(ready),
            "values": {
                r.meter.number
                + ("" if r.kind == ReadingKind.END else " (начало)"): r.value
                for r in ready
            },
        },
        request_info=actor.request_info,
        actor_label=actor.label,
    )
    return len(ready)
