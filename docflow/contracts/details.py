"""What the supplier keeps about a contract and the card shows beside its
documents: the contacts, the payments received and the schedule of
consumption restrictions. The supplier's staff change them (administrators
only); customers read them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docflow.accounts.models import User
from docflow.audit import RequestInfo, record
from docflow.contracts.models import (
    Contract,
    ContractContacts,
    Payment,
    RestrictionEntry,
)
from docflow.errors import NotFoundError, ValidationError

CONTACT_FIELDS = (
    "head_name",
    "branch_address",
    "phone",
    "fax",
    "curator_name",
    "curator_phone",
)


def contacts_of(session: Session, contract_id: uuid.UUID) -> ContractContacts | None:
    return session.get(ContractContacts, contract_id)


def save_contacts(
    session: Session,
    *,
    contract: Contract,
    user: User | None,
    values: Mapping[str, Any],
    request_info: RequestInfo | None = None,
) -> ContractContacts:
    contacts = session.get(ContractContacts, contract.id)
    if contacts is None:
        contacts = ContractContacts(contract_id=contract.id)
        session.add(contacts)
    for name in CONTACT_FIELDS:
        value = (str(values.get(name) or "")).strip() or None
        setattr(contacts, name, value)
    session.flush()
    record(
        session,
        user=user,
        action="contract.contacts_changed",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            **{n: getattr(contacts, n) for n in CONTACT_FIELDS},
        },
        request_info=request_info,
    )
    return contacts


def list_payments(
    session: Session, *, contract_id: uuid.UUID, limit: int | None = None
) -> list[Payment]:
    stmt = (
        select(Payment)
        .where(Payment.contract_id == contract_id)
        .order_by(Payment.paid_on.desc(), Payment.created_at.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def payments_total(session: Session, *, contract_id: uuid.UUID, year: int) -> int:
    """Kopecks paid in ``year``."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_kopecks), 0)).where(
                Payment.contract_id == contract_id,
                Payment.paid_on >= dt.date(year, 1, 1),
                Payment.paid_on <= dt.date(year, 12, 31),
            )
        )
        or 0
    )


def list_restrictions(
    session: Session, *, contract_id: uuid.UUID, from_date: dt.date | None = None
) -> list[RestrictionEntry]:
    stmt = select(RestrictionEntry).where(RestrictionEntry.contract_id == contract_id)
    if from_date is not None:
        stmt = stmt.where(RestrictionEntry.date_to >= from_date)
    return list(
        session.scalars(
            stmt.order_by(RestrictionEntry.date_from, RestrictionEntry.time_from)
        )
    )


_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def add_restriction(
    session: Session,
    *,
    contract: Contract,
    user: User,
    date_from: dt.date,
    date_to: dt.date,
    time_from: str | None,
    time_to: str | None,
    limit_kw: int | None,
    reason: str,
    request_info: RequestInfo | None = None,
) -> RestrictionEntry:
    if date_to < date_from:
        raise ValidationError(
            "Дата окончания раньше даты начала.", details={"field": "date_to"}
        )
    for field, value in (("time_from", time_from), ("time_to", time_to)):
        if value and not _TIME_RE.match(value):
            raise ValidationError(
                "Время указывается как ЧЧ:ММ, например 09:00.", details={"field": field}
            )
    if limit_kw is not None and limit_kw < 0:
        raise ValidationError(
            "Мощность не может быть отрицательной.", details={"field": "limit_kw"}
        )
    if not reason.strip():
        raise ValidationError(
            "Укажите основание ограничения.", details={"field": "reason"}
        )
    entry = RestrictionEntry(
        contract_id=contract.id,
        date_from=date_from,
        date_to=date_to,
        time_from=time_from or None,
        time_to=time_to or None,
        limit_kw=limit_kw,
        reason=reason.strip()[:500],
    )
    session.add(entry)
    session.flush()
    record(
        session,
        user=user,
        action="contract.restriction_added",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "entry_id": str(entry.id),
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "time_from": time_from,
            "time_to": time_to,
            "limit_kw": limit_kw,
            "reason": entry.reason,
        },
        request_info=request_info,
    )
    return entry


def delete_restriction(
    session: Session,
    *,
    contract: Contract,
    user: User,
    entry_id: uuid.UUID,
    request_info: RequestInfo | None = None,
) -> None:
    entry = session.scalar(
        select(RestrictionEntry).where(
            RestrictionEntry.id == entry_id, RestrictionEntry.contract_id == contract.id
        )
    )
    if entry is None:
        raise NotFoundError("Запись графика не найдена.")
    session.delete(entry)
    session.flush()
    record(
        session,
        user=user,
        action="contract.restriction_deleted",
        object_type="contract",
        object_id=contract.id,
        details={"contract_number": contract.number, "entry_id": str(entry_id)},
        request_info=request_info,
    )
