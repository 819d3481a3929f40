"""Readings: the submission sheet of a contract's period, saving and sending
values, the preliminary consumption, history, the supplier's decisions, the
consumption analysis, and the ПРОМ10 act sent to the document flow.

Flask-free; every function takes the :class:`~docflow.access.Actor` and checks
its rights on the contract (404 for a contract it cannot see, 403 without the
right to submit readings). Functions that depend on the date take ``now``
(aware; None means the clock), so that the window can be tested.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from docflow.access import (
    Actor,
    Right,
    acts_for_supplier,
    contract_rights,
    supplier_organisation,
    visible_contract_ids,
)
from docflow.audit import record
from docflow.blobrefs import register_blob_source
from docflow.contracts.models import Contract, Organisation
from docflow.db import utcnow
from docflow.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from docflow.readings import calc
from docflow.readings.calc import Window
from docflow.readings.models import (
    METER_STATUS_TITLES,
    VOLTAGE_TITLES,
    Meter,
    MeterStatus,
    Reading,
    ReadingAct,
    ReadingKind,
    ReadingStatus,
    SupplyObject,
    TransitVolume,
    VoltageLevel,
)

log = logging.getLogger(__name__)


def _upload_blob_keys(session: Session) -> Iterable[str]:
    """The uploaded Excel forms' blobs, for ``docflow fsck`` (not orphans)."""
    from docflow.readings.models import ReadingUpload

    return session.scalars(select(ReadingUpload.blob_key))


register_blob_source(_upload_blob_keys)

CONTRACT_NOT_FOUND = "Договор не найден."
# A reading in one of these states is a value the supplier has (or may take).
SUBMITTED = (ReadingStatus.SENT, ReadingStatus.ACCEPTED)
LOCKED = (ReadingStatus.SENT, ReadingStatus.ACCEPTED)


@dataclass(frozen=True)
class WindowDays:
    start: int = 15
    end: int = 26


# -- access --------------------------------------------------------------------

def get_contract(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                 right: Right = Right.SUBMIT_READINGS) -> Contract:
    """The contract if the actor holds ``right`` on it.

    :raises NotFoundError: the actor cannot see the contract (or there is none).
    :raises PermissionDeniedError: it sees the contract but lacks ``right``.
    """
    contract = session.get(Contract, contract_id)
    rights = contract_rights(session, actor, contract_id) if contract is not None else None
    if contract is None or rights is None or not rights.view:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    if not rights.has(right):
        raise PermissionDeniedError(
            f"У вас нет права передачи показаний по договору № {contract.number}. "
            "Его даёт администратор договора в разделе «Управление доступом».")
    return contract


def contracts_for_readings(session: Session, *, actor: Actor) -> list[Contract]:
    """Contracts the actor may submit readings for (for the supplier: those
    that have meters)."""
    stmt = (select(Contract)
            .where(Contract.id.in_(visible_contract_ids(actor, Right.SUBMIT_READINGS)))
            .options(selectinload(Contract.organisation)).order_by(Contract.number))
    if acts_for_supplier(actor):
        stmt = stmt.where(Contract.id.in_(select(Meter.contract_id)))
    return list(session.scalars(stmt))


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
    def load(cls, session: Session, contract_ids: Sequence[uuid.UUID],
             until: dt.date | None = None) -> Ledger:
        stmt = select(Reading).where(Reading.contract_id.in_(contract_ids))
        if until is not None:
            stmt = stmt.where(Reading.period <= until)
        return cls(session.scalars(stmt))

    def get(self, meter_id: uuid.UUID, period: dt.date, kind: ReadingKind) -> Reading | None:
        return next((r for r in self._by_meter.get(meter_id, ())
                     if r.period == period and r.kind == kind), None)

    def previous(self, meter_id: uuid.UUID, period: dt.date,
                 statuses: Sequence[ReadingStatus] = SUBMITTED, *, ready_start: bool = False
                 ) -> tuple[Reading | None, Reading | None]:
        """(the reading that counts as the previous value for ``period``, the
        start reading of ``period`` if one was entered).

        A start-of-period reading in one of ``statuses`` (or not sent yet, with
        ``ready_start``: the sheet where it is being entered) comes first; else
        the latest end-of-period reading of an earlier period in one of
        ``statuses`` (a reading the supplier did not accept does not count).
        """
        start = self.get(meter_id, period, ReadingKind.START)
        if start is not None and (start.status in statuses or (
                ready_start and start.status == ReadingStatus.READY)):
            return start, start
        earlier = [r for r in self._by_meter.get(meter_id, ())
                   if r.kind == ReadingKind.END and r.period < period and r.status in statuses]
        return (earlier[-1] if earlier else None), start

    def history(self, meter_id: uuid.UUID, before: dt.date, months: int = 12
                ) -> list[tuple[dt.date, int]]:
        since = calc.add_months(before, -months)
        return [(r.period, r.value) for r in self._by_meter.get(meter_id, ())
                if r.kind == ReadingKind.END and since <= r.period < before
                and r.status in SUBMITTED]


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
        return calc.pad(self.previous.value if self.previous else None, self.meter.digits)

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
        return sum(1 for b in self.objects for ln in b.lines for r in (ln.current, ln.start)
                   if r is not None and r.status == ReadingStatus.READY)

    @property
    def meters(self) -> list[MeterLine]:
        return [ln for b in self.objects for ln in b.lines]

    @property
    def closed_reason(self) -> str:
        if self.can_submit:
            return ""
        if self.period != self.window.period:
            return (f"Это история за {self.period_title}: показания за прошедшие периоды "
                    "не принимаются.")
        return self.window.message


def window_for(now: dt.datetime | None, days: WindowDays) -> Window:
    return calc.submission_window(now, days.start, days.end)


def _effective(meter: Meter, today: dt.date) -> tuple[MeterStatus, str, str]:
    """(status, why no value can be entered, calibration warning)."""
    if meter.status == MeterStatus.FAULTY:
        return meter.status, "Не исправен: показания не принимаются, обратитесь к куратору.", ""
    if meter.status == MeterStatus.CALIBRATION_EXPIRED or calc.calibration_expired(
            meter.next_calibration, today):
        when = f" ({meter.next_calibration:%d.%m.%Y})" if meter.next_calibration else ""
        return (MeterStatus.CALIBRATION_EXPIRED,
                f"Истёк срок МПИ{when}: показания не принимаются до поверки.", "")
    if calc.calibration_due(meter.next_calibration, today):
        assert meter.next_calibration is not None
        days = (meter.next_calibration - today).days
        return (meter.status, "",
                f"Поверка до {meter.next_calibration:%d.%m.%Y} (осталось {days} дн.): "
                "не забудьте провести поверку.")
    return meter.status, "", ""


def _objects(session: Session, contract_ids: Sequence[uuid.UUID]) -> list[SupplyObject]:
    return list(session.scalars(
        select(SupplyObject).where(SupplyObject.contract_id.in_(contract_ids))
        .options(selectinload(SupplyObject.meters))
        .order_by(SupplyObject.position, SupplyObject.name)))


def _transit(session: Session, object_ids: Sequence[uuid.UUID],
             periods: Sequence[dt.date] | None = None) -> dict[tuple[uuid.UUID, dt.date], Decimal]:
    stmt = select(TransitVolume).where(TransitVolume.object_id.in_(object_ids))
    if periods is not None:
        stmt = stmt.where(TransitVolume.period.in_(periods))
    out: dict[tuple[uuid.UUID, dt.date], Decimal] = defaultdict(Decimal)
    for t in session.scalars(stmt):
        out[(t.object_id, t.period)] += Decimal(t.kwh)
    return out


def _periods(session: Session, contract_id: uuid.UUID, current: dt.date) -> list[dt.date]:
    """The periods to choose from: the current one, and every one with readings."""
    found = set(session.scalars(select(Reading.period).where(
        Reading.contract_id == contract_id).distinct()))
    found.add(current)
    return sorted((p for p in found if p <= current), reverse=True)


def list_meters(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                period: dt.date | None = None, now: dt.datetime | None = None,
                window_days: WindowDays = WindowDays()) -> Sheet:
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
        raise ValidationError("Показания за будущий период не принимаются.",
                              details={"field": "period"})
    today = calc.moscow_now(now).date()
    objects = _objects(session, [contract.id])
    ledger = Ledger.load(session, [contract.id], until=period)
    transit = _transit(session, [o.id for o in objects], [period])
    blocks: list[ObjectBlock] = []
    inputs: list[calc.ObjectInput] = []
    for obj in objects:
        lines: list[MeterLine] = []
        for meter in obj.meters:
            status, blocked, warning = _effective(meter, today)
            previous, start = ledger.previous(meter.id, period, ready_start=True)
            history = ledger.history(meter.id, period)
            lines.append(MeterLine(
                meter=meter, status=status, blocked_reason=blocked,
                calibration_warning=warning, previous=previous, start=start,
                current=ledger.get(meter.id, period, ReadingKind.END),
                average=calc.average_monthly(history, meter.digits)))
        block = ObjectBlock(obj, lines, transit.get((obj.id, period), Decimal(0)))
        blocks.append(block)
        inputs.append(calc.ObjectInput(
            key=str(obj.id), name=obj.name, transit=block.transit,
            meters=[calc.MeterInput(
                key=str(ln.meter.id), number=ln.meter.number, digits=ln.meter.digits,
                ratio=ln.meter.ratio,
                previous=ln.previous.value if ln.previous else None,
                current=(ln.current.value if ln.current is not None
                         and ln.current.status != ReadingStatus.REJECTED else None),
                can_read=ln.can_read) for ln in lines]))
    calculation = calc.calculate(inputs)
    for block, result in zip(blocks, calculation.objects, strict=True):
        block.result = result
        for line, mres in zip(block.lines, result.meters, strict=True):
            line.result = mres
    can_submit = window.is_open and period == window.period
    return Sheet(contract, period, window, blocks, can_submit, calculation,
                 periods=_periods(session, contract.id, window.period))


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
        return [r.reading for r in self.results
                if r.reading is not None and r.ok and not r.cleared]


class ReadingsRejected(ValidationError):  # noqa: N818 - a ValidationError, named for the UI
    """A set of values was refused as a whole; ``problems`` name each row."""

    def __init__(self, message: str, problems: Sequence[dict[str, Any]]) -> None:
        super().__init__(message, code="readings_rejected",
                         details={"problems": list(problems)})
        self.problems = list(problems)


def _require_window(window: Window, period: dt.date) -> None:
    if not window.is_open:
        raise ValidationError(window.message, code="window_closed")
    if period != window.period:
        raise ValidationError(
            f"Сейчас принимаются показания за {calc.period_title(window.period)}; "
            f"за {calc.period_title(period)} передать их нельзя.", code="window_closed")


def _blocked_fragment(status: MeterStatus) -> str:
    if status == MeterStatus.FAULTY:
        return "счётчик не исправен — показания по нему не принимаются"
    return "у счётчика истёк срок МПИ — показания не принимаются до поверки"


def _check_row(row: ReadingRow, meter: Meter | None, ledger: Ledger, period: dt.date,
               today: dt.date, start_values: dict[uuid.UUID, int]
               ) -> tuple[calc.CheckedValue | None, str, Reading | None]:
    """(the checked value or None for an empty one, an error, the existing reading)."""
    if meter is None:
        return None, "счётчика с таким номером нет в договоре", None
    existing = ledger.get(meter.id, period, row.kind)
    raw = row.value
    empty = raw is None or (isinstance(raw, str) and not raw.strip())
    status, blocked, _warning = _effective(meter, today)
    if blocked and not empty:
        return None, _blocked_fragment(status), existing
    if existing is not None and existing.status in LOCKED:
        if empty:
            return None, "", existing
        return None, (f"показание за {calc.period_title(period)} уже передано в расчёт "
                      "и не может быть изменено"), existing
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
        return calc.check_value(raw, digits=meter.digits, previous=previous,
                                average=average), "", existing
    except calc.ReadingValueError as exc:
        return None, exc.message, existing


def submit_readings(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                    period: dt.date, rows: Sequence[ReadingRow], now: dt.datetime | None = None,
                    window_days: WindowDays = WindowDays(), atomic: bool = False,
                    source: str = "web") -> SubmitResult:
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
    _require_window(window, period)
    today = calc.moscow_now(now).date()
    meters = {m.id: m for m in session.scalars(
        select(Meter).where(Meter.contract_id == contract.id))}
    by_number = {m.number.strip().upper(): m for m in meters.values()}
    ledger = Ledger.load(session, [contract.id], until=period)

    seen: set[tuple[uuid.UUID, ReadingKind]] = set()
    start_values: dict[uuid.UUID, int] = {}
    # Start-of-period values first: an end value sent with one is checked against it.
    ordered = sorted(enumerate(rows), key=lambda item: item[1].kind != ReadingKind.START)
    by_index: dict[int, tuple[ReadingRow, Meter | None, calc.CheckedValue | None, str,
                              Reading | None]] = {}
    for index, row in ordered:
        meter = (meters.get(row.meter_id) if row.meter_id is not None
                 else by_number.get((row.meter_number or "").strip().upper()))
        value, error, existing = _check_row(row, meter, ledger, period, today, start_values)
        if meter is not None and not error:
            if (meter.id, row.kind) in seen:
                error = "этот счётчик указан ещё раз"
            seen.add((meter.id, row.kind))
            if row.kind == ReadingKind.START and value is not None:
                start_values[meter.id] = value.value
        by_index[index] = (row, meter, value, error, existing)
    checked = [by_index[i] for i in range(len(rows))]
    if atomic and any(error for *_x, error, _e in checked):
        problems = [{"index": i, "meter": (meter.number if meter else row.meter_number),
                     "message": error}
                    for i, (row, meter, _v, error, _e) in enumerate(checked) if error]
        raise ReadingsRejected("Показания не сохранены: исправьте ошибки.", problems)

    results: list[RowResult] = []
    for row, meter, value, error, existing in checked:
        if error or meter is None:
            results.append(RowResult(row, existing, error=error or "счётчик не найден"))
            continue
        if value is None:
            if existing is not None and existing.status in (ReadingStatus.READY,
                                                            ReadingStatus.REJECTED):
                session.delete(existing)
                results.append(RowResult(row, None, cleared=True))
            else:
                results.append(RowResult(row, None))  # nothing to change
            continue
        reading = existing
        if reading is None:
            reading = Reading(contract_id=contract.id, meter_id=meter.id, period=period,
                              kind=row.kind, value=value.value)
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
        record(session, actor=actor.user, action="readings.saved", object_type="contract",
               object_id=contract.id,
               details={"period": calc.period_key(period), "count": len(saved),
                        "source": source,
                        "values": {r.reading.meter.number: r.reading.value
                                   for r in saved if r.reading is not None}},
               request_info=actor.request_info, actor_label=actor.label)
    return SubmitResult(results)


def save_reading(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                 meter_id: uuid.UUID, period: dt.date, value: object,
                 kind: ReadingKind = ReadingKind.END, now: dt.datetime | None = None,
                 window_days: WindowDays = WindowDays()) -> RowResult:
    """One value, as the page saves it when the field loses focus.

    :raises ValidationError: the value is refused (``details.field`` is the meter).
    """
    result = submit_readings(session, actor=actor, contract_id=contract_id, period=period,
                             rows=[ReadingRow(value, meter_id=meter_id, kind=kind)], now=now,
                             window_days=window_days)
    row = result.results[0]
    if not row.ok:
        message = row.error[0].upper() + row.error[1:]
        raise ValidationError(message + ".", details={"field": str(meter_id)})
    return row


def send_readings(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                  period: dt.date, now: dt.datetime | None = None,
                  window_days: WindowDays = WindowDays()) -> int:
    """«Передать показания в расчёт»: every value «Готово к передаче» of the
    period becomes «Передано». Returns how many.

    :raises ValidationError: the window is closed, or nothing is ready.
    """
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    _require_window(window_for(now, window_days), period)
    ready = list(session.scalars(select(Reading).where(
        Reading.contract_id == contract.id, Reading.period == period,
        Reading.status == ReadingStatus.READY)))
    if not ready:
        raise ValidationError("Нет показаний, готовых к передаче: сначала введите их.",
                              code="nothing_to_send")
    moment = utcnow()
    for r in ready:
        r.status = ReadingStatus.SENT
        r.sent_at = moment
        r.sent_by_id = actor.user_id
    session.flush()
    record(session, actor=actor.user, action="readings.sent", object_type="contract",
           object_id=contract.id,
           details={"period": calc.period_key(period), "count": len(ready),
                    "values": {r.meter.number + ("" if r.kind == ReadingKind.END
                                                 else " (начало)"): r.value for r in ready}},
           request_info=actor.request_info, actor_label=actor.label)
    return len(ready)


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


def reading_history(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                    period: dt.date | None = None) -> list[HistoryPeriod]:
    """Submitted readings by period (newest first), with whether each was
    accepted into the calculation."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    stmt = (select(Reading, Meter, SupplyObject)
            .join(Meter, Meter.id == Reading.meter_id)
            .join(SupplyObject, SupplyObject.id == Meter.object_id)
            .where(Reading.contract_id == contract.id,
                   Reading.status != ReadingStatus.READY)
            .order_by(Reading.period.desc(), SupplyObject.position, SupplyObject.name,
                      Meter.position, Meter.number, Reading.kind.desc()))
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


def pending_decisions(session: Session, *, actor: Actor, limit: int = 500
                      ) -> list[PendingGroup]:
    """Readings sent into the calculation and not decided yet (the supplier's view)."""
    if not acts_for_supplier(actor):
        raise PermissionDeniedError("Только для сотрудников поставщика.")
    stmt = (select(Reading, Meter, SupplyObject)
            .join(Meter, Meter.id == Reading.meter_id)
            .join(SupplyObject, SupplyObject.id == Meter.object_id)
            .where(Reading.status == ReadingStatus.SENT)
            .order_by(Reading.period, Reading.contract_id, SupplyObject.position,
                      Meter.number).limit(limit))
    groups: dict[tuple[uuid.UUID, dt.date], list[HistoryRow]] = {}
    for reading, meter, obj in session.execute(stmt).tuples():
        groups.setdefault((reading.contract_id, reading.period), []).append(
            HistoryRow(reading, meter, obj))
    contracts = {c.id: c for c in session.scalars(select(Contract).where(
        Contract.id.in_({k[0] for k in groups})).options(selectinload(Contract.organisation)))}
    return [PendingGroup(contracts[cid], period, rows)
            for (cid, period), rows in groups.items()]


def decide_readings(session: Session, *, actor: Actor, reading_ids: Sequence[uuid.UUID],
                    accept: bool, reason: str = "") -> int:
    """The supplier accepts readings into the calculation or refuses them with a
    reason («Не принято»). Only readings «Передано» change; returns how many.

    :raises PermissionDeniedError: not the supplier.
    :raises ValidationError: a refusal without a reason.
    """
    if not acts_for_supplier(actor):
        raise PermissionDeniedError("Решение о принятии показаний принимает поставщик.")
    reason = reason.strip()
    if not accept and len(reason) < 3:
        raise ValidationError("Укажите причину, по которой показания не приняты.",
                              details={"field": "reason"})
    readings = list(session.scalars(select(Reading).where(
        Reading.id.in_(list(reading_ids)), Reading.status == ReadingStatus.SENT)))
    moment = utcnow()
    for r in readings:
        r.status = ReadingStatus.ACCEPTED if accept else ReadingStatus.REJECTED
        r.rejection_reason = None if accept else reason[:2000]
        r.decided_at = moment
        r.decided_by_id = actor.user_id
    session.flush()
    for contract_id in {r.contract_id for r in readings}:
        mine = [r for r in readings if r.contract_id == contract_id]
        record(session, actor=actor.user,
               action="readings.accepted" if accept else "readings.rejected",
               object_type="contract", object_id=contract_id,
               details={"count": len(mine), "reason": reason,
                        "periods": sorted({calc.period_key(r.period) for r in mine})},
               request_info=actor.request_info, actor_label=actor.label)
    return len(readings)


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


def consumption_by_month(session: Session, *, contract_ids: Sequence[uuid.UUID],
                         now: dt.datetime | None = None, months: int = 12
                         ) -> ConsumptionChart:
    """Consumption of closed periods (before the current month) from readings
    accepted into the calculation, net of transit, by the objects' voltage level.

    The caller scopes ``contract_ids`` (see :func:`chart_for_contract`).
    """
    current = calc.submission_window(now).period
    periods = [calc.add_months(current, -i) for i in range(months, 0, -1)]
    objects = _objects(session, contract_ids) if contract_ids else []
    ledger = Ledger.load(session, contract_ids, until=periods[-1]) if contract_ids else Ledger([])
    transit = _transit(session, [o.id for o in objects], periods)
    accepted = (ReadingStatus.ACCEPTED,)
    by_level: dict[VoltageLevel, list[Decimal | None]] = {}
    for obj in objects:
        values = by_level.setdefault(obj.voltage, [None] * len(periods))
        for i, period in enumerate(periods):
            meters = []
            for meter in obj.meters:
                prev, _start = ledger.previous(meter.id, period, accepted)
                cur = ledger.get(meter.id, period, ReadingKind.END)
                meters.append(calc.MeterInput(
                    key=str(meter.id), number=meter.number, digits=meter.digits,
                    ratio=meter.ratio, previous=prev.value if prev else None,
                    current=cur.value if cur and cur.status in accepted else None))
            result = calc.calculate([calc.ObjectInput(
                str(obj.id), obj.name, meters, transit.get((obj.id, period), Decimal(0)))])
            if any(m.consumption is not None for m in result.objects[0].meters):
                values[i] = (values[i] or Decimal(0)) + result.total
    order = list(VoltageLevel)
    series = [Series(level, by_level[level]) for level in order if level in by_level
              and any(v is not None for v in by_level[level])]
    return ConsumptionChart(periods, series)


def chart_for_contract(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                       now: dt.datetime | None = None, right: Right = Right.VIEW
                       ) -> ConsumptionChart:
    contract = get_contract(session, actor=actor, contract_id=contract_id, right=right)
    return consumption_by_month(session, contract_ids=[contract.id], now=now)


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


def list_objects_for_contract(session: Session, *, contract_id: uuid.UUID, user: Any,
                              now: dt.datetime | None = None) -> ContractObjects:
    """The hook the contract card calls (the user sees the contract already)."""
    actor = Actor.for_user(user)
    rights = contract_rights(session, actor, contract_id)
    if not rights.view:
        return ContractObjects(contract_id, [], ConsumptionChart([], []), False)
    return ContractObjects(contract_id, _objects(session, [contract_id]),
                           consumption_by_month(session, contract_ids=[contract_id], now=now),
                           rights.submit_readings)


@dataclass(frozen=True)
class ContractStatus:
    contract: Contract
    meters: int
    ready: int
    sent: int
    accepted: int
    rejected: int


def readings_overview(session: Session, *, actor: Actor, now: dt.datetime | None = None,
                      window_days: WindowDays = WindowDays()
                      ) -> tuple[Window, list[ContractStatus]]:
    """The main page's «Показания»: the window and each contract's state."""
    window = window_for(now, window_days)
    contracts = contracts_for_readings(session, actor=actor)[:20]
    ids = [c.id for c in contracts]
    meters: dict[uuid.UUID, int] = defaultdict(int)
    for cid in session.scalars(select(Meter.contract_id).where(Meter.contract_id.in_(ids))):
        meters[cid] += 1
    counts: dict[tuple[uuid.UUID, ReadingStatus], int] = defaultdict(int)
    for cid, status in session.execute(select(Reading.contract_id, Reading.status).where(
            Reading.contract_id.in_(ids), Reading.period == window.period,
            Reading.kind == ReadingKind.END)).tuples():
        counts[(cid, status)] += 1
    return window, [ContractStatus(c, meters[c.id], counts[(c.id, ReadingStatus.READY)],
                                   counts[(c.id, ReadingStatus.SENT)],
                                   counts[(c.id, ReadingStatus.ACCEPTED)],
                                   counts[(c.id, ReadingStatus.REJECTED)])
                    for c in contracts if meters[c.id]]


# -- the ПРОМ10 act ----------------------------------------------------------------------

@dataclass(frozen=True)
class PartyDetails:
    name: str
    inn: str = ""
    kpp: str = ""
    address: str = ""


@dataclass(frozen=True)
class ActRow:
    number: int
    object_name: str
    address: str
    voltage: str
    meter_number: str
    meter_type: str
    digits: int
    ratio: int
    previous: str  # padded, "" when unknown
    current: str  # padded, "" on a blank form or when not sent
    difference: str
    consumption: Decimal | None
    note: str = ""


@dataclass(frozen=True)
class ActObject:
    name: str
    address: str
    voltage: str
    rows: list[ActRow]
    meters_total: Decimal
    transit: Decimal
    total: Decimal


@dataclass(frozen=True)
class ActData:
    """Everything printed on a ПРОМ10 act (see :mod:`docflow.readings.acts`)."""

    supplier: PartyDetails
    customer: PartyDetails
    contract_number: str
    contract_date: dt.date | None
    period: dt.date
    act_number: str
    act_date: dt.date
    filled: bool
    objects: list[ActObject]
    total: Decimal
    esign_note: str
    readings_count: int  # values sent into the calculation (0 on a blank form)

    @property
    def period_title(self) -> str:
        return calc.period_title(self.period)

    @property
    def previous_date(self) -> dt.date:
        return self.period

    @property
    def current_date(self) -> dt.date:
        return calc.last_day(self.period)

    @property
    def rows(self) -> list[ActRow]:
        return [r for o in self.objects for r in o.rows]


def act_number(contract: Contract, period: dt.date) -> str:
    """«ПРОМ10-77-0001-ЮЛ-2026-11»"""
    return f"ПРОМ10-{contract.number}-{calc.period_key(period)}"


def act_title(period: dt.date) -> str:
    return f"Акт снятия показаний (ПРОМ10) за {calc.period_title(period)}"


def _supplier_details(session: Session, supplier_name: str) -> PartyDetails:
    org = supplier_organisation(session)
    if org is None:
        return PartyDetails(supplier_name)
    return PartyDetails(org.name or supplier_name, org.inn, org.kpp or "", org.address or "")


def act_data(session: Session, *, actor: Actor, contract_id: uuid.UUID, period: dt.date,
             filled: bool, now: dt.datetime | None = None,
             supplier_name: str = "АО «Энергосбыт»") -> ActData:
    """The act of a contract's period: every meter (at zero load too), the
    previous values, and — when ``filled`` — the values sent into the
    calculation («Передано» or «Принято в расчёт»)."""
    contract = get_contract(session, actor=actor, contract_id=contract_id)
    org = session.get(Organisation, contract.organisation_id)
    assert org is not None
    today = calc.moscow_now(now).date()
    objects = _objects(session, [contract.id])
    ledger = Ledger.load(session, [contract.id], until=period)
    transit = _transit(session, [o.id for o in objects], [period])
    act_objects: list[ActObject] = []
    number = 0
    total = Decimal(0)
    count = 0
    for obj in objects:
        rows: list[ActRow] = []
        inputs: list[calc.MeterInput] = []
        for meter in obj.meters:
            number += 1
            prev, _start = ledger.previous(meter.id, period)
            cur = ledger.get(meter.id, period, ReadingKind.END) if filled else None
            if cur is not None and cur.status not in SUBMITTED:
                cur = None
            count += cur is not None
            inputs.append(calc.MeterInput(str(meter.id), meter.number, meter.digits,
                                          meter.ratio, prev.value if prev else None,
                                          cur.value if cur else None))
            status, blocked, _w = _effective(meter, today)
            rows.append(ActRow(
                number=number, object_name=obj.name, address=obj.address or "",
                voltage=VOLTAGE_TITLES[obj.voltage], meter_number=meter.number,
                meter_type=meter.meter_type, digits=meter.digits, ratio=meter.ratio,
                previous=calc.pad(prev.value if prev else None, meter.digits),
                current=calc.pad(cur.value if cur else None, meter.digits),
                difference="", consumption=None,
                note=METER_STATUS_TITLES[status] if blocked else ""))
        result = calc.calculate([calc.ObjectInput(str(obj.id), obj.name, inputs,
                                                  transit.get((obj.id, period), Decimal(0)))])
        obj_result = result.objects[0]
        if filled:
            rows = [_with_result(row, mres) for row, mres in zip(rows, obj_result.meters,
                                                                 strict=True)]
        act_objects.append(ActObject(
            obj.name, obj.address or "", VOLTAGE_TITLES[obj.voltage], rows,
            obj_result.meters_total if filled else Decimal(0), obj_result.transit,
            obj_result.total if filled else Decimal(0)))
        total += obj_result.total if filled else Decimal(0)
    note = ""
    if filled and contract.esign_agreement:
        ref = contract.esign_agreement_ref or "соглашение об электронном документообороте"
        note = (f"Документ подписывается электронными подписями сторон в соответствии с "
                f"{_instrumental(ref)} и равнозначен документу на бумажном носителе, "
                "подписанному собственноручными подписями.")
    return ActData(
        supplier=_supplier_details(session, supplier_name),
        customer=PartyDetails(org.name, org.inn, org.kpp or "", org.address or ""),
        contract_number=contract.number, contract_date=contract.signed_on, period=period,
        act_number=act_number(contract, period),
        act_date=min(today, calc.last_day(period)), filled=filled, objects=act_objects,
        total=total, esign_note=note, readings_count=count)


def _instrumental(ref: str) -> str:
    """«Соглашение об ЭДО № 1» → «Соглашением об ЭДО № 1» (в соответствии с чем)."""
    for nominative, instrumental in (("Соглашение ", "Соглашением "),
                                     ("соглашение ", "соглашением ")):
        if ref.startswith(nominative):
            return instrumental + ref[len(nominative):]
    return ref


def _with_result(row: ActRow, result: calc.MeterResult) -> ActRow:
    from dataclasses import replace

    return replace(row, difference="" if result.difference is None else str(result.difference),
                   consumption=result.consumption)


@dataclass(frozen=True)
class RenderedAct:
    filename: str
    content_type: str
    data: bytes


ACT_FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render_act(session: Session, *, actor: Actor, contract_id: uuid.UUID, period: dt.date,
               fmt: str = "pdf", filled: bool = True, now: dt.datetime | None = None,
               supplier_name: str = "АО «Энергосбыт»") -> RenderedAct:
    """«Печатать ведомость»: the act as PDF, Word or Excel, blank or filled.

    :raises ValidationError: an unknown format.
    """
    from docflow.readings import acts

    if fmt not in ACT_FORMATS:
        raise ValidationError("Выберите формат: PDF, Word или Excel.",
                              details={"field": "format"})
    data = act_data(session, actor=actor, contract_id=contract_id, period=period,
                    filled=filled, now=now, supplier_name=supplier_name)
    body = {"pdf": acts.render_pdf, "docx": acts.render_docx, "xlsx": acts.render_xlsx}[fmt](data)
    suffix = "" if filled else "-бланк"
    return RenderedAct(f"{data.act_number}{suffix}.{fmt}", ACT_FORMATS[fmt], body)


def latest_act(session: Session, *, contract_id: uuid.UUID, period: dt.date
               ) -> ReadingAct | None:
    return session.scalar(select(ReadingAct).where(
        ReadingAct.contract_id == contract_id, ReadingAct.period == period)
        .order_by(ReadingAct.version.desc()).limit(1))


def send_act_to_docflow(session: Session, *, actor: Actor, storage: Any,
                        contract_id: uuid.UUID, period: dt.date,
                        now: dt.datetime | None = None, base_url: str = "",
                        supplier_name: str = "АО «Энергосбыт»") -> Any:
    """«Передать в ЮЗДО»: the filled PDF act becomes a ПРОМ10 document to be
    signed by the customer, then the supplier (the signatories are notified).

    Sending a period again registers a new version that replaces the previous
    one while nobody has signed it.

    :raises ValidationError: no readings of the period were sent into the
        calculation.
    :raises InvalidTransitionError: the previous act is signed already.
    """
    from docflow.documents.models import DocStatus, Document
    from docflow.documents.services import Upload, register_document

    contract = get_contract(session, actor=actor, contract_id=contract_id)
    data = act_data(session, actor=actor, contract_id=contract.id, period=period,
                    filled=True, now=now, supplier_name=supplier_name)
    if data.readings_count == 0:
        raise ValidationError(
            f"За {data.period_title} нет показаний, переданных в расчёт: сначала введите их "
            "и нажмите «Передать показания в расчёт».", code="nothing_to_send")
    # Two clicks on «Передать в ЮЗДО» at once: the second waits for the first
    # (a row lock on the contract) and then sees its act as the previous version.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Contract.id).where(Contract.id == contract.id).with_for_update())
    previous = latest_act(session, contract_id=contract.id, period=period)
    replaces: Document | None = None
    if previous is not None:
        prev_doc = session.get(Document, previous.document_id)
        if prev_doc is not None and prev_doc.signatures:
            raise InvalidTransitionError(
                f"Акт ПРОМ10 за {data.period_title} (№ {prev_doc.number}) уже подписан: "
                "передать его повторно нельзя. Исправления оформляются по соглашению "
                "сторон через аннулирование подписанного акта.", code="act_signed")
        if prev_doc is not None and prev_doc.status not in (
                DocStatus.DELETED, DocStatus.REFUSED, DocStatus.REVOKED):
            replaces = prev_doc
    from docflow.readings import acts

    pdf = acts.render_pdf(data, numbered=False)  # the printable form numbers pages
    doc = register_document(
        session, actor=actor, storage=storage, contract_id=contract.id, doc_type="prom10",
        number=data.act_number, doc_date=data.act_date, title=act_title(period),
        main_file=Upload.from_bytes(f"{data.act_number}.pdf", pdf, "application/pdf"),
        route=("customer", "supplier"), source="readings", replaces=replaces,
        base_url=base_url,
        comment=(f"Показаний в акте: {data.readings_count}; расход за период "
                 f"{calc.format_kwh(data.total)} кВт·ч."))
    version = (previous.version + 1) if previous is not None else 1
    session.add(ReadingAct(contract_id=contract.id, period=period, version=version,
                           document_id=doc.id, created_by_id=actor.user_id))
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError("Акт за этот период уже передаётся в ЮЗДО: обновите страницу и "
                            "проверьте список документов.", code="act_in_progress") from None
    record(session, actor=actor.user, action="readings.act_sent", object_type="contract",
           object_id=contract.id,
           details={"period": calc.period_key(period), "document_id": str(doc.id),
                    "version": version,
                    "replaces": str(replaces.id) if replaces is not None else None},
           request_info=actor.request_info, actor_label=actor.label)
    return doc


def acts_of_contract(session: Session, *, actor: Actor, contract_id: uuid.UUID
                     ) -> list[tuple[ReadingAct, Any]]:
    """The acts sent to the document flow, newest first, with their documents."""
    from docflow.documents.models import Document

    contract = get_contract(session, actor=actor, contract_id=contract_id)
    rows = session.execute(
        select(ReadingAct, Document).join(Document, Document.id == ReadingAct.document_id)
        .where(ReadingAct.contract_id == contract.id)
        .order_by(ReadingAct.period.desc(), ReadingAct.version.desc())).tuples()
    return list(rows)


# -- the Excel form ----------------------------------------------------------------------

def form_template(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                  period: dt.date | None = None, now: dt.datetime | None = None,
                  window_days: WindowDays = WindowDays()) -> RenderedAct:
    """«Скачать шаблон»: the contract's meters with their previous values."""
    from docflow.readings import excel

    sheet = list_meters(session, actor=actor, contract_id=contract_id, period=period,
                        now=now, window_days=window_days)
    lines = [excel.FormLine(
        object_name=b.obj.name, address=b.obj.address or "", meter_number=ln.meter.number,
        meter_type=ln.meter.meter_type, digits=ln.meter.digits, ratio=ln.meter.ratio,
        previous=ln.previous_padded,
        value=(str(ln.current.value) if ln.current is not None
               and ln.current.status != ReadingStatus.REJECTED else ""),
        blocked=ln.blocked_reason) for b in sheet.objects for ln in b.lines]
    data = excel.build_form(contract_number=sheet.contract.number, period=sheet.period,
                            lines=lines)
    name = f"Показания-{sheet.contract.number}-{calc.period_key(sheet.period)}.xlsx"
    return RenderedAct(name, excel.XLSX_TYPE, data)


def upload_form(session: Session, *, actor: Actor, storage: Any, contract_id: uuid.UUID,
                period: dt.date, filename: str, data: bytes, now: dt.datetime | None = None,
                window_days: WindowDays = WindowDays()) -> Any:
    """Take a filled form. The file is kept and listed with its result whatever
    happens; its values are saved («Готово к передаче») only if every row is
    right — a bad row is reported by row and column and nothing is taken.

    :raises ValidationError: an empty or over-large file (not kept).
    """
    from docflow.documents.services import clean_filename
    from docflow.readings import excel
    from docflow.readings.models import ReadingUpload

    contract = get_contract(session, actor=actor, contract_id=contract_id)
    # The window first: outside it nothing is read or kept (a file that
    # inflates must not cost a worker anything).
    _require_window(window_for(now, window_days), period)
    filename = clean_filename(filename or "форма.xlsx")
    if not data:
        raise ValidationError("Выберите заполненный файл формы (.xlsx).",
                              details={"field": "file"})
    if len(data) > excel.MAX_FORM_BYTES:
        raise ValidationError(
            f"Файл «{filename}» больше {excel.MAX_FORM_BYTES // (1024 * 1024)} МБ: это не "
            "форма передачи показаний.", details={"field": "file"})
    info = storage.put_bytes(data, content_type=excel.XLSX_TYPE
                             if data.startswith(b"PK") else "application/octet-stream")
    upload = ReadingUpload(contract_id=contract.id, period=period, user_id=actor.user_id,
                           filename=filename, size=info.size, sha256=info.sha256,
                           blob_key=info.key)
    session.add(upload)
    problems: list[excel.RowProblem] = []
    try:
        parsed = excel.parse_form(filename, data)
    except excel.FormError as exc:
        problems = [excel.RowProblem(0, "", exc.message)]
        parsed = None
    if parsed is not None:
        problems = list(parsed.problems)
        if parsed.contract_number and parsed.contract_number.upper() != contract.number.upper():
            problems.insert(0, excel.RowProblem(
                0, "", f"файл составлен для договора № {parsed.contract_number}, а "
                f"загружается для договора № {contract.number}"))
        elif parsed.period is not None and parsed.period != period:
            problems.insert(0, excel.RowProblem(
                0, "", f"файл составлен за {calc.period_title(parsed.period)}, а загружается "
                f"за {calc.period_title(period)}: скачайте шаблон за нужный период"))
        elif not parsed.rows and not problems:
            problems.append(excel.RowProblem(0, "", "в файле не заполнено ни одного показания"))
    saved = 0
    if parsed is not None and not problems:
        rows = [ReadingRow(r.value, meter_number=r.meter_number) for r in parsed.rows]
        try:
            # Atomic: every row is checked before anything is written.
            result = submit_readings(session, actor=actor, contract_id=contract.id,
                                     period=period, rows=rows, now=now,
                                     window_days=window_days, atomic=True, source="excel")
            saved = len(result.saved)
        except ReadingsRejected as exc:
            for p in exc.problems:
                form_row = parsed.rows[p["index"]]
                column = excel.COL_METER if "нет в договоре" in p["message"] else excel.COL_VALUE
                problems.append(excel.RowProblem(form_row.row, column, p["message"]))
        except ValidationError as exc:
            problems.append(excel.RowProblem(0, "", exc.message))
    upload.is_accepted = not problems
    upload.rows_taken = saved
    upload.problems = {"items": [p.as_dict() for p in problems[:200]],
                       "count": len(problems)}
    upload.message = (f"Принято показаний: {saved}. Они сохранены со статусом «Готово к "
                      "передаче»." if not problems else
                      f"Файл не принят: ошибок — {len(problems)}. Из файла ничего не "
                      "сохранено; исправьте ошибки и загрузите его снова.")
    session.flush()
    record(session, actor=actor.user, action="readings.form_uploaded", object_type="contract",
           object_id=contract.id,
           details={"period": calc.period_key(period), "filename": filename,
                    "sha256": info.sha256, "accepted": upload.is_accepted, "rows": saved,
                    "problems": len(problems)},
           request_info=actor.request_info, actor_label=actor.label)
    return upload


def list_uploads(session: Session, *, actor: Actor, contract_id: uuid.UUID,
                 limit: int = 50) -> list[Any]:
    """«История загруженных файлов», newest first."""
    from docflow.readings.models import ReadingUpload

    contract = get_contract(session, actor=actor, contract_id=contract_id)
    return list(session.scalars(
        select(ReadingUpload).where(ReadingUpload.contract_id == contract.id)
        .order_by(ReadingUpload.created_at.desc()).limit(limit)))


def get_upload(session: Session, *, actor: Actor, contract_id: uuid.UUID,
               upload_id: uuid.UUID) -> Any:
    from docflow.readings.models import ReadingUpload

    contract = get_contract(session, actor=actor, contract_id=contract_id)
    upload = session.get(ReadingUpload, upload_id)
    if upload is None or upload.contract_id != contract.id:
        raise NotFoundError("Файл не найден.")
    return upload


# -- «Открыт приём показаний» ----------------------------------------------------------

def announce_window(session: Session, *, now: dt.datetime | None = None,
                    window_days: WindowDays = WindowDays(), base_url: str = "") -> int:
    """While the window is open, tell the users who may submit readings for each
    contract with meters (once per contract and period). Returns how many
    contracts were announced; idempotent."""
    from docflow.access import users_with_right
    from docflow.notify.services import publish
    from docflow.readings.models import WindowNotice

    window = window_for(now, window_days)
    if not window.is_open:
        return 0
    done = set(session.scalars(select(WindowNotice.contract_id).where(
        WindowNotice.period == window.period)))
    contracts = list(session.scalars(select(Contract).where(
        Contract.id.in_(select(Meter.contract_id)), Contract.is_active.is_(True))))
    count = 0
    for contract in contracts:
        if contract.id in done:
            continue
        url = f"{base_url}/readings/{contract.id}"
        context = {"contract_number": contract.number,
                   "period": calc.period_title(window.period),
                   "window_from": f"{window.opens_on:%d.%m.%Y}",
                   "window_to": f"{window.closes_on:%d.%m.%Y}", "url": url}
        publish(session, kind="readings.window_open",
                users=users_with_right(session, contract.id, Right.SUBMIT_READINGS),
                context=context,
                title=(f"Открыт приём показаний за {calc.period_title(window.period)} по "
                       f"договору № {contract.number}"),
                body=window.message, link=f"/readings/{contract.id}",
                organisation_id=contract.organisation_id)
        session.add(WindowNotice(contract_id=contract.id, period=window.period))
        count += 1
    session.flush()
    return count
