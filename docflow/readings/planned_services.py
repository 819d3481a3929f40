"""ППП — заявка на плановое почасовое потребление: the deadline, validation of
the 24 values, drafts, submissions with versions, the supplier's acceptance,
the list with filters and the deadline-morning reminder.

Moscow time is UTC+3 all year (no daylight saving since 2014): the deadline of
day D is ``PPP_DEADLINE_HOUR:00`` MSK ``PPP_DAYS_AHEAD`` days before D; a
submission at that instant or later is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docflow.access import Right, users_with_right
from docflow.audit import record
from docflow.contracts.models import Contract
from docflow.errors import ConflictError, NotFoundError, ValidationError
from docflow.outbox.services import publish
from docflow.readings.planned_models import (
    PlannedReminder,
    PlannedRequest,
    PlannedStatus,
    PlannedVersion,
)
from docflow.runtime import Runtime

MSK = dt.timezone(dt.timedelta(hours=3), "MSK")
HOURS = 24
#: The largest value of one hour: 1 000 000 kWh (a 1 GW load for the hour).
MAX_KWH = Decimal(1_000_000)
MAX_TEXT = 30
QUANT = Decimal("0.001")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

STATUS_TITLES = {
    "draft": "Черновик",
    "submitted": "Подана",
    "accepted": "Принята",
    "overdue": "Просрочена",
}
REQUEST_NOT_FOUND = "Заявка не найдена."


@dataclass(frozen=True)
class Deadline:
    hour: int = 12
    days_ahead: int = 2

    def of(self, day: dt.date) -> dt.datetime:
        """The last moment (exclusive) a request for ``day`` is filed, in MSK."""
        return dt.datetime.combine(
            day - dt.timedelta(days=self.days_ahead), dt.time(self.hour), MSK
        )

    def is_open(self, day: dt.date, now: dt.datetime) -> bool:
        return now < self.of(day)

    def first_open_day(self, now: dt.datetime) -> dt.date:
        """The earliest day whose request may still be filed at ``now``."""
        day = now.astimezone(MSK).date() + dt.timedelta(days=self.days_ahead)
        while not self.is_open(day, now):
            day += dt.timedelta(days=1)
        return day


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def deadline_text(deadline: Deadline, day: dt.date) -> str:
    return f"{deadline.of(day):%d.%m.%Y %H:%M}"


def status_key(
    req: PlannedRequest | None, day: dt.date, deadline: Deadline, now: dt.datetime
) -> str:
    """draft / submitted / accepted / overdue (a draft or nothing past the deadline)."""
    status = req.status if req is not None else "draft"
    if status == PlannedStatus.DRAFT and not deadline.is_open(day, now):
        return "overdue"
    return str(status)


def status_title(key: str) -> str:
    return STATUS_TITLES[key]


# -- values ----------------------------------------------------------------------


def _one(raw: Any) -> Decimal | None:
    """A value of an hour, or None for a blank; ValueError with the Russian reason."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError("ожидается число")
    if isinstance(raw, int | float | Decimal):
        if isinstance(raw, float) and (
            raw != raw or raw in (float("inf"), float("-inf"))
        ):
            raise ValueError("ожидается число")
        value = Decimal(str(raw))
    elif isinstance(raw, str):
        if len(raw) > MAX_TEXT:
            raise ValueError("слишком длинное значение")
        if CONTROL.search(raw):
            raise ValueError("недопустимые символы")
        text = raw.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not text:
            return None
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            if re.fullmatch(r"-\d+(\.\d+)?", text):
                raise ValueError("значение не может быть отрицательным")
            raise ValueError("ожидается число, например 120,5")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("ожидается число") from None
    else:
        raise ValueError("ожидается число")
    if not value.is_finite():
        raise ValueError("ожидается число")
    if value < 0:
        raise ValueError("значение не может быть отрицательным")
    if value > MAX_KWH:
        raise ValueError("больше 1 000 000 кВт·ч за час")
    if value != value.quantize(QUANT, rounding=ROUND_HALF_UP):
        raise ValueError("не больше трёх знаков после запятой")
    return value.quantize(QUANT)


def parse_hours(values: Any, *, complete: bool) -> list[str | None]:
    """The 24 values as canonical strings (``"120.500"``) or None for a blank.

    :param complete: every hour must have a value (a submission); a draft may
        have blanks.
    :raises ValidationError: with ``details={"hours": {"1": reason, ...}}``
        (hours numbered 1..24 as on the page).
    """
    if not isinstance(values, list | tuple) or len(values) != HOURS:
        raise ValidationError(
            "Нужно ровно 24 значения — по одному на каждый час суток.",
            details={"field": "hours"},
        )
    out: list[str | None] = []
    problems: dict[str, str] = {}
    for i, raw in enumerate(values, start=1):
        try:
            value = _one(raw)
        except ValueError as exc:
            problems[str(i)] = str(exc)
            out.append(None)
            continue
        if value is None and complete:
            problems[str(i)] = "не указано значение"
        out.append(None if value is None else str(value))
    if problems:
        first = min(problems, key=int)
        raise ValidationError(
            f"Час {hour_title(int(first) - 1)}: {problems[first]}"
            + (f" (и ещё ошибок: {len(problems) - 1})" if len(problems) > 1 else "")
            + ".",
            details={"hours": problems},
        )
    return out


def hour_title(hour: int) -> str:
    return f"{hour:02d}:00–{hour + 1:02d}:00"


def total(hours: Sequence[str | None]) -> Decimal:
    return sum((Decimal(h) for h in hours if h), Decimal(0))


def format_kwh(value: Any) -> str:
    if value is None or value == "":
        return ""
    d = Decimal(str(value)).normalize()
    text = f"{d:,f}".replace(",", "\u00a0").replace(".", ",")
    return text


# -- requests --------------------------------------------------------------------


def find(
    session: Session, contract_id: uuid.UUID, day: dt.date
) -> PlannedRequest | None:
    return session.scalar(
        select(PlannedRequest).where(
            PlannedRequest.contract_id == contract_id, PlannedRequest.day == day
        )
    )


def _locked(
    session: Session, contract_id: uuid.UUID, day: dt.date
) -> PlannedRequest | None:
    return session.scalar(
        select(PlannedRequest)
        .where(PlannedRequest.contract_id == contract_id, PlannedRequest.day == day)
        .with_for_update()
    )


def _locked_or_new(
    session: Session, contract_id: uuid.UUID, day: dt.date
) -> PlannedRequest:
    """The contract's request for the day, locked; a new draft if there is
    none. Two first saves at once: the loser of the unique key takes the
    winner's row (then waits for its lock)."""
    req = _locked(session, contract_id, day)
    if req is not None:
        return req
    req = PlannedRequest(
        contract_id=contract_id,
        day=day,
        version=0,
        status=PlannedStatus.DRAFT.value,
        hours=[None] * HOURS,
    )
    try:
        with session.begin_nested():
            session.add(req)
            session.flush()
    except IntegrityError:
        found = _locked(session, contract_id, day)
        if found is None:  # pragma: no cover - the row vanished again
            raise ConflictError("Заявку одновременно изменили: повторите.") from None
        return found
    return req


def _check_open(day: dt.date, deadline: Deadline, now: dt.datetime) -> None:
    if not deadline.is_open(day, now):
        raise ValidationError(
            f"Срок подачи заявки на {day:%d.%m.%Y} истёк {deadline_text(deadline, day)} "
            "по московскому времени: заявку на плановое почасовое потребление подают до "
            f"{deadline.hour}:00 за {deadline.days_ahead} сут. до даты потребления.",
            code="planned_deadline_passed",
            details={"field": "day"},
        )


def _changeable(req: PlannedRequest) -> None:
    if req.status == PlannedStatus.ACCEPTED:
        raise ConflictError(
            "Заявка принята поставщиком: изменить её нельзя.", code="planned_accepted"
        )


def save_draft(
    session: Session,
    contract: Contract,
    day: dt.date,
    values: Any,
    *,
    user: Any,
    deadline: Deadline,
    now: dt.datetime,
) -> PlannedRequest:
    """Keep the values as a draft (blanks allowed) until the deadline."""
    hours = parse_hours(values, complete=False)
    _check_open(day, deadline, now)
    req = _locked_or_new(session, contract.id, day)
    _changeable(req)
    if req.status == PlannedStatus.SUBMITTED:
        raise ConflictError(
            "Заявка уже подана: чтобы изменить значения, нажмите «Передать данные» — "
            "прежняя версия сохранится в истории."
        )
    req.hours = hours
    req.updated_by_id = getattr(user, "id", None)
    session.flush()
    return req


def submit(
    session: Session,
    contract: Contract,
    day: dt.date,
    values: Any,
    *,
    user: Any,
    deadline: Deadline,
    now: dt.datetime,
    source: str = "web",
) -> tuple[PlannedRequest, bool]:
    """«Передать данные»: all 24 values, before the deadline. A re-submission
    with other values is a new version (the previous kept); the same values
    again change nothing. Returns the request and whether a version was made."""
    hours = parse_hours(values, complete=True)
    _check_open(day, deadline, now)
    req = _locked_or_new(session, contract.id, day)
    _changeable(req)
    if req.status == PlannedStatus.SUBMITTED and list(req.hours) == hours:
        return req, False
    user_id = getattr(user, "id", None)
    req.version += 1
    req.hours = hours
    req.status = PlannedStatus.SUBMITTED.value
    req.submitted_at = now.astimezone(dt.UTC)
    req.submitted_by_id = user_id
    req.updated_by_id = user_id
    session.add(
        PlannedVersion(
            request_id=req.id,
            version=req.version,
            hours=hours,
            source=source,
            submitted_by_id=user_id,
        )
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # The same request was submitted at the same moment by someone else
        # (a database without row locks lets both read the old version).
        raise ConflictError(
            "Заявку только что передали из другого окна: обновите страницу.",
            code="planned_concurrent",
        ) from None
    record(
        session,
        user=user if user_id else None,
        action="planned.submitted",
        object_type="planned_request",
        object_id=req.id,
        details={
            "contract": contract.number,
            "day": day.isoformat(),
            "version": req.version,
            "source": source,
            "total": str(total(hours)),
        },
    )
    return req, True


def accept(
    session: Session, request_id: uuid.UUID, *, user: Any, now: dt.datetime
) -> PlannedRequest:
    req = session.scalar(
        select(PlannedRequest).where(PlannedRequest.id == request_id).with_for_update()
    )
    if req is None:
        raise NotFoundError(REQUEST_NOT_FOUND)
    if req.status == PlannedStatus.ACCEPTED:
        return req
    if req.status != PlannedStatus.SUBMITTED:
        raise ConflictError("Принять можно только поданную заявку.")
    req.status = PlannedStatus.ACCEPTED.value
    req.accepted_at = now.astimezone(dt.UTC)
    req.accepted_by_id = user.id
    session.flush()
    record(
        session,
        user=user,
        action="planned.accepted",
        object_type="planned_request",
        object_id=req.id,
        details={"day": req.day.isoformat(), "version": req.version},
    )
    return req


@dataclass(frozen=True)
class Filters:
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    status: str = ""  # a key of STATUS_TITLES or ""
    contract_number: str = ""


def list_requests(
    session: Session,
    contract_filter: ColumnElement[bool],
    filters: Filters,
    *,
    deadline: Deadline,
    now: dt.datetime,
    limit: int = 500,
) -> list[tuple[PlannedRequest, str]]:
    """Requests (newest day first) with their status key, filtered."""
    q = (
        select(PlannedRequest)
        .join(Contract, Contract.id == PlannedRequest.contract_id)
        .where(contract_filter)
    )
    if filters.day_from:
        q = q.where(PlannedRequest.day >= filters.day_from)
    if filters.day_to:
        q = q.where(PlannedRequest.day <= filters.day_to)
    if filters.contract_number:
        q = q.where(Contract.number.contains(filters.contract_number, autoescape=True))
    if filters.status in ("submitted", "accepted"):
        q = q.where(PlannedRequest.status == filters.status)
    elif filters.status in ("draft", "overdue"):
        q = q.where(PlannedRequest.status == PlannedStatus.DRAFT.value)
    q = q.order_by(PlannedRequest.day.desc(), Contract.number).limit(limit)
    out = []
    for req in session.scalars(q):
        key = status_key(req, req.day, deadline, now)
        if filters.status and key != filters.status:
            continue
        out.append((req, key))
    return out


# -- the reminder ----------------------------------------------------------------


def send_reminders(
    session: Session, *, deadline: Deadline, now: dt.datetime, runtime: Runtime
) -> int:
    """On the deadline morning of day D (before the deadline), tell the users
    who may submit readings of each active contract that has filed nothing
    for D. Once per contract and day; returns how many contracts."""
    day = now.astimezone(MSK).date() + dt.timedelta(days=deadline.days_ahead)
    if not deadline.is_open(day, now):
        return 0
    filed = select(PlannedRequest.contract_id).where(
        PlannedRequest.day == day,
        PlannedRequest.status != PlannedStatus.DRAFT.value,
    )
    done = select(PlannedReminder.contract_id).where(PlannedReminder.day == day)
    contracts = list(
        session.scalars(
            select(Contract)
            .where(
                Contract.is_active.is_(True),
                Contract.id.not_in(filed),
                Contract.id.not_in(done),
            )
            .order_by(Contract.number)
        )
    )
    when = deadline_text(deadline, day)
    count = 0
    for contract in contracts:
        users = users_with_right(session, contract.id, Right.SUBMIT_READINGS)
        session.add(PlannedReminder(contract_id=contract.id, day=day))
        if not users:
            continue
        url = (
            f"{runtime.base_url}/readings/planned/"
            f"?contract={contract.id}&day={day.isoformat()}"
        )
        publish(
            session,
            kind="planned.reminder",
            users=users,
            context={
                "contract_number": contract.number,
                "day": f"{day:%d.%m.%Y}",
                "deadline": when,
                "url": url,
            },
            title=(
                f"Не подана заявка ППП на {day:%d.%m.%Y} по договору "
                f"№ {contract.number}"
            ),
            body=f"Заявка на плановое почасовое потребление принимается до {when} МСК.",
            link=url,
            organisation_id=contract.organisation_id,
            payload={
                "contract_number": contract.number,
                "day": day.isoformat(),
                "deadline": when,
            },
        )
        count += 1
    session.flush()
    return count
