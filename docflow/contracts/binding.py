"""Binding a contract to a user's account, and unbinding it.

A contract is found by its organisation's e-mail, ИНН and its number; the first
user to bind it becomes its administrator, later ones send a request for access
to the administrators (:mod:`docflow.contracts.access_requests`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from docflow.access import customer_organisations, is_staff
from docflow.accounts.models import User
from docflow.accounts.services import normalize_email
from docflow.audit import RequestInfo, record
from docflow.contracts.common import (
    CONTRACT_NOT_FOUND,
    RIGHT_NAMES,
    normalize_contract_number,
    normalize_inn,
    normalize_rights,
)
from docflow.contracts.lookup import contract_managers
from docflow.contracts.models import (
    AccessRequestStatus,
    Contract,
    ContractAccess,
    ContractAccessRequest,
    ContractInvitation,
    InvitationStatus,
    Organisation,
)
from docflow.db import utcnow
from docflow.errors import NotFoundError, PermissionDeniedError, ValidationError
from docflow.outbox.services import notify_in_app

log = logging.getLogger(__name__)

# One answer for every wrong combination: saying which field was wrong would
# let anyone find out which companies are customers and by which e-mail.
BIND_FAILED = (
    "Не удалось найти договор с такими данными. Проверьте адрес электронной почты "
    "организации, ИНН и номер договора — они должны совпадать с указанными в договоре. "
    "Если всё верно, обратитесь к поставщику."
)


class BindOutcome(StrEnum):
    BOUND = "bound"  # the user is the contract's administrator now
    REQUESTED = "requested"  # administered already: a request went to the admins
    ALREADY_BOUND = "already_bound"  # the user has access already
    ALREADY_REQUESTED = "already_requested"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    contract: Contract


def _find_for_binding(
    session: Session, *, email: str, inn: str, number: str
) -> Contract | None:
    org = session.scalar(
        select(Organisation).where(
            Organisation.inn == normalize_inn(inn), customer_organisations()
        )
    )
    if (
        org is None
        or not org.email
        or normalize_email(org.email) != normalize_email(email)
    ):
        return None
    wanted = normalize_contract_number(number)
    if not wanted:
        return None
    for contract in session.scalars(
        select(Contract).where(Contract.organisation_id == org.id, Contract.is_active)
    ):
        if normalize_contract_number(contract.number) == wanted:
            return contract
    return None


def bind_contract(
    session: Session,
    *,
    user: User,
    email: str,
    inn: str,
    number: str,
    request_info: RequestInfo | None = None,
) -> BindResult:
    """Bind a contract found by the organisation's e-mail, ИНН and its number.

    The first user to bind a contract becomes its administrator (every right).
    A contract that has an administrator already is not bound: a request for
    access goes to its administrators, who approve or decline it on the
    access page.

    :raises ValidationError: no such combination (one message for any field).
    """
    if is_staff(user):
        raise PermissionDeniedError("Сотрудники поставщика не привязывают договоры.")
    contract = _find_for_binding(session, email=email, inn=inn, number=number)
    if contract is None:
        log.info("binding refused for user %s", user.id)
        raise ValidationError(BIND_FAILED, code="contract_not_found")
    existing = session.scalar(
        select(ContractAccess).where(
            ContractAccess.contract_id == contract.id, ContractAccess.user_id == user.id
        )
    )
    if existing is not None:
        return BindResult(BindOutcome.ALREADY_BOUND, contract)
    managers = contract_managers(session, contract.id)
    if managers:
        pending = session.scalar(
            select(ContractAccessRequest).where(
                ContractAccessRequest.contract_id == contract.id,
                ContractAccessRequest.user_id == user.id,
                ContractAccessRequest.status == AccessRequestStatus.PENDING,
            )
        )
        if pending is not None:
            return BindResult(BindOutcome.ALREADY_REQUESTED, contract)
        req = ContractAccessRequest(contract_id=contract.id, user_id=user.id)
        session.add(req)
        session.flush()
        record(
            session,
            user=user,
            action="contract.access_requested",
            object_type="contract",
            object_id=contract.id,
            details={"contract_number": contract.number, "request_id": str(req.id)},
            request_info=request_info,
        )
        notify_in_app(
            session,
            users=[m.user for m in managers],
            kind="contract.access_requested",
            title=f"Запрос доступа к договору № {contract.number}",
            body=f"{user.full_name} ({user.email}) просит доступ к договору.",
            link=f"/contracts/{contract.id}/access",
        )
        return BindResult(BindOutcome.REQUESTED, contract)
    access = ContractAccess(
        user_id=user.id,
        contract_id=contract.id,
        **normalize_rights(dict.fromkeys(RIGHT_NAMES, True)),
    )
    session.add(access)
    session.flush()
    record(
        session,
        user=user,
        action="contract.bound",
        object_type="contract",
        object_id=contract.id,
        details={
            "contract_number": contract.number,
            "user": user.email,
            "rights": list(RIGHT_NAMES),
            "administrator": True,
        },
        request_info=request_info,
    )
    return BindResult(BindOutcome.BOUND, contract)


def unbind_contract(
    session: Session,
    *,
    contract: Contract,
    user: User,
    request_info: RequestInfo | None = None,
) -> None:
    """Remove the user's own access. Documents stay with the organisation.

    :raises ValidationError: the user is the last administrator while others
        still have access — someone must be left to manage it.
    """
    access = session.scalar(
        select(ContractAccess).where(
            ContractAccess.contract_id == contract.id, ContractAccess.user_id == user.id
        )
    )
    if access is None:
        raise NotFoundError(CONTRACT_NOT_FOUND)
    others = _access_count(session, contract.id) - 1
    if (
        access.can_manage
        and others
        and len(contract_managers(session, contract.id)) == 1
    ):
        raise ValidationError(
            "Вы — единственный администратор договора, а доступ к нему есть и у других "
            "пользователей. Назначьте другого администратора или отзовите их доступ, "
            "затем отвяжите договор.",
            code="last_administrator",
        )
    session.delete(access)
    session.flush()
    if not others:
        _close_pending(session, contract.id, user=user)
    record(
        session,
        user=user,
        action="contract.unbound",
        object_type="contract",
        object_id=contract.id,
        details={"contract_number": contract.number, "user": user.email},
        request_info=request_info,
    )


def _close_pending(session: Session, contract_id: uuid.UUID, *, user: User) -> None:
    """Nobody is left on the contract: its invitations and requests lapse."""
    now = utcnow()
    for inv in session.scalars(
        select(ContractInvitation).where(
            ContractInvitation.contract_id == contract_id,
            ContractInvitation.status == InvitationStatus.PENDING,
        )
    ):
        inv.status = InvitationStatus.CANCELLED
    for req in session.scalars(
        select(ContractAccessRequest).where(
            ContractAccessRequest.contract_id == contract_id,
            ContractAccessRequest.status == AccessRequestStatus.PENDING,
        )
    ):
        req.status, req.decided_at, req.decided_by_id = (
            AccessRequestStatus.DECLINED,
            now,
            user.id,
        )
    session.flush()


def _access_count(session: Session, contract_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ContractAccess)
            .where(ContractAccess.contract_id == contract_id)
        )
        or 0
    )
